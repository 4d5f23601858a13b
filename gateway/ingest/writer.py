"""Ingest actions → Elasticsearch bulk operations, and a report naming every item that failed.

The one write path for base entities: ``POST /api/ingest/<entity>`` and the CSV loaders both go through
``Ingestor.ingest``. Actions map onto bulk operations:

- ``create`` → ``create`` (an existing entity is reported as a conflict),
- ``update`` → ``update`` with a partial ``doc`` (a missing entity is reported as not found),
- ``upsert`` → ``update`` with ``doc`` and ``upsert``: fields are merged, ``metadata.created`` is kept,
- ``delete`` → ``delete`` (a missing entity is reported as not found).

A batch may carry a sync run (``RunStamp``): every entity it writes then records the data source and
the run in ``metadata.datasourceId`` and ``metadata.syncRun``, and an entity the batch creates also gets
``metadata.createdInRun`` (``gateway.ingest.sync`` counts and sweeps by these).

Invalid items are reported with their position and never sent; valid ones in the same batch still are.
An item counts as written only when Elasticsearch acknowledged it on the configured number of shard copies
(``gateway.es.bulk``); anything Elasticsearch could not write now is reported 503 ``unavailable``.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from elasticsearch import AsyncElasticsearch

from gateway.errors import InvalidInput, TooLarge
from gateway.es.bulk import BulkOp, BulkOutcome, BulkPolicy, bulk_write
from gateway.ingest.entities import EntityKind, InvalidItem, entity_id, entity_metadata, item_ids, primary_key
from gateway.ingest.ownership import OwnershipCheck, condition, rounds


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UPSERT = "upsert"
    DELETE = "delete"


ACTIONS = ", ".join(a.value for a in Action)


@dataclass(frozen=True)
class ItemFailure:
    """One item that was not written: its position in the batch, its ids when valid, and why."""

    item: int
    ids: dict[str, str] | None
    status: int
    code: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"item": self.item}
        if self.ids is not None:
            body["id"] = self.ids
        body.update(status=self.status, code=self.code, reason=self.reason)
        return body


@dataclass
class IngestReport:
    received: int
    failures: list[ItemFailure] = field(default_factory=list)

    @property
    def succeeded(self) -> int:
        return self.received - len(self.failures)

    def as_json(self) -> dict[str, Any]:
        if not self.failures:
            return {"message": "ok"}
        return {
            "message": f"{len(self.failures)} of {self.received} items failed",
            "succeeded": self.succeeded,
            "failed": len(self.failures),
            "errors": [f.as_json() for f in self.failures],
        }


@dataclass(frozen=True)
class RunStamp:
    """The sync run a write belongs to: the data source it read, and the run's id."""

    datasource_id: str
    run_id: str

    def metadata(self, created: bool) -> dict[str, str]:
        stamp = {"datasourceId": self.datasource_id, "syncRun": self.run_id}
        return {**stamp, "createdInRun": self.run_id} if created else stamp


RUN_FIELDS = ("datasourceId", "syncRun")
MAX_RUN_FIELD_LENGTH = 512


def parse_run(payload: Mapping[str, Any]) -> RunStamp | None:
    """The optional run context of an envelope: ``datasourceId`` and ``syncRun``, both or neither."""
    given = [name for name in RUN_FIELDS if name in payload]
    if not given:
        return None
    if len(given) != len(RUN_FIELDS):
        raise InvalidInput("datasourceId and syncRun go together")
    values = [payload[name] for name in RUN_FIELDS]
    if not all(isinstance(v, str) and v.strip() and len(v) <= MAX_RUN_FIELD_LENGTH for v in values):
        raise InvalidInput(
            f"datasourceId and syncRun must be non-blank strings of at most {MAX_RUN_FIELD_LENGTH}"
        )
    return RunStamp(values[0], values[1])


def parse_batch(kind: EntityKind, payload: Any, max_items: int) -> tuple[Action, list[Any]]:
    """Check the envelope ``{"action", "<list key>": [...]}`` (optionally with ``datasourceId`` and
    ``syncRun``, see ``parse_run``); items are checked one by one later."""
    if not isinstance(payload, dict):
        raise InvalidInput(f'the body must be a JSON object {{"action", "{kind.list_key}"}}')
    unknown = sorted(set(payload) - {"action", kind.list_key, *RUN_FIELDS})
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(unknown)}")
    try:
        action = Action(str(payload.get("action")))
    except ValueError:
        raise InvalidInput(f"action must be one of {ACTIONS}") from None
    items = payload.get(kind.list_key)
    if not isinstance(items, list):
        raise InvalidInput(f"{kind.list_key} must be an array")
    if not items:
        raise InvalidInput(f"{kind.list_key} must contain at least one item")
    if len(items) > max_items:
        raise TooLarge(f"at most {max_items} {kind.list_key} per request; split the batch")
    return action, items


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _failure(action: Action, position: int, ids: dict[str, str], outcome: BulkOutcome) -> ItemFailure:
    status = outcome.status
    if status == 404:
        return ItemFailure(position, ids, 404, "not_found", "no such entity")
    if status == 409:
        if action is Action.CREATE:
            return ItemFailure(position, ids, 409, "conflict", "the entity already exists")
        return ItemFailure(position, ids, 409, "conflict", "the entity was modified concurrently; retry")
    if status == 429:
        return ItemFailure(
            position, ids, 429, "too_many_requests", "Elasticsearch is overloaded; retry later"
        )
    reason = outcome.reason or outcome.error_type or "rejected by Elasticsearch"
    if 400 <= status < 500:
        return ItemFailure(position, ids, 400, "rejected", reason)
    if outcome.error_type == "unavailable_shards_exception":
        reason = "too few active copies of its shard to write it in time"
    return ItemFailure(position, ids, 503, "unavailable", f"{reason}; retry")


