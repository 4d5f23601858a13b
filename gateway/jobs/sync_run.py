"""The job's side of a sync run: the lease (renewed while the job writes), and how the run ends.

``verdict`` decides whether a full sync may delete: only after every file was read, no row failed for
want of Elasticsearch (429/503 after the retries: such a row may be in the source and not written), and
at most ``max_bad_rows`` of each file's rows were refused. Otherwise the run is aborted, deleting
nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx

from gateway.ingest.writer import RunStamp
from gateway.loading.loader import FileReport

MIN_RENEW_INTERVAL = 1.0
FINISH_TIMEOUT = 900.0  # the deletes of a large full sync take a while


ALL_SCOPES = ("search", "write", "delete")  # what a gateway from before scopes lets every key do
NO_DELETE_SCOPE = (
    "the API key lacks the 'delete' scope, which {what} needs; nothing was read. Run it without deleting "
    "(--incremental, or --since for a JDBC source), or use a key with the delete scope."
)


class SyncRunError(Exception):
    """The gateway refused a step of the run (another run holds the lease, a refused finish)."""


def refused_scope(response: httpx.Response) -> str | None:
    """The scope a 403 ``forbidden`` answer names, if it is one."""
    try:
        error = response.json().get("error", {})
        return str(error["details"]["requiredScope"]) if error.get("code") == "forbidden" else None
    except (ValueError, AttributeError, KeyError, TypeError):
        return None


def error_text(response: httpx.Response) -> str:
    """``<status> <code>: <message>`` of a gateway error answer (the status alone without a JSON body)."""
    try:
        error = response.json().get("error", {})
        return f"{response.status_code} {error.get('code')}: {error.get('message')}"
    except (ValueError, AttributeError):
        return f"{response.status_code}"


def file_unread(report: FileReport) -> bool:
    """A file (or query) not read to its end: unreadable, no header, malformed CSV, a query that failed."""
    return report.incomplete


def verdict(files: list[FileReport], unconfirmed: int, max_bad_rows: float) -> str | None:
    """Why this run must not delete anything, or None when a full sync may."""
    unread = [f.file for f in files if file_unread(f)]
    if unread:
        return f"could not read {', '.join(unread)}"
    if unconfirmed:
        return f"{unconfirmed} rows could not be confirmed written (Elasticsearch unavailable)"
    for f in files:  # per file: a large file's good rows do not hide a small file's bad ones
        rows = f.loaded + f.failed
        if rows and f.failed / rows > max_bad_rows:
            return f"{f.file}: {f.failed} of {rows} rows failed, more than the allowed {max_bad_rows:.2%}"
    return None


class SyncRun:
    """One run of a data source on the gateway: ``start``, then ``finish`` or ``abort``."""

    def __init__(self, client: httpx.AsyncClient, datasource_id: str, lease: dict[str, Any]) -> None:
        self.client = client
        self.datasource_id = datasource_id
        self.run_id = str(lease["runId"])
        self.stamp = RunStamp(datasource_id, self.run_id)
        started = dt.datetime.fromisoformat(str(lease["started"]).replace("Z", "+00:00"))
        expires = dt.datetime.fromisoformat(str(lease["expires"]).replace("Z", "+00:00"))
        self.renew_every = max(MIN_RENEW_INTERVAL, (expires - started).total_seconds() / 3)
        self.renew_error: str | None = None
        self.scopes: tuple[str, ...] = tuple(lease.get("scopes", ALL_SCOPES))  # what the key may do

    @classmethod
    async def start(cls, client: httpx.AsyncClient, datasource_id: str, *, full: bool = False) -> SyncRun:
        """Take the lease. A ``full`` run is refused here, before anything is read, to a key without
        ``delete`` (its finish deletes)."""
        response = await client.post(
            f"/api/ingest/sync/{quote(datasource_id, safe='')}/start",
            json={"mode": "full" if full else "incremental"},
        )
        if response.status_code == 403 and refused_scope(response) == "delete":
            raise SyncRunError(NO_DELETE_SCOPE.format(what="a full sync (it deletes what left the source)"))
        if response.status_code != 200:
            raise SyncRunError(f"cannot start a sync run: {error_text(response)}")
        return cls(client, datasource_id, response.json())

    async def _post(self, step: str, body: dict[str, Any], seconds: float = 120) -> dict[str, Any]:
        response = await self.client.post(
            f"/api/ingest/sync/{quote(self.datasource_id, safe='')}/{step}",
            json={"runId": self.run_id, **body},
            timeout=httpx.Timeout(seconds, connect=10),
        )
        if response.status_code != 200:
            raise SyncRunError(f"{step}: {error_text(response)}")
        answer: dict[str, Any] = response.json()
        return answer

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.renew_every)
            try:
                await self._post("renew", {})
            except (SyncRunError, httpx.HTTPError) as exc:
                self.renew_error = str(exc)  # the next write is refused (409) and stops the job

    @contextlib.asynccontextmanager
    async def renewing(self) -> AsyncIterator[None]:
        """Keep the lease while the block runs."""
        task = asyncio.create_task(self._renew_forever(), name=f"renew-{self.run_id}")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def finish(self, *, full: bool, complete: list[str], force: bool) -> dict[str, dict[str, int]]:
        body = {
            "mode": "full" if full else "incremental",
            "complete": complete if full else [],
            "force": force,
        }
        entities: dict[str, dict[str, int]] = (await self._post("finish", body, FINISH_TIMEOUT))["entities"]
        return entities

    async def abort(self, reason: str) -> None:
        await self._post("abort", {"reason": reason[:2000]})
