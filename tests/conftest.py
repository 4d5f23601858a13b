"""Layered fixtures: one real Elasticsearch per session, a clean slate per test, apps built per test.

Where Elasticsearch comes from, in order:
1. ``ES_URL`` is set: use that cluster (tests delete and recreate the ``autonomous-iam_*`` indices there!),
   but only when ``tests.cluster_guard`` finds it is a throw-away one or ``GATEWAY_TESTS_MAY_WIPE=1``;
2. a Docker daemon answers: the official image at the pinned version, through testcontainers;
3. otherwise: the embedded node (``embedded-es/``) on a free port with a temporary data dir.
When none is possible the suite fails under ``CI`` and is skipped with the reason elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.embedded import launcher
from gateway.embedded import node as embedded
from gateway.embedded.postgres import PostgresServer, pg_bin, postgres_server
from gateway.settings import Settings
from tests.cluster_guard import wipe_refusal
from tests.es.mapping_scan import fail_on_undeclared_fields
from tests.helpers import TEST_TENANT_ID, ManualClock, free_port, make_settings

ES_TEST_TIMEOUT = 30.0

# The gateway and job processes the tests start fail on deprecations too, like the suite itself
# (pyproject.toml's filterwarnings): a deprecated call in a child process would otherwise go unseen.
os.environ["PYTHONWARNINGS"] = ",".join(
    f"error::{category}" for category in ("DeprecationWarning", "PendingDeprecationWarning", "FutureWarning")
)


def _docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
    except Exception:  # no client library, no socket: no Docker
        return False
    try:
        return bool(client.ping())
    except Exception:  # no daemon behind the socket
        return False
    finally:
        client.close()


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"no Elasticsearch for the test suite: {reason}", pytrace=False)
    pytest.skip(f"no Elasticsearch: {reason}")


def _refuse_unless_throwaway(url: str) -> None:
    with Elasticsearch(url, request_timeout=ES_TEST_TIMEOUT) as client:
        cluster_name = str(client.info()["cluster_name"])
        indices = list(client.indices.get(index="*", expand_wildcards="all"))
    if reason := wipe_refusal(cluster_name, indices, os.environ):
        pytest.exit(f"refusing to run the test suite: {reason}", returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session")
def es_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := os.environ.get("ES_URL"):
        _refuse_unless_throwaway(url)
        yield url
        return
    if _docker_answers():
        from testcontainers.community.elasticsearch import ElasticSearchContainer

        image = f"docker.elastic.co/elasticsearch/elasticsearch:{launcher.pinned_version()}"
        with ElasticSearchContainer(image, mem_limit="2g") as container:
            host = container.get_container_host_ip()
            yield f"http://{host}:{container.get_exposed_port(container.port)}"
        return
    config = embedded.NodeConfig(tmp_path_factory.mktemp("es-node"), port=free_port())
    try:
        embedded.start(config)
    except launcher.EmbeddedEsError as exc:
        _unavailable(str(exc))
    try:
        yield config.url
    finally:
        embedded.stop(config)


@pytest.fixture(scope="session")
def es_session(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=30)
    yield client
    try:
        fail_on_undeclared_fields(client)  # what is left at the end of the session, whoever wrote it
    finally:
        client.close()


def _delete_test_indices(es: Elasticsearch) -> None:
    # Named deletes only: clusters that require names for destructive actions still accept them.
    names = list(es.indices.get(index="autonomous-iam_*,gateway-*", expand_wildcards="all"))
    if names:
        es.indices.delete(index=",".join(names))


@pytest.fixture
def es(es_session: Elasticsearch) -> Iterator[Elasticsearch]:
    """The session's cluster, with every index the gateway owns removed before the test; after it, the
    entity indices must map only the fields the templates declare (nothing a caller sent grew them)."""
    _delete_test_indices(es_session)
    yield es_session
    fail_on_undeclared_fields(es_session)


@pytest.fixture
def settings(es: Elasticsearch, es_url: str, tmp_path: Path) -> Settings:
    return make_settings(es_url=es_url, state_dir=tmp_path / "state", es_request_timeout=ES_TEST_TIMEOUT)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def client(settings: Settings, clock: ManualClock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=clock), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server (Debian's package, which ``make test`` installs), for the session."""
    bin_dir = pg_bin()
    if bin_dir is None:
        message = "no PostgreSQL: install Debian's postgresql package (make test does)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with postgres_server(bin_dir, free_port()) as server:
        yield server


@pytest.fixture
def own_node(tmp_path: Path) -> Iterator[embedded.NodeConfig]:
    """A second, private node that a test may stop and start; always stopped afterwards."""
    config = embedded.NodeConfig(tmp_path / "node", port=free_port(), heap="512m")
    yield config
    embedded.stop(config)


__all__ = ["TEST_TENANT_ID"]
