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
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench._es import free_port, free_port_range
from gateway.embedded import cluster
from gateway.embedded import node as embedded
from gateway.es.client import build_client
from gateway.es.connection_settings import ConnectionSettings
from gateway.loading.seed import DATASOURCES_FILE, load_datasources
from gateway.settings import Settings

TENANT = "8700f5cb-eaca-461e-8c2e-245a25f2399d"
IDENTITIES = "autonomous-iam_autoid_base_identities_latest"
SEARCH = {
    "query": {"sort": [{"datasource_id.keyword": {"order": "desc"}}], "size": 10, "query": {"match_all": {}}}
}
ADMIN = "chaos-admin@example.com"
RECOVERY_PROMISE = 5.0
MAX_MINUTES = 15
BATCH = 50  # identities per ingest request


@dataclass
class Event:
    at: float
    kind: str  # "search" | "ingest"
    replica: int
    outcome: int | str  # HTTP status, or the transport error's name
    retry_after: bool = False


@dataclass
class Phase:
    name: str
    start: float
    fault: float = 0.0
    end: float = 0.0
    yellow: float | None = None  # outage: when the restarted cluster turned yellow
    acknowledged: list[str] = field(default_factory=list)


class Load:
    """Round-robin over the replicas; a replica that refuses connections is skipped until it answers."""

    def __init__(self, replicas: list[str], key: str) -> None:
        self.replicas = replicas
        self.headers = {"authorization": key, "x-tenant-id": TENANT}
        self.events: list[Event] = []
        self.phase: Phase | None = None
        self.running = True
        self._turn = 0
        self._down: dict[int, float] = {}
        self._batch = 0

    def _pick(self, avoid: int | None = None) -> int:
        now = time.monotonic()
        for _ in range(len(self.replicas)):
            self._turn = (self._turn + 1) % len(self.replicas)
            if self._turn != avoid and self._down.get(self._turn, 0) <= now:
                return self._turn
        return (avoid + 1) % len(self.replicas) if avoid is not None else self._turn

    async def _send(
        self, http: httpx.AsyncClient, kind: str, path: str, body: object
    ) -> httpx.Response | None:
        replica = self._pick()
        for attempt in range(2):
            try:
                answer = await http.post(self.replicas[replica] + path, json=body, headers=self.headers)
            except httpx.TransportError as exc:
                # Not connected: safe to send elsewhere. Cut off mid-request: only a search may be repeated.
                if attempt == 0 and (isinstance(exc, httpx.ConnectError) or kind == "search"):
                    self._down[replica] = time.monotonic() + 1.0
                    replica = self._pick(avoid=replica)
                    continue
                self.events.append(Event(time.monotonic(), kind, replica, type(exc).__name__))
                return None
            retry_after = "retry-after" in answer.headers
            self.events.append(Event(time.monotonic(), kind, replica, answer.status_code, retry_after))
            return answer
        return None

    async def search(self, http: httpx.AsyncClient) -> None:
        while self.running:
            answer = await self._send(http, "search", "/jas/datasource/search", SEARCH)
            if answer is None or answer.status_code != 200:
                await asyncio.sleep(0.05)  # a caller that failed does not retry in a tight loop

    async def ingest(self, http: httpx.AsyncClient) -> None:
        while self.running:
            self._batch += 1
            ids = [f"chaos-{self._batch}-{n}" for n in range(BATCH)]
            items = [{"usr_id": i, "usr_name": f"User {i}", "usr_manager_id": ""} for i in ids]
            answer = await self._send(
                http, "ingest", "/api/ingest/identities", {"action": "upsert", "identities": items}
            )
            if answer is not None and answer.status_code == 200 and self.phase is not None:
                failed = {error["item"] for error in answer.json().get("errors", [])}
                self.phase.acknowledged += [i for n, i in enumerate(ids) if n not in failed]
            elif answer is None or answer.status_code >= 500:
                await asyncio.sleep(0.2)  # as a job would back off

    async def run(self, searchers: int = 4) -> None:
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(timeout=30, limits=limits) as http:
            workers = [self.search(http) for _ in range(searchers)]
            await asyncio.gather(*workers, self.ingest(http))


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


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def found_ids(url: str, ids: list[str]) -> set[str]:
    httpx.post(f"{url}/{IDENTITIES}/_refresh", timeout=60)
    found: set[str] = set()
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        body = {"query": {"terms": {"usr_id.keyword": chunk}}, "size": len(chunk), "_source": ["usr_id"]}
        hits = httpx.post(f"{url}/{IDENTITIES}/_search", json=body, timeout=60).json()["hits"]["hits"]
        found |= {hit["_source"]["usr_id"] for hit in hits}
    return found


