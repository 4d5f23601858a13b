"""Audit events in gateway-private daily indices ``gateway-audit-YYYY.MM.DD``, appended and never changed.

The gateway only ever *creates* an event (``op_type`` create, a fresh id): nothing updates or deletes one.
Retention drops whole days: an index older than ``GATEWAY_AUDIT_RETENTION_DAYS`` is deleted.
The passthrough search cannot reach these indices: it only ever searches the data-source index.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from elasticsearch import AsyncElasticsearch, NotFoundError

from gateway.audit.events import AuditEvent
from gateway.errors import Unavailable

log = logging.getLogger(__name__)

AUDIT_PREFIX = "gateway-audit-"
AUDIT_PATTERN = AUDIT_PREFIX + "*"
DAY_FORMAT = "%Y.%m.%d"


def index_for(moment: dt.datetime) -> str:
    return AUDIT_PREFIX + moment.astimezone(dt.UTC).strftime(DAY_FORMAT)


def day_of(index: str) -> dt.date | None:
    """The day an audit index holds, or None for a name the gateway did not make."""
    try:
        return dt.datetime.strptime(index.removeprefix(AUDIT_PREFIX), DAY_FORMAT).date()
    except ValueError:
        return None


@dataclass(frozen=True)
class AuditQuery:
    """Which events to show; every member narrows (None: any)."""

    action: str | None = None
    key_id: str | None = None
    actor: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def query(self) -> dict[str, Any]:
        filters: list[dict[str, Any]] = [
            {"term": {field: value}}
            for field, value in (("action", self.action), ("key_id", self.key_id), ("actor", self.actor))
            if value is not None
        ]
        bounds = {
            bound: moment.isoformat()
            for bound, moment in (("gte", self.since), ("lt", self.until))
            if moment is not None
        }
        if bounds:
            filters.append({"range": {"time": bounds}})
        return {"bool": {"filter": filters}}


class AuditStore:
    def __init__(self, es: AsyncElasticsearch) -> None:
        self._es = es

    async def append(self, events: Sequence[AuditEvent]) -> None:
        """Create each event in its day's index; an error when Elasticsearch did not take them all."""
        if len(events) == 1:
            event = events[0]
            # Refreshed at once, as key records are: an admin sees their action in the trail straight away.
            index = index_for(event.moment)
            await self._es.create(index=index, id=event.id, document=event.to_doc(), refresh=True)
            return
        operations: list[dict[str, Any]] = []
        for event in events:
            operations += [{"create": {"_index": index_for(event.moment), "_id": event.id}}, event.to_doc()]
        if operations:
            answer = await self._es.bulk(operations=operations)
            if answer["errors"]:
                raise Unavailable("Elasticsearch did not store every audit event.")

    async def search(self, query: AuditQuery, offset: int, size: int) -> tuple[list[AuditEvent], int]:
        """A page of matching events, newest first, and how many match in all."""
        found = await self._es.search(
            index=AUDIT_PATTERN,
            query=query.query(),
            sort=[{"time": "desc"}, {"id": "desc"}],
            from_=offset,
            size=size,
            track_total_hits=True,
            ignore_unavailable=True,
            allow_no_indices=True,
        )
        hits = found["hits"]
        return [AuditEvent.from_doc(hit["_source"]) for hit in hits["hits"]], int(hits["total"]["value"])

    async def drop_before(self, day: dt.date) -> list[str]:
        """Delete the audit indices of days before ``day``; their names."""
        found = await self._es.indices.get(index=AUDIT_PATTERN, expand_wildcards="all")
        old = sorted(name for name in found if (held := day_of(name)) is not None and held < day)
        for name in old:  # by name: clusters that refuse wildcard deletes accept these
            try:
                await self._es.indices.delete(index=name)
            except NotFoundError:  # another replica was first
                continue
            log.info("audit retention: dropped %s", name)
        return old
