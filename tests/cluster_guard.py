"""Whether the suite may delete the gateway's indices on a cluster it did not start itself.

Every test begins by deleting the ``autonomous-iam_*`` and ``gateway-*`` indices. On a node the suite
started (embedded or a container) that is harmless; on a cluster named by ``ES_URL`` it could destroy a
deployment's data sources, users and keys. Having only the gateway's indices proves nothing (a real
gateway cluster looks exactly like that), so the suite goes ahead only when:

- ``GATEWAY_TESTS_MAY_WIPE=1`` says so explicitly;
- the cluster is an embedded node (``gateway es start``, ``make run``): a local, throw-away node;
- or the cluster holds no index at all beyond Elasticsearch's own dot-prefixed ones (nothing to lose).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gateway.embedded.node import CLUSTER_NAME as EMBEDDED_CLUSTER_NAME

ALLOW_VARIABLE = "GATEWAY_TESTS_MAY_WIPE"
SHOWN_INDICES = 5


def wipe_refusal(cluster_name: str, indices: Iterable[str], env: Mapping[str, str]) -> str | None:
    """Why the suite must not run against this cluster, or None when it may."""
    if env.get(ALLOW_VARIABLE) == "1" or cluster_name == EMBEDDED_CLUSTER_NAME:
        return None
    held = sorted(name for name in indices if not name.startswith("."))
    if not held:
        return None
    shown = ", ".join(held[:SHOWN_INDICES]) + (", ..." if len(held) > SHOWN_INDICES else "")
    return (
        f"ES_URL names cluster {cluster_name!r}, which is not an embedded test node and holds {len(held)} "
        f"indices ({shown}). The test suite deletes every autonomous-iam_* and gateway-* index there. "
        f"Point ES_URL at a throw-away cluster, unset it to let the suite start its own node, or set "
        f"{ALLOW_VARIABLE}=1 if this cluster's data may be destroyed."
    )
