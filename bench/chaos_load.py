"""The fault campaign's steady load: four searchers and one ingester, round-robin over the gateway replicas.

Every request is recorded as an ``Event`` (when, which replica, what came back); the ingester also records,
per ``Phase``, the identity ids whose upsert was acknowledged, so that the report can look for them later.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx

TENANT = "8700f5cb-eaca-461e-8c2e-245a25f2399d"
SEARCH = {
    "query": {"sort": [{"datasource_id.keyword": {"order": "desc"}}], "size": 10, "query": {"match_all": {}}}
}
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
