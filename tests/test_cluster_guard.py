"""The suite refuses to wipe indices on a cluster that may hold real data."""

from __future__ import annotations

from gateway.embedded.node import CLUSTER_NAME as EMBEDDED_CLUSTER_NAME
from tests.cluster_guard import wipe_refusal

DEPLOYMENT = ["autonomous-iam_common_datasources_latest", "gateway-api-keys", "gateway-users"]


def test_a_cluster_with_indices_is_refused_with_the_way_out() -> None:
    reason = wipe_refusal("production", [*DEPLOYMENT, ".security-7"], {})
    assert reason is not None
    assert "'production'" in reason and "3 indices" in reason and "gateway-users" in reason
    assert ".security-7" not in reason and "GATEWAY_TESTS_MAY_WIPE=1" in reason


def test_only_the_gateways_own_indices_is_not_proof_of_a_test_cluster() -> None:
    assert wipe_refusal("es-cluster", DEPLOYMENT, {}) is not None


def test_embedded_nodes_empty_clusters_and_explicit_consent_are_allowed() -> None:
    assert wipe_refusal(EMBEDDED_CLUSTER_NAME, DEPLOYMENT, {}) is None
    assert wipe_refusal("docker-cluster", [".kibana_1", ".security-7"], {}) is None
    assert wipe_refusal("production", DEPLOYMENT, {"GATEWAY_TESTS_MAY_WIPE": "1"}) is None
    assert wipe_refusal("production", DEPLOYMENT, {"GATEWAY_TESTS_MAY_WIPE": "yes"}) is not None
