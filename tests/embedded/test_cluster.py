"""A local cluster of three embedded nodes: one cluster, replicas on other nodes, a node lost, a clean stop.

Real nodes on free ports with small heaps, started and stopped through ``gateway es`` as a user would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.embedded import cluster
from gateway.embedded import node as embedded
from gateway.loading.seed import DATASOURCES_FILE, load_datasources
from tests.helpers import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    DOCUMENTED_SEARCH,
    TEST_TENANT_ID,
    GatewayProcess,
    eventually_async,
    free_port_range,
    make_settings,
    pid_alive,
    run_cli,
    with_es,
)

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


IDENTITIES = "autonomous-iam_autoid_base_identities_latest"


@dataclass
class Load:
    """Steady searches and ingest batches of unique identities against one gateway, with what came back."""

    url: str
    key: str
    searches: list[int | str] = field(default_factory=list)  # status or error, in the order answered
    acknowledged: list[str] = field(default_factory=list)  # identity ids the gateway answered ok for
    refused: int = 0  # ingest batches answered 503 (retryable)
    _running: bool = True

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": self.key, "x-tenant-id": TEST_TENANT_ID}

    async def search(self, http: httpx.AsyncClient) -> None:
        while self._running:
            try:
                answer = await http.post(
                    "/jas/datasource/search", json=DOCUMENTED_SEARCH, headers=self.headers
                )
                self.searches.append(answer.status_code)
            except httpx.TransportError as exc:
                self.searches.append(type(exc).__name__)

    async def ingest(self, http: httpx.AsyncClient) -> None:
        batch = 0
        while self._running:
            ids = [f"failover-{batch}-{n}" for n in range(20)]
            batch += 1
            items = [{"usr_id": i, "usr_name": f"User {i}", "usr_manager_id": ""} for i in ids]
            answer = await http.post(
                "/api/ingest/identities", json={"action": "upsert", "identities": items}, headers=self.headers
            )
            if answer.status_code == 200:
                failed = {e["item"] for e in answer.json().get("errors", [])}
                self.acknowledged += [i for n, i in enumerate(ids) if n not in failed]
            elif answer.status_code == 503:
                self.refused += 1
            else:
                raise AssertionError(f"ingest answered {answer.status_code}: {answer.text}")

    async def run_while(self, action: Callable[[], Awaitable[None]], searchers: int = 4) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=60) as http:
            workers = [asyncio.create_task(self.search(http)) for _ in range(searchers)]
            workers.append(asyncio.create_task(self.ingest(http)))
            try:
                await action()
            finally:
                self._running = False
                await asyncio.gather(*workers)


def _elected_master(config: cluster.ClusterConfig) -> embedded.NodeConfig:
    name = _get(config.urls[0], "/_cat/master?format=json")[0]["node"]
    return config.node_configs()[config.node_names.index(name)]


def test_killing_the_master_node_under_load_fails_no_search_and_loses_no_acknowledged_write(
    three_nodes: cluster.ClusterConfig, tmp_path: Path
) -> None:
    """The gateway gets all three nodes in ES_URL; the elected master is killed (SIGKILL) mid-load."""
    shared = {"GATEWAY_ADMIN_USERNAME": ADMIN_USER, "GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD}
    gateway = GatewayProcess(three_nodes.es_url, tmp_path / "gateway", shared)
    try:
        gateway.wait_ready()
        settings = make_settings(es_url=three_nodes.es_url)
        with_es(
            settings, lambda es: load_datasources(es, DATASOURCES_FILE, DATASOURCES, settings.tenant_name)
        )
        load = Load(gateway.url, gateway.create_api_key())
        victim = _elected_master(three_nodes)
        survivor = next(url for url in three_nodes.urls if url != victim.url)
        killed_at = 0  # searches answered before the kill

        async def answered(searches: int, writes: int) -> bool:
            return len(load.searches) >= searches and len(load.acknowledged) >= writes

        async def kill_the_master() -> None:
            nonlocal killed_at
            await eventually_async(lambda: answered(20, 1), "the load to be under way", within=120)
            running = embedded.status(victim)
            assert running is not None
            os.kill(running.pid, signal.SIGKILL)
            killed_at, acknowledged = len(load.searches), len(load.acknowledged)
            path = "/_cluster/health?wait_for_nodes=2&wait_for_status=yellow&timeout=60s"
            async with httpx.AsyncClient(timeout=90) as http:
                health = (await http.get(f"{survivor}{path}")).json()
            assert health["number_of_nodes"] == 2, health
            # keep the load on the two-node cluster until it has answered more searches and writes
            await eventually_async(
                lambda: answered(killed_at + 20, acknowledged + 1), "load on the two nodes", within=120
            )

        asyncio.run(load.run_while(kill_the_master))
    finally:
        gateway.stop()

    after = load.searches[killed_at:]
    failed = [status for status in load.searches if status != 200]
    print(
        f"searches {len(load.searches)} ({len(after)} after the kill), failed {len(failed)}; "
        f"ingest acknowledged {len(load.acknowledged)}, batches refused with 503 {load.refused}"
    )
    assert len(after) >= 20 and failed == []
    assert load.acknowledged, "no ingest batch was acknowledged"
    httpx.post(f"{survivor}/{IDENTITIES}/_refresh", timeout=30)
    found = set()
    for start in range(0, len(load.acknowledged), 1000):
        chunk = load.acknowledged[start : start + 1000]
        body = {"query": {"terms": {"usr_id.keyword": chunk}}, "size": len(chunk), "_source": ["usr_id"]}
        hits = httpx.post(f"{survivor}/{IDENTITIES}/_search", json=body, timeout=30).json()["hits"]["hits"]
        found |= {hit["_source"]["usr_id"] for hit in hits}
    assert set(load.acknowledged) - found == set()

    cluster.start(three_nodes)  # the killed node rejoins; the cluster is green again for the next tests
    assert _get(survivor, "/_cluster/health")["status"] == "green"


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
