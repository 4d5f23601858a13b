"""Sync runs of a data source: a lease while the run writes, then counts, and for a full sync, deletes.

Every entity a run writes records ``metadata.datasourceId`` and ``metadata.syncRun`` (and
``metadata.createdInRun`` when the run created it; ``gateway.ingest.writer``). When a full sync has read
every row of an entity type, the entities of that type stamped with the data source but not with this run
left the source: ``finish`` deletes them, within bounds a key holder cannot widen:

- only entities stamped with that data source and not with this run, of the entity types the run declares
  completely read, which must be among the data source's own ``entityTypes``;
- only while the run holds the data source's lease (``gateway.ingest.leases``), and only when the data
  source exists, is active and has ``sync_type`` ``full``;
- never more than ``max_delete_share`` of the data source's entities of a type unless the run says
  ``force``; a refused finish deletes nothing and ends the run.

Deleting an identity or an entitlement also deletes the assignments of the same data source that refer to
it (by ``usr_id`` or ``ent_id``), whichever run wrote them: an assignment of a user who is gone is gone.
Assignments from other data sources are never touched. Deletes go page by page on refreshed indices: a
search for what is stale, then a bulk delete of each hit only if unchanged since (``if_seq_no`` and
``if_primary_term``): an entity rewritten meanwhile (so stamped with this run) is a version conflict,
skipped, never deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from elasticsearch import AsyncElasticsearch

from gateway.errors import Conflict, ElasticsearchUnavailable, InvalidInput
from gateway.es.bulk import BulkOp, BulkPolicy, bulk_write
from gateway.ingest.datasources import DataSource, InvalidDataSource, find_datasource
from gateway.ingest.entities import ASSIGNMENTS, ENTITY_KINDS, EntityKind
from gateway.ingest.leases import Lease, SyncLeases, check_datasource_id
from gateway.ingest.writer import RunStamp

log = logging.getLogger(__name__)

CASCADE_FIELDS = {"identities": "usr_id", "entitlements": "ent_id"}  # what an assignment refers to
PAGE = 1000
MAX_SAMPLE = 100
MAX_STALLED_PAGES = 3


def _term(field: str, value: str) -> dict[str, Any]:
    return {"term": {f"metadata.{field}.keyword": value}}


def of_datasource(datasource_id: str) -> dict[str, Any]:
    return _term("datasourceId", datasource_id)


def stale(datasource_id: str, run_id: str) -> dict[str, Any]:
    """Entities of the data source that this run did not write."""
    return {"bool": {"filter": [of_datasource(datasource_id)], "must_not": [_term("syncRun", run_id)]}}


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    deleted: int = 0

    def as_json(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "deleted": self.deleted}


class SyncService:
    def __init__(
        self,
        es: AsyncElasticsearch,
        tenant_name: str,
        datasource_index: str,
        leases: SyncLeases,
        max_delete_share: float,
        policy: BulkPolicy | None = None,
    ) -> None:
        self.es = es
        self.tenant_name = tenant_name
        self.datasource_index = datasource_index
        self.leases = leases
        self.max_delete_share = max_delete_share
        self.policy = replace(
            policy or BulkPolicy(), refresh=True
        )  # the next page's search must not see what went

    def index(self, kind: EntityKind) -> str:
        return kind.index(self.tenant_name)

    async def datasource(self, datasource_id: str) -> DataSource:
        """NotFound when there is none; Conflict when its document is unusable (nothing can run)."""
        try:
            return await find_datasource(self.es, self.datasource_index, check_datasource_id(datasource_id))
        except InvalidDataSource as exc:
            raise Conflict(f"data source {datasource_id}: {exc}") from None

    async def start(self, datasource_id: str, holder: str) -> Lease:
        if not (await self.datasource(datasource_id)).active:
            raise Conflict(f"data source {datasource_id} is not active")
        lease = await self.leases.acquire(datasource_id, holder)
        log.info("sync run %s of data source %s started by %s", lease.run_id, datasource_id, holder)
        return lease

    async def renew(self, datasource_id: str, run_id: str, holder: str) -> Lease:
        return await self.leases.renew(datasource_id, run_id, holder)

    async def check_write(self, run: RunStamp) -> None:
        """A write stamped with ``run`` is accepted only while that run holds the lease."""
        await self.leases.require(check_datasource_id(run.datasource_id), run.run_id)

    async def abort(self, datasource_id: str, run_id: str, reason: str) -> None:
        lease = await self.leases.current(check_datasource_id(datasource_id))
        if lease is None or lease.run_id != run_id:
            raise Conflict(f"sync run {run_id} does not hold the lease of data source {datasource_id}")
        await self.leases.release(lease)
        log.warning(
            "sync run %s of data source %s aborted, nothing deleted: %r", run_id, datasource_id, reason
        )

    async def _count(self, kind: EntityKind, query: dict[str, Any]) -> int:
        return int((await self.es.count(index=self.index(kind), query=query))["count"])

    async def finish(
        self,
        datasource_id: str,
        run_id: str,
        *,
        full: bool,
        complete: Sequence[str],
        force: bool,
        holder: str,
    ) -> dict[str, Counts]:
        """Counts per entity type; for a full sync, the deletes of the completely read types first."""
        lease = await self.leases.renew(datasource_id, run_id, holder)  # holds it for the deletes

        async def hold() -> None:
            """Before each page of deletes: still this run's lease (compare-and-set), for longer. A run
            whose lease expired and was taken over stops deleting here (409), so runs never interleave."""
            nonlocal lease
            lease = await self.leases.renew(datasource_id, run_id, holder)

        try:
            kinds = await self._complete_kinds(datasource_id, complete) if full else []
            await self.es.indices.refresh(index=",".join(self.index(k) for k in ENTITY_KINDS.values()))
            counts = {name: Counts() for name in ENTITY_KINDS}
            for kind in ENTITY_KINDS.values():
                written = await self._count(kind, _term("syncRun", run_id))
                counts[kind.name].created = await self._count(kind, _term("createdInRun", run_id))
                counts[kind.name].updated = written - counts[kind.name].created
            if kinds:
                await self._check_share(datasource_id, run_id, kinds, force)
                for kind in kinds:
                    await self._sweep(kind, datasource_id, run_id, counts, hold)
        finally:
            await self.leases.release(lease)
        deleted = {name: c.deleted for name, c in counts.items() if c.deleted}
        log.info(
            "sync run %s of data source %s finished; deleted %s", run_id, datasource_id, deleted or "nothing"
        )
        return counts

    async def _complete_kinds(self, datasource_id: str, complete: Sequence[str]) -> list[EntityKind]:
        source = await self.datasource(datasource_id)
        if not (source.active and source.full):
            raise Conflict(f"data source {datasource_id} is not an active full sync: nothing deleted")
        unknown = sorted(set(complete) - source.entity_names)
        if unknown:
            raise InvalidInput(f"not entity types of data source {datasource_id}: {', '.join(unknown)}")
        return [kind for name, kind in ENTITY_KINDS.items() if name in complete]

    async def _check_share(
        self, datasource_id: str, run_id: str, kinds: list[EntityKind], force: bool
    ) -> None:
        too_many: dict[str, dict[str, int]] = {}
        for kind in kinds:
            total = await self._count(kind, of_datasource(datasource_id))
            gone = await self._count(kind, stale(datasource_id, run_id))
            if total and gone / total > self.max_delete_share:
                too_many[kind.name] = {"delete": gone, "of": total}
        if too_many and not force:
            raise Conflict(
                f"the full sync would delete more than {self.max_delete_share:.0%} of the data source's "
                f"{', '.join(too_many)}: nothing deleted (finish with force to delete anyway)",
                details=too_many,
            )

    async def _delete_page(self, kind: EntityKind, hits: list[dict[str, Any]]) -> int:
        """Delete these hits, each only if unchanged since it was read (``if_seq_no``); how many went."""
        ops = [
            BulkOp(
                orjson.dumps(
                    {
                        "delete": {
                            "_index": self.index(kind),
                            "_id": hit["_id"],
                            "if_seq_no": hit["_seq_no"],
                            "if_primary_term": hit["_primary_term"],
                        }
                    }
                )
            )
            for hit in hits
        ]
        outcomes = await bulk_write(self.es, ops, self.policy)
        if any(not o.ok and o.status not in (404, 409) for o in outcomes):  # 409: rewritten meanwhile
            raise ElasticsearchUnavailable(f"deleting {kind.name} failed in part; run the sync again")
        return sum(o.ok for o in outcomes)

    async def _delete_matching(
        self,
        kind: EntityKind,
        query: dict[str, Any],
        field: str = "metadata.primaryKey",
        first: Callable[[list[dict[str, Any]]], Awaitable[None]] | None = None,
        *,
        hold: Callable[[], Awaitable[None]],
    ) -> int:
        """Delete what ``query`` matches, page by page (``first`` sees each page before it goes)."""
        deleted = stalled = 0
        while stalled < MAX_STALLED_PAGES:
            found = await self.es.search(
                index=self.index(kind),
                query=query,
                size=PAGE,
                sort=["_doc"],
                seq_no_primary_term=True,
                source_includes=[field],
            )
            hits = found["hits"]["hits"]
            if not hits:
                break
            await hold()
            if first is not None:
                await first(hits)
            gone = await self._delete_page(kind, hits)
            deleted += gone
            stalled = 0 if gone else stalled + 1  # all rewritten meanwhile: look again, a few times
        return deleted

    async def _sweep(
        self,
        kind: EntityKind,
        datasource_id: str,
        run_id: str,
        counts: dict[str, Counts],
        hold: Callable[[], Awaitable[None]],
    ) -> None:
        """Delete the run's stale entities of ``kind``; first, the assignments that refer to them."""
        field = CASCADE_FIELDS.get(kind.name)

        async def cascade(hits: list[dict[str, Any]]) -> None:
            assert field is not None
            values = sorted({str(v) for h in hits if (v := h.get("_source", {}).get(field)) is not None})
            refers = {
                "bool": {"filter": [of_datasource(datasource_id), {"terms": {f"{field}.keyword": values}}]}
            }
            counts[ASSIGNMENTS.name].deleted += await self._delete_matching(ASSIGNMENTS, refers, hold=hold)

        query = stale(datasource_id, run_id)
        if field is None:
            counts[kind.name].deleted += await self._delete_matching(kind, query, hold=hold)
        else:
            counts[kind.name].deleted += await self._delete_matching(kind, query, field, cascade, hold=hold)

    async def unmatched(
        self, datasource_id: str, kind: EntityKind, after: str | None, through: str | None, keys: list[str]
    ) -> tuple[int, list[str]]:
        """Primary keys of the data source's ``kind`` in ``(after, through]`` that are not in ``keys``:
        what a full sync that read exactly ``keys`` there would delete (a count, and a few of them)."""
        await self.datasource(datasource_id)
        bounds = {k: v for k, v in (("gt", after), ("lte", through)) if v is not None}
        pk = "metadata.primaryKey.keyword"
        query = {
            "bool": {
                "filter": [of_datasource(datasource_id), *([{"range": {pk: bounds}}] if bounds else [])],
                "must_not": [{"terms": {pk: keys}}] if keys else [],
            }
        }
        found = await self.es.search(
            index=self.index(kind),
            query=query,
            size=MAX_SAMPLE,
            sort=[{pk: {"order": "asc", "unmapped_type": "keyword"}}],
            source=False,
            track_total_hits=True,
        )
        sample = [str(h["sort"][0]) for h in found["hits"]["hits"] if h.get("sort")]
        return int(found["hits"]["total"]["value"]), sample
