"""An ingestion job, as the original product's jobs run: with a tenant id and an API key only.

It finds the data source through the passthrough search, reads the CSV files its ``entityTypes`` point
to (resolved under a local data root) or runs its queries against a database (jdbc, see
``gateway.loading.jdbc``), pushes them through the HTTP ingest endpoints in batches, and
reports counts and failed rows by file and line. Nothing here touches Elasticsearch directly.

Each job is one sync run of its data source (``gateway.jobs.sync_run``): it holds the data source's lease
while it writes, stamps every batch with the run, and ends by finishing the run (counts; a full sync's
deletes) or, when ``verdict`` finds the read incomplete, by aborting it. ``--dry-run`` writes nothing
(``gateway.jobs.dry_run``).

A request refused for the key's rate limit is waited out and sent again (``gateway.jobs.pacing``).
What it retries, with exponential back-off and at most ``RETRIES`` times: a whole request answered 429
(not for the key's limit), 502, 503 or 504 (waiting at least its ``Retry-After``), and the items of a 207
answered 429 or 503 (only those items are sent again). Everything else (400, 404, 409) is final and
reported by file and line, as is an item still unavailable after the last retry; a request still refused
after the last retry stops the job. A ``create`` answered 409, or a ``delete`` answered 404, after an
earlier 503 may be that earlier attempt's own doing (a write Elasticsearch applied but could not confirm
on enough shard copies): the report says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import orjson

from gateway.errors import NotFound
from gateway.ingest.datasources import DataSource, InvalidDataSource, by_id, first_hit
from gateway.ingest.entities import ENTITY_KINDS, EntityKind
from gateway.ingest.writer import Action, ItemFailure, RunStamp
from gateway.jobs.dry_run import KeySink, WouldDelete, temporary_directory, would_delete
from gateway.jobs.pacing import PacedClient
from gateway.jobs.sync_run import NO_DELETE_SCOPE, SyncRun, SyncRunError, error_text, verdict
from gateway.loading.loader import DEFAULT_BATCH_SIZE, EntitySink, FileReport, SourceError
from gateway.loading.sources import load_datasource

RETRIES = 3
RETRY_STATUSES = frozenset({429, 502, 503, 504})  # a whole request the gateway could not serve now
RETRY_ITEM_STATUSES = frozenset({429, 503})  # items of a 207 Elasticsearch could not write now
MAX_RETRY_AFTER = 60.0
MAYBE_EARLIER = " (after a retry: the earlier attempt, answered 503, may have written it)"


class JobError(Exception):
    """The job cannot go on (bad key, unknown data source, gateway unreachable)."""


def retry_delay(attempt: int, backoff: float, retry_after: str | None, cap: float = MAX_RETRY_AFTER) -> float:
    """Seconds before retry ``attempt`` (from 0): exponential back-off, or longer when Retry-After says so."""
    delay: float = backoff * 2.0**attempt
    seconds = (retry_after or "").strip()
    if seconds.isascii() and seconds.isdigit():  # delta-seconds; an HTTP date is ignored
        delay = max(delay, min(float(seconds), cap))
    return delay


def final_failure(action: Action, failure: ItemFailure, after_503: bool) -> ItemFailure:
    """How a failure is reported; after a 503, a create's 409 or a delete's 404 may be that attempt's."""
    ambiguous = (action is Action.CREATE and failure.status == 409) or (
        action is Action.DELETE and failure.status == 404
    )
    return replace(failure, reason=failure.reason + MAYBE_EARLIER) if after_503 and ambiguous else failure


