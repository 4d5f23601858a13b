"""Which data source an entity belongs to, for the writes of a key limited to data sources.

An entity belongs to the data source its last sync run stamped in ``metadata.datasourceId``
(``gateway.ingest.writer``). A key limited to data sources writes only within runs of its data sources, and
even there only entities that are new or already theirs: an entity of another data source, or of none
(written outside any run), is refused item by item, whatever the action: an update or delete answers the
same 404 as for a missing entity, so it cannot tell whether another data source holds an id; a create or
upsert answers 403 (409 for a create of an existing id): ids are one space shared by every data source,
so these do tell that the id is taken. An assignment must name an entitlement and an identity of the key's
data sources (``ent_id``, ``usr_id``): a missing one or another's gets the same 403 — giving someone
another data source's entitlement is writing that data source's facts. (A key limited to both data
sources may.)

The entities are read (real-time ``mget``) before the write, and the write is conditional on what was read:
an update, upsert or delete of an existing entity carries its ``if_seq_no`` and ``if_primary_term``, and an
upsert of an entity that did not exist is sent as a ``create``. An entity another writer changed in between
fails with 409 (send it again), never lands on another data source's entity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from elasticsearch import AsyncElasticsearch

from gateway.errors import ElasticsearchUnavailable
from gateway.ingest.entities import ASSIGNMENTS, ENTITLEMENTS, IDENTITIES, EntityKind, entity_id

# What an assignment refers to: its field and the entity it names.
REFERENCES: dict[str, tuple[tuple[str, EntityKind], ...]] = {
    ASSIGNMENTS.name: (("ent_id", ENTITLEMENTS), ("usr_id", IDENTITIES)),
}


@dataclass(frozen=True)
class Stored:
    """An existing entity: the data source that wrote it last (None: written outside a sync run) and
    the version it was read at."""

    datasource: str | None
    seq_no: int
    primary_term: int


@dataclass(frozen=True)
class Refused:
    status: int
    code: str
    reason: str


NOT_OURS = Refused(403, "forbidden", "the entity belongs to a data source this key may not write")
NOT_FOUND = Refused(404, "not_found", "no such entity")


async def read_stored(es: AsyncElasticsearch, index: str, ids: Iterable[str]) -> dict[str, Stored]:
    """The entities among ``ids`` that exist, by document id (a missing index holds none)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    found = await es.mget(index=index, ids=wanted, source_includes=["metadata.datasourceId"])
    stored: dict[str, Stored] = {}
    for doc in found["docs"]:
        error = doc.get("error")
        if error is not None:
            if isinstance(error, dict) and error.get("type") == "index_not_found_exception":
                continue
            raise ElasticsearchUnavailable("could not read the entities to write; send the batch again")
        if doc.get("found"):
            source = doc.get("_source") or {}
            owner = (source.get("metadata") or {}).get("datasourceId")
            owner = owner if isinstance(owner, str) else None
            stored[doc["_id"]] = Stored(owner, int(doc["_seq_no"]), int(doc["_primary_term"]))
    return stored


class OwnershipCheck:
    """The entities a batch of a limited key names, read once; ``refusal`` decides item by item."""

    def __init__(
        self,
        datasources: Sequence[str],
        stored: Mapping[str, Stored],
        referred: Mapping[str, Mapping[str, Stored]],
    ) -> None:
        self.datasources = frozenset(datasources)
        self.stored = stored
        self.referred = referred  # by referring field: the referred entities that exist

    @classmethod
    async def read(
        cls,
        es: AsyncElasticsearch,
        tenant_name: str,
        kind: EntityKind,
        batch: Sequence[Mapping[str, str]],
        datasources: Sequence[str],
    ) -> OwnershipCheck:
        stored = await read_stored(es, kind.index(tenant_name), (entity_id(kind, ids) for ids in batch))
        referred: dict[str, dict[str, Stored]] = {}
        for field, target in REFERENCES.get(kind.name, ()):
            targets = (entity_id(target, {target.id_fields[0]: ids[field]}) for ids in batch)
            referred[field] = await read_stored(es, target.index(tenant_name), targets)
        return cls(datasources, stored, referred)

    def existing(self, kind: EntityKind, ids: Mapping[str, str]) -> Stored | None:
        return self.stored.get(entity_id(kind, ids))

    def refusal(
        self, kind: EntityKind, ids: Mapping[str, str], *, needs_existing: bool, deleting: bool = False
    ) -> Refused | None:
        """Why this item may not be written (None: it may). A delete grants nothing: only the entity's own
        data source counts, not what it refers to."""
        for field, target in () if deleting else REFERENCES.get(kind.name, ()):
            other = self.referred[field].get(entity_id(target, {target.id_fields[0]: ids[field]}))
            # Missing, another data source's or of none: one answer, so that it tells nothing of the others.
            if other is None or other.datasource not in self.datasources:
                return Refused(
                    403,
                    "forbidden",
                    f"{field} names no {target.name[:-1]} of the data sources this key may write",
                )
        existing = self.existing(kind, ids)
        if existing is not None and existing.datasource in self.datasources:
            return None
        if needs_existing:  # missing or not ours: the same 404, so an update or delete cannot probe ids
            return NOT_FOUND
        return None if existing is None else NOT_OURS


Valid = tuple[int, dict[str, str], Any]  # an item's position, its ids and the item


def rounds(kind: EntityKind, valid: Sequence[Valid]) -> list[list[Valid]]:
    """The items in rounds that each name an entity once (its n-th mention goes in round n), in order."""
    split: list[list[Valid]] = []
    seen: dict[str, int] = {}
    for entry in valid:
        key = entity_id(kind, entry[1])
        round_ = seen.get(key, 0)
        seen[key] = round_ + 1
        if round_ == len(split):
            split.append([])
        split[round_].append(entry)
    return split or [[]]


def condition(existing: Stored) -> dict[str, Any]:
    """What a bulk operation carries to apply only to the version that was read."""
    return {"if_seq_no": existing.seq_no, "if_primary_term": existing.primary_term}
