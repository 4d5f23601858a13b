"""A local cluster of three embedded nodes: one cluster, replicas on other nodes, a node lost, a clean stop.

Real nodes on free ports with small heaps, started and stopped through ``gateway es`` as a user would.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.es import cluster, embedded
from tests.helpers import TEST_TENANT_ID, free_port_range, pid_alive, run_cli

NODES = 3
INDEX = "cluster-check"
DATASOURCES = "autonomous-iam_common_datasources_latest"


@pytest.fixture(scope="module")
def three_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster.ClusterConfig]:
    base = free_port_range(2 * NODES)
    config = cluster.ClusterConfig(
        tmp_path_factory.mktemp("cluster"),
        nodes=NODES,
        http_base=base,
        transport_base=base + NODES,
        heap="512m",
    )
    try:
        result = run_cli(
            *("es", "start", "--nodes", str(NODES), "--heap", "512m", "--data-dir", str(config.data_dir)),
            *("--port", str(base), "--transport-port", str(base + NODES)),
        )
        assert result.returncode == 0, result.stderr
        assert f"use ES_URL={config.es_url}" in result.stdout
        yield config
    finally:
        cluster.stop(config)


def _get(url: str, path: str) -> Any:
    answer = httpx.get(f"{url}{path}", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_three_nodes_form_one_green_cluster(three_nodes: cluster.ClusterConfig) -> None:
    assert three_nodes.es_url.count(",") == NODES - 1
    for url in three_nodes.urls:  # every node sees the same cluster of three
        health = _get(url, "/_cluster/health")
        assert (health["cluster_name"], health["number_of_nodes"], health["status"]) == (
            embedded.CLUSTER_NAME,
            NODES,
            "green",
        )
        names = sorted(node["name"] for node in _get(url, "/_cat/nodes?format=json"))
        assert names == three_nodes.node_names
    masters = {_get(url, "/_cat/master?format=json")[0]["node"] for url in three_nodes.urls}
    assert len(masters) == 1


def test_the_gateway_templates_keep_every_shard_on_two_nodes(three_nodes: cluster.ClusterConfig) -> None:
    """``auto_expand_replicas: 0-1``: green on one node, and here each shard has a copy on another node."""
    first, *_ = three_nodes.urls
    env = dict(os.environ, ES_URL=first, TENANT_ID=TEST_TENANT_ID)
    applied = run_cli("templates", "apply", env=env)
    assert applied.returncode == 0, applied.stderr
    _get(first, f"/_cluster/health/{DATASOURCES}?wait_for_status=green&timeout=60s")
    shards = _get(first, f"/_cat/shards/{DATASOURCES}?format=json")
    assert len(shards) == 6 and all(
        shard["state"] == "STARTED" for shard in shards
    )  # 3 primaries, 3 replicas
    for number in {shard["shard"] for shard in shards}:
        copies = [shard for shard in shards if shard["shard"] == number]
        assert sorted(shard["prirep"] for shard in copies) == ["p", "r"]
        assert len({shard["node"] for shard in copies}) == 2  # never both copies on one node


def test_a_replica_lives_on_another_node_and_survives_losing_its_primary(
    three_nodes: cluster.ClusterConfig,
) -> None:
    first, *_ = three_nodes.urls
    settings = {"settings": {"number_of_shards": 1, "number_of_replicas": 1}}
    assert httpx.put(f"{first}/{INDEX}", json=settings, timeout=30).status_code == 200
    _get(first, f"/_cluster/health/{INDEX}?wait_for_status=green&timeout=60s")
    shards = _get(first, f"/_cat/shards/{INDEX}?format=json")
    assert sorted(shard["prirep"] for shard in shards) == ["p", "r"]
    assert all(shard["state"] == "STARTED" for shard in shards)
    assert len({shard["node"] for shard in shards}) == 2  # the copy is on another node
    created = httpx.put(f"{first}/{INDEX}/_doc/1?refresh=true", json={"n": 1}, timeout=30)
    assert created.status_code == 201, created.text

    # Stop the node holding the primary: the replica is promoted, the other two keep serving.
    primary = next(shard["node"] for shard in shards if shard["prirep"] == "p")
    lost = three_nodes.node_configs()[three_nodes.node_names.index(primary)]
    assert embedded.stop(lost) is True
    survivors = [url for url in three_nodes.urls if url != lost.url]
    health = _get(survivors[0], "/_cluster/health?wait_for_nodes=2&wait_for_status=yellow&timeout=60s")
    assert (health["number_of_nodes"], health["status"]) == (2, "yellow")  # one copy left: serving, exposed
    written = httpx.put(f"{survivors[0]}/{INDEX}/_doc/2?refresh=true", json={"n": 2}, timeout=60)
    assert written.status_code == 201, written.text
    for url in survivors:
        assert _get(url, f"/{INDEX}/_count")["count"] == 2
    with pytest.raises(httpx.TransportError):
        httpx.get(lost.url, timeout=5)


def test_stop_leaves_no_process_behind(three_nodes: cluster.ClusterConfig) -> None:
    running = [state.status.pid for state in cluster.status(three_nodes) if state.status is not None]
    assert running
    result = run_cli("es", "stop", "--data-dir", str(three_nodes.data_dir))
    assert result.returncode == 0, result.stderr
    assert f"stopped {len(running)} nodes" in result.stdout
    assert not any(pid_alive(pid) for pid in running)
    assert not three_nodes.state_file.exists()  # the data dir may serve a single node next
    status = run_cli("es", "status", "--data-dir", str(three_nodes.data_dir))
    assert (status.returncode, status.stdout.strip()) == (3, "not running")


def test_a_taken_transport_port_is_refused_before_any_node_starts(tmp_path: Path) -> None:
    base = free_port_range(2 * NODES)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", base + NODES + 1))  # the second node's transport port
        squatter.listen()
        result = run_cli(
            *("es", "start", "--nodes", str(NODES), "--data-dir", str(tmp_path / "c")),
            *("--port", str(base), "--transport-port", str(base + NODES)),
        )
    assert result.returncode == 1
    assert f"port {base + NODES + 1} is already taken" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list((tmp_path / "c").glob("node-*/node.pid"))
    assert not (tmp_path / "c" / cluster.STATE_FILE).exists()