def longest_failure_window(events: list[Event]) -> float:
    """The longest stretch from a failed request to the next successful one."""
    longest, first_failure = 0.0, None
    for event in sorted(events, key=lambda e: e.at):
        if event.outcome == 200:
            if first_failure is not None:
                longest = max(longest, event.at - first_failure)
            first_failure = None
        elif first_failure is None:
            first_failure = event.at
    if first_failure is not None:
        longest = max(longest, events[-1].at - first_failure)
    return longest


def report(run: Campaign, load: Load, phases: list[Phase]) -> tuple[list[str], int]:
    lines = [
        f"{'phase':15} {'searches':>8} {'failed':>6} {'fail window':>11} {'acked':>6} {'found':>6} "
        f"{'503 items':>9} {'other 5xx':>9} {'recovery':>9}"
    ]
    figures: dict[str, dict[str, float]] = {}
    for phase in phases:
        events = [e for e in load.events if phase.start <= e.at < (phase.end or float("inf"))]
        searches = [e for e in events if e.kind == "search"]
        failed = [e for e in searches if e.outcome != 200]
        found = found_ids(run.cluster.urls[0], phase.acknowledged) if phase.acknowledged else set()
        refused_items = sum(BATCH for e in events if e.kind == "ingest" and e.outcome == 503)
        bare_503 = sum(1 for e in events if e.outcome == 503 and not e.retry_after)
        other_5xx = sum(
            1 for e in events if isinstance(e.outcome, int) and e.outcome >= 500 and e.outcome != 503
        )
        last_failure = max((e.at for e in events if e.outcome != 200), default=None)
        notes = []
        if phase.yellow is not None:  # back = the first search answered once every node had stopped
            back = min((e.at for e in searches if e.outcome == 200 and e.at > phase.fault), default=phase.end)
            recovery = max(0.0, back - phase.yellow)
            notes.append(
                f"all nodes stopped at +0.0 s, cluster yellow at +{phase.yellow - phase.fault:.1f} s, "
                f"first search answered at +{back - phase.fault:.1f} s"
            )
        elif last_failure is not None and phase.fault:
            recovery = max(0.0, last_failure - phase.fault)
        else:
            recovery = 0.0
        survivor_failed = sum(1 for e in events if e.replica == 1 and e.outcome != 200)
        if phase.name == "replica kill":
            moved = sum(1 for e in events if e.replica == 1)
            notes.append(
                f"requests answered by the surviving replica: {moved}, failed there: {survivor_failed}"
            )
        if bare_503:
            notes.append(f"503 without Retry-After: {bare_503}")
        figures[phase.name] = {
            "failed": len(failed),
            "lost": len(phase.acknowledged) - len(found),
            "other_5xx": other_5xx + bare_503,
            "recovery": recovery,
            "survivor_failed": survivor_failed,
        }
        window, acked = longest_failure_window(events), len(phase.acknowledged)
        lines.append(
            f"{phase.name:15} {len(searches):>8} {len(failed):>6} {window:>10.2f}s {acked:>6} "
            f"{len(found):>6} {refused_items:>9} {other_5xx:>9} {recovery:>8.2f}s"
        )
        lines += [f"{'':15} {note}" for note in notes]
    node, outage, replica = figures["node kill"], figures["cluster outage"], figures["replica kill"]
    lost = sum(int(f["lost"]) for f in figures.values())
    lines.append(
        f"chaos: node kill failed searches = {int(node['failed'])}, acknowledged lost = {lost}; "
        f"cluster outage 5xx = {int(outage['other_5xx'])}, recovery = {outage['recovery']:.1f} s; "
        f"replica kill failed = {int(replica['survivor_failed'])}"
    )
    broken = (
        node["failed"] > 0
        or lost > 0
        or outage["other_5xx"] > 0
        or outage["recovery"] > RECOVERY_PROMISE
        or replica["survivor_failed"] > 0
    )
    return lines, 1 if broken else 0


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
            lines, status = report(run, load, phases)
            lines.insert(0, run.memory())
        finally:
            run.stop()
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