class Ingestor:
    """Writes batches of one entity kind for one tenant; shared by the API and the loaders."""

    def __init__(
        self,
        es: AsyncElasticsearch,
        tenant_name: str,
        *,
        policy: BulkPolicy | None = None,
        context_id: str = "ingest",
    ) -> None:
        self.es = es
        self.tenant_name = tenant_name
        self.policy = policy or BulkPolicy()
        self.context_id = context_id

    def operation(
        self,
        kind: EntityKind,
        action: Action,
        ids: dict[str, str],
        item: Mapping[str, Any],
        now: str,
        run: RunStamp | None = None,
        expect: dict[str, Any] | None = None,
    ) -> BulkOp:
        """The bulk operation of one item; ``expect``: only if the entity is still at this version."""
        meta: dict[str, Any] = {"_index": kind.index(self.tenant_name), "_id": entity_id(kind, ids)}
        meta.update(expect or {})
        if action is Action.DELETE:
            return BulkOp(orjson.dumps({"delete": meta}))
        if action is Action.CREATE:
            document = {**item, "metadata": self._metadata(kind, ids, now, run)}
            return BulkOp(orjson.dumps({"create": meta}), orjson.dumps(document))
        if expect is None:
            meta["retry_on_conflict"] = 3
        changed = {"updated": now, **(run.metadata(created=False) if run else {})}
        body: dict[str, Any] = {"doc": {**item, "metadata": changed}}
        if action is Action.UPSERT:
            body["upsert"] = {**item, "metadata": self._metadata(kind, ids, now, run)}
        return BulkOp(orjson.dumps({"update": meta}), orjson.dumps(body))

    def _metadata(
        self, kind: EntityKind, ids: dict[str, str], now: str, run: RunStamp | None
    ) -> dict[str, str]:
        metadata = entity_metadata(kind, primary_key(kind, ids), self.tenant_name, self.context_id, now)
        return {**metadata, **run.metadata(created=True)} if run else metadata

    def _guarded(
        self,
        owners: OwnershipCheck,
        kind: EntityKind,
        action: Action,
        ids: dict[str, str],
        item: Any,
        now: str,
        run: RunStamp | None,
    ) -> BulkOp:
        """The operation, applied only to the entity as it was read: a new one is created, never merged."""
        existing = owners.existing(kind, ids)
        if existing is None:  # an upsert of a new entity (create is create; update and delete were refused)
            return self.operation(kind, Action.CREATE, ids, item, now, run)
        if action is Action.CREATE:  # fails as a conflict, as it does for every key
            return self.operation(kind, action, ids, item, now, run)
        # Elasticsearch takes no version condition on an upsert: an existing entity's upsert is its update.
        merge = Action.UPDATE if action is Action.UPSERT else action
        return self.operation(kind, merge, ids, item, now, run, condition(existing))

    async def ingest(
        self,
        kind: EntityKind,
        action: Action,
        items: Sequence[Any],
        run: RunStamp | None = None,
        datasources: Sequence[str] | None = None,
    ) -> IngestReport:
        """Write what is valid, stamped with ``run`` when given; report every item not written, in order.

        ``datasources``: the caller's key is limited to them, so only their entities are written
        (``gateway.ingest.ownership``; the others are reported 403). Each write is then conditional on the
        entity's version as read, so an entity named twice is written in two rounds, each read afresh.
        """
        now = utc_now()
        report = IngestReport(received=len(items))
        valid: list[tuple[int, dict[str, str], Any]] = []
        for position, item in enumerate(items):
            try:
                valid.append((position, item_ids(kind, item), item))
            except InvalidItem as exc:
                report.failures.append(ItemFailure(position, None, 400, "invalid_item", str(exc)))
        for batch in [valid] if datasources is None else rounds(kind, valid):
            await self._write(kind, action, batch, now, run, datasources, report)
        report.failures.sort(key=lambda f: f.item)
        return report

    async def _write(
        self,
        kind: EntityKind,
        action: Action,
        valid: list[tuple[int, dict[str, str], Any]],
        now: str,
        run: RunStamp | None,
        datasources: Sequence[str] | None,
        report: IngestReport,
    ) -> None:
        owners = None
        if datasources is not None:
            batch = [ids for _, ids, _ in valid]
            owners = await OwnershipCheck.read(self.es, self.tenant_name, kind, batch, datasources)
        ops: list[BulkOp] = []
        sent: list[tuple[int, dict[str, str]]] = []
        for position, ids, item in valid:
            if owners is None:
                ops.append(self.operation(kind, action, ids, item, now, run))
            else:
                needs_existing = action in (Action.UPDATE, Action.DELETE)
                deleting = action == Action.DELETE
                if refused := owners.refusal(kind, ids, needs_existing=needs_existing, deleting=deleting):
                    failure = ItemFailure(position, ids, refused.status, refused.code, refused.reason)
                    report.failures.append(failure)
                    continue
                ops.append(self._guarded(owners, kind, action, ids, item, now, run))
            sent.append((position, ids))
        if ops:
            outcomes = await bulk_write(self.es, ops, self.policy)
            for (position, ids), outcome in zip(sent, outcomes, strict=True):
                if not outcome.ok:
                    report.failures.append(_failure(action, position, ids, outcome))
