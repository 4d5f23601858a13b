"""Fault campaign: a three-node cluster and two gateway replicas under steady load, broken in turn.

Everything runs on 127.0.0.1 in a temporary directory and is stopped at the end (or on Ctrl-C). Four
search workers and one ingest worker (batches of identities with unique ids, every acknowledgement
recorded) send their requests round-robin to the two replicas, moving to the other one when a replica
cannot be reached, as a load balancer would. Then, in turn:

1. node kill      SIGKILL the elected master node; later start it again.
2. replica kill   SIGKILL one gateway replica; later start it again.
3. cluster outage stop every node, wait ``--outage`` seconds, start them again.

Per phase it prints searches sent / failed, the longest window with failures, ingest items acknowledged
and found afterwards, answers 503 (retryable) and other 5xx, and recovery time. Exit status 1 when a
promise is broken: a failed search or a lost acknowledged item after a node kill, a 5xx other than 503 (or
a 503 without Retry-After) in the outage, recovery later than 5 s after the cluster turned yellow, or a
failed request on the surviving replica.

    make chaos      # or: PYTHONPATH=. .venv/bin/python bench/chaos.py [--heap 512m] [--outage 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench._es import free_port, free_port_range, rss_mib
from bench.chaos_load import TENANT, Load, Phase
from bench.chaos_report import RECOVERY_PROMISE, report
from gateway.embedded import cluster
from gateway.embedded import node as embedded
from gateway.es.client import build_client
from gateway.es.connection_settings import ConnectionSettings
from gateway.loading.seed import DATASOURCES_FILE, load_datasources
from gateway.settings import Settings

ADMIN = "chaos-admin@example.com"
MAX_MINUTES = 15


class Campaign:
    def __init__(self, work: Path, heap: str) -> None:
        base = free_port_range(6)
        self.cluster = cluster.ClusterConfig(
            work / "es", nodes=3, http_base=base, transport_base=base + 3, heap=heap
        )
        self.work = work
        self.env = dict(
            os.environ,
            ES_URL=self.cluster.es_url,
            TENANT_ID=TENANT,
            GATEWAY_JWT_SECRET=secrets.token_urlsafe(32),  # the same on both replicas, as documented
            GATEWAY_API_KEY_SECRET=secrets.token_urlsafe(32),
            GATEWAY_ADMIN_USERNAME=ADMIN,
            GATEWAY_ADMIN_PASSWORD=secrets.token_urlsafe(16),
            GATEWAY_ACCESS_LOG="false",
        )
        self.ports = [free_port(), free_port()]
        self.replicas = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.processes: list[subprocess.Popen[bytes] | None] = [None, None]

    def start_replica(self, i: int) -> None:
        log = (self.work / f"gateway-{i}.log").open("ab")
        self.processes[i] = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--no-tls", "--port", str(self.ports[i])],
            env=dict(self.env, GATEWAY_STATE_DIR=str(self.work / f"gateway-{i}")),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.replicas[i]}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gateway replica {i} did not become ready; see {self.work}/gateway-{i}.log")

    def api_key(self) -> str:
        password = self.env["GATEWAY_ADMIN_PASSWORD"]
        login = httpx.post(
            f"{self.replicas[0]}/api/authentication/login", json={"username": ADMIN, "password": password}
        )
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        body = {"name": "chaos", "description": "fault campaign", "expiration": "2099-01-01"}
        answer = httpx.post(f"{self.replicas[0]}/api/admin/createApiToken", json=body, headers=headers)
        key: str = answer.json()["token"]
        return key

    def seed(self) -> None:
        settings = Settings(es_url=self.cluster.es_url, tenant_id=TENANT)  # type: ignore[call-arg]

        async def run() -> None:
            es = build_client(ConnectionSettings.from_settings(settings))
            try:
                await load_datasources(es, DATASOURCES_FILE, settings.datasource_index, settings.tenant_name)
            finally:
                await es.close()

        asyncio.run(run())

    def kill_replica(self, i: int) -> None:
        process = self.processes[i]
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait()

    def memory(self) -> str:
        """RSS of the gateway replicas and the nodes, now."""
        gateways = [rss_mib(p.pid) for p in self.processes if p is not None and p.poll() is None]
        nodes = [rss_mib(state.status.pid) for state in cluster.status(self.cluster) if state.status]
        return (
            f"RSS: gateway replicas {', '.join(f'{m:.0f}' for m in gateways)} MiB; "
            f"Elasticsearch nodes {', '.join(f'{m:.0f}' for m in nodes)} MiB"
        )

    def stop(self) -> None:
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        cluster.stop(self.cluster)

    def elected_master(self) -> embedded.NodeConfig:
        name = embedded.http_json(f"{self.cluster.urls[0]}/_cat/master?format=json", timeout=10)[0]["node"]
        return self.cluster.node_configs()[self.cluster.node_names.index(name)]

    async def wait_health(self, nodes: int = 0, within: float = 120) -> float:
        """Poll every node's own view until one reports yellow or green (with ``nodes`` nodes, if given);
        the time it did. ``local``: a node without a master answers at once instead of waiting for one."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=1) as http:
            while time.monotonic() < deadline:
                for url in self.cluster.urls:
                    try:
                        health = (await http.get(f"{url}/_cluster/health?local=true")).json()
                    except (httpx.TransportError, ValueError):
                        continue
                    if nodes and health.get("number_of_nodes") != nodes:
                        continue
                    if health.get("status") in ("yellow", "green"):
                        return time.monotonic()
                await asyncio.sleep(0.1)
        raise RuntimeError(f"the cluster did not turn yellow within {within:.0f}s")