class HttpSink:
    """Sends batches to ``POST /api/ingest/<entity>``; retries what the gateway could not write now."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        backoff: float = 1.0,
        max_retry_after: float = MAX_RETRY_AFTER,
        run: RunStamp | None = None,
    ) -> None:
        self.client = client
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.run = run  # sent in every envelope: the entities record the data source and the run
        self.unconfirmed = 0  # items finally answered 429/503: maybe in the source, maybe not written

    async def write(self, kind: EntityKind, action: Action, items: list[dict[str, str]]) -> list[ItemFailure]:
        """The items finally not written, by position in ``items``; only retryable items are resent."""
        final: list[ItemFailure] = []
        pending = list(range(len(items)))  # positions in ``items`` of what the next request carries
        answered_503: set[int] = set()  # items an attempt may have written without confirming it
        for attempt in range(RETRIES + 1):
            again: list[int] = []
            failures, request_503 = await self._post(kind, action, [items[i] for i in pending])
            if request_503:  # a whole request answered 503 before: any item of it may have been written
                answered_503.update(pending)
            for failure in failures:
                position = pending[failure.item]
                failure = final_failure(action, replace(failure, item=position), position in answered_503)
                if failure.status in RETRY_ITEM_STATUSES and attempt < RETRIES:
                    again.append(position)
                    if failure.status == 503:
                        answered_503.add(position)
                else:
                    final.append(failure)
                    self.unconfirmed += failure.status in RETRY_ITEM_STATUSES
            if not again:
                break
            await asyncio.sleep(retry_delay(attempt, self.backoff, None))
            pending = again
        return sorted(final, key=lambda f: f.item)

    async def _post(
        self, kind: EntityKind, action: Action, items: list[dict[str, str]]
    ) -> tuple[list[ItemFailure], bool]:
        """One batch, repeated while the whole request is answered 429/502/503/504: its 207 failures, and
        whether an earlier attempt was answered 503 (and so may have written some of it)."""
        envelope: dict[str, Any] = {"action": action.value, kind.list_key: items}
        if self.run is not None:
            envelope.update(datasourceId=self.run.datasource_id, syncRun=self.run.run_id)
        body = orjson.dumps(envelope)
        saw_503 = False
        for attempt in range(RETRIES + 1):
            response = await self.client.post(
                f"/api/ingest/{kind.name}", content=body, headers={"content-type": "application/json"}
            )
            if response.status_code == 200:
                return [], saw_503
            if response.status_code == 207:
                failures = [
                    ItemFailure(e["item"], e.get("id"), e["status"], e["code"], e["reason"])
                    for e in response.json()["errors"]
                ]
                return failures, saw_503
            if response.status_code not in RETRY_STATUSES or attempt == RETRIES:
                tried = f" (after {attempt + 1} attempts)" if attempt else ""
                raise JobError(f"POST /api/ingest/{kind.name}: {error_text(response)}{tried}")
            saw_503 = saw_503 or response.status_code == 503
            retry_after = response.headers.get("retry-after")
            await asyncio.sleep(retry_delay(attempt, self.backoff, retry_after, self.max_retry_after))
        raise AssertionError("unreachable")


async def find_datasource(client: httpx.AsyncClient, datasource_id: str) -> DataSource:
    """The data source, found through the passthrough search (as the original's jobs do)."""
    response = await client.post(
        "/jas/datasource/search", json={"query": {"query": by_id(datasource_id), "size": 1}}
    )
    if response.status_code != 200:
        raise JobError(f"data-source search failed: {error_text(response)}")
    try:
        return first_hit(datasource_id, response.json()["hits"]["hits"])
    except NotFound as exc:
        raise JobError(exc.message) from None
    except InvalidDataSource as exc:
        raise JobError(f"data source {datasource_id}: {exc}") from None


@dataclass(frozen=True)
class SyncOptions:
    """How a run ends: ``max_bad_rows`` (a share of the rows read) bounds a full sync's deletes."""

    dry_run: bool = False
    max_bad_rows: float = 0.01
    force_delete: bool = False
    incremental: bool = False  # upsert only: a full data source's run deletes nothing


@dataclass
class JobReport:
    source: DataSource
    files: list[FileReport] = field(default_factory=list)
    full: bool = False  # a full sync: what left the source is deleted
    dry_run: bool = False
    counts: dict[str, dict[str, int]] | None = None  # per entity: created, updated, deleted
    not_deleted: str | None = None  # why a full sync deleted nothing
    would_delete: dict[str, WouldDelete] | None = None  # a dry run's answer
    client: PacedClient | None = None  # counts the waits for the key's rate limit

    @property
    def rate_limited(self) -> int:
        """How often the key's rate limit made the job wait (each time, the same request was sent again)."""
        return self.client.waits if self.client else 0

    @property
    def failed(self) -> int:
        return sum(f.failed for f in self.files)


async def run_job(
    base_url: str,
    tenant_id: str,
    api_key: str,
    datasource_id: str,
    data_root: Path,
    *,
    verify: bool | str = True,
    action: Action | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool | None = None,
    backoff: float = 1.0,
    sync: SyncOptions = SyncOptions(),
    since: dt.datetime | None = None,
) -> JobReport:
    """Run one data source's job. ``since`` (jdbc) reads only rows updated later: such a run never deletes."""
    headers = {"x-tenant-id": tenant_id, "X-API-KEY": api_key}
    try:
        async with PacedClient(  # waits out the key's rate limit
            base_url=base_url, headers=headers, verify=verify, timeout=httpx.Timeout(120, connect=10)
        ) as client:
            source = await find_datasource(client, datasource_id)
            if not source.active:
                raise JobError(f"data source {source.label} is not active")
            chosen = action or source.action
            full = source.full and chosen is Action.UPSERT and since is None and not sync.incremental
            report = JobReport(source, full=full, client=client)
            read = functools.partial(
                load_datasource,
                datasource=source,
                data_root=data_root,
                action=chosen,
                batch_size=batch_size,
                progress=progress,
                since=since,
            )
            if sync.dry_run:
                return await _dry_run(client, report, read, sync)
            run = await SyncRun.start(client, datasource_id, full=report.full)  # 403 without delete
            if chosen is Action.DELETE and "delete" not in run.scopes:  # stop before reading anything
                await run.abort("the API key lacks the delete scope")
                raise JobError(NO_DELETE_SCOPE.format(what="the delete action"))
            sink = HttpSink(client, backoff, run=run.stamp)  # deletes too: a limited key writes only in runs
            try:
                async with run.renewing():
                    report.files = await read(sink)
            except BaseException as exc:
                with contextlib.suppress(Exception):
                    await run.abort(f"the job failed: {type(exc).__name__}: {exc}")
                raise
            await _end(run, report, sink, sync)
            if chosen is Action.DELETE:  # rows named what to delete: nothing was stamped, count them here
                report.counts = {
                    f.entity: {"created": 0, "updated": 0, "deleted": f.loaded} for f in report.files
                }
            return report
    except SyncRunError as exc:
        raise JobError(str(exc)) from exc
    except SourceError as exc:  # the source could not be read at all: nothing was written, run aborted
        raise JobError(f"data source {source.label}: {exc}") from None
    except httpx.HTTPError as exc:
        raise JobError(f"cannot reach the gateway at {base_url}: {type(exc).__name__}: {exc}") from exc


async def _end(run: SyncRun, report: JobReport, sink: HttpSink, sync: SyncOptions) -> None:
    """Finish the run (a full sync deletes only when ``verdict`` allows it), or abort it and say why."""
    reason = verdict(report.files, sink.unconfirmed, sync.max_bad_rows) if report.full else None
    if reason is not None:
        report.not_deleted = reason
        await run.abort(reason)
        return
    complete = [f.entity for f in report.files]
    try:
        report.counts = await run.finish(full=report.full, complete=complete, force=sync.force_delete)
    except SyncRunError as exc:  # refused (too much to delete): the lease is released, nothing deleted
        report.not_deleted = str(exc)


async def _dry_run(
    client: httpx.AsyncClient,
    report: JobReport,
    read: Callable[[EntitySink], Awaitable[list[FileReport]]],
    sync: SyncOptions,
) -> JobReport:
    """Read the source, write nothing; for a full sync, ask what its finish would delete."""
    datasource_id = report.source.id
    report.dry_run = True
    with temporary_directory() as directory:
        sink = KeySink(Path(directory))
        try:
            report.files = await read(sink)
            report.not_deleted = verdict(report.files, 0, sync.max_bad_rows) if report.full else None
            if report.full and report.not_deleted is None:
                report.would_delete = {
                    f.entity: await would_delete(client, datasource_id, sink, ENTITY_KINDS[f.entity])
                    for f in report.files
                }
        finally:
            sink.close()
    return report