async def campaign(run: Campaign, load: Load, outage: float) -> list[Phase]:
    phases: list[Phase] = []
    loader = asyncio.create_task(load.run())

    def begin(name: str) -> Phase:
        phase = Phase(name, time.monotonic())
        if phases:
            phases[-1].end = phase.start
        load.phase = phase
        phases.append(phase)
        print(f"-- {name}", flush=True)
        return phase

    begin("warm-up")
    await asyncio.sleep(3)

    phase = begin("node kill")
    await asyncio.sleep(3)
    victim = run.elected_master()
    running = embedded.status(victim)
    assert running is not None
    os.kill(running.pid, signal.SIGKILL)
    phase.fault = time.monotonic()
    print(f"   killed {victim.data_dir.name} (elected master, pid {running.pid})", flush=True)
    await run.wait_health(2)
    await asyncio.sleep(5)
    await asyncio.to_thread(cluster.start, run.cluster)  # the node rejoins; back to green
    print("   node restarted, cluster green", flush=True)
    await asyncio.sleep(3)

    phase = begin("replica kill")
    await asyncio.sleep(3)
    run.kill_replica(0)
    phase.fault = time.monotonic()
    print("   killed gateway replica 0", flush=True)
    await asyncio.sleep(5)
    await asyncio.to_thread(run.start_replica, 0)
    print("   replica 0 restarted", flush=True)
    await asyncio.sleep(2)

    phase = begin("cluster outage")
    await asyncio.sleep(3)
    await asyncio.to_thread(cluster.stop, run.cluster)
    phase.fault = time.monotonic()  # every node is down
    print(f"   cluster stopped; down for {outage:.0f} s", flush=True)
    await asyncio.sleep(outage)
    restart = asyncio.create_task(asyncio.to_thread(cluster.start, run.cluster))
    phase.yellow = await run.wait_health(within=180)
    print("   cluster yellow again", flush=True)
    await restart
    await asyncio.sleep(RECOVERY_PROMISE + 2)
    phase.end = time.monotonic()

    load.running = False
    await loader
    return phases


def _over_time(*_: object) -> None:
    raise TimeoutError(f"the campaign ran over {MAX_MINUTES} minutes")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--heap", default="512m", help="heap of each Elasticsearch node")
    parser.add_argument("--outage", type=float, default=10.0, help="seconds the whole cluster stays down")
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, _over_time)
    signal.alarm(MAX_MINUTES * 60)  # bounded: whatever happens, everything is stopped by then
    with tempfile.TemporaryDirectory(prefix="chaos-") as work:
        run = Campaign(Path(work), args.heap)
        try:
            print(f"cluster of 3 nodes on {run.cluster.es_url}", flush=True)
            cluster.start(run.cluster)
            run.seed()
            for i in range(2):
                run.start_replica(i)
            print(f"gateway replicas on {', '.join(run.replicas)}", flush=True)
            load = Load(run.replicas, run.api_key())
            phases = asyncio.run(campaign(run, load, args.outage))
            lines, status = report(run.cluster.urls[0], load, phases)
            lines.insert(0, run.memory())
        finally:
            run.stop()
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
