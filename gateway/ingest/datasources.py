"""A data source as a type: built once from its stored document (SPEC §5), found by its id.

Data-source documents live in Elasticsearch, where anyone with write access may have shaped them
differently; ``DataSource.from_document`` is the one place that reads one, and refuses a document whose
shape no reader could use with ``InvalidDataSource``. Values it does not check stay as the readers have
always taken them: a missing ``sync_type`` is a sync that writes, a data source is active only when
``isActive`` is ``true``, and what an entity type's definition holds (a file URI, a query) is checked by
the loader that reads it, so one bad definition stays that entity type's error. ``to_document`` is the
reverse conversion (without the ``metadata`` block, which the writer of the document adds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from elasticsearch import AsyncElasticsearch

from gateway.errors import NotFound
from gateway.ingest.writer import Action

SyncType = Literal["full", "incremental", "enrichment", "delete"]
ConnectionType = Literal["csv", "jdbc", "generic"]
SYNC_TYPES: frozenset[str] = frozenset(get_args(SyncType))
CONNECTION_TYPES: frozenset[str] = frozenset(get_args(ConnectionType))


class InvalidDataSource(ValueError):
    """A data-source document no reader can use (the message says which field and why)."""


@dataclass(frozen=True)
class EntityType:
    """One entry of ``entityTypes``: its path (``/autoid/system/datasources/<id>/identities``) and the
    definition found there (``{"uri": {"file": ...}}`` for files, ``{"query": ...}`` for jdbc)."""

    path: str
    definition: Mapping[str, Any]

    @property
    def name(self) -> str:
        """The entity the path names: its last segment (``identities``)."""
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class DataSource:
    id: str
    name: str | None = None
    sync_type: str | None = None
    icon: str | None = None
    active: bool = False
    entity_types: tuple[EntityType, ...] = ()
    connection_settings: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_document(cls, document: Any) -> DataSource:
        """The data source a stored document describes; InvalidDataSource when its shape is unusable."""
        if not isinstance(document, Mapping):
            raise InvalidDataSource("a data-source document must be a JSON object")
        ds_id = document.get("datasource_id")
        if not isinstance(ds_id, str) or not ds_id:
            raise InvalidDataSource("datasource_id must be a non-empty string")
        texts = {key: document.get(key) for key in ("name", "sync_type", "icon")}
        for key, value in texts.items():
            if value is not None and not isinstance(value, str):
                raise InvalidDataSource(f"{key} must be a string")
        entity_types = document.get("entityTypes") or {}
        if not isinstance(entity_types, Mapping):
            raise InvalidDataSource("entityTypes must be an object")
        for path, definition in entity_types.items():
            if not isinstance(definition, Mapping):
                raise InvalidDataSource(f"entityTypes: {path} must map to an object")
        settings = document.get("connectionSettings") or {}
        if not isinstance(settings, Mapping):
            raise InvalidDataSource("connectionSettings must be an object")
        return cls(
            id=ds_id,
            name=texts["name"],
            sync_type=texts["sync_type"],
            icon=texts["icon"],
            active=document.get("isActive") is True,
            entity_types=tuple(EntityType(str(p), dict(d)) for p, d in entity_types.items()),
            connection_settings=dict(settings),
        )

    def to_document(self) -> dict[str, Any]:
        """The document's own fields, in the original's key order (a text field it lacks stays absent)."""
        fields = {"datasource_id": self.id, "name": self.name, "sync_type": self.sync_type, "icon": self.icon}
        return {
            **{key: value for key, value in fields.items() if value is not None},
            "isActive": self.active,
            "entityTypes": {e.path: dict(e.definition) for e in self.entity_types},
            "connectionSettings": dict(self.connection_settings),
        }

    @property
    def label(self) -> str:
        """How messages name the data source: its name, or its id when it has none."""
        return self.name or self.id

    @property
    def action(self) -> Action:
        """What the data source's rows mean: a ``delete`` sync removes them, every other sync writes them."""
        return Action.DELETE if self.sync_type == "delete" else Action.UPSERT

    @property
    def full(self) -> bool:
        """A full sync: what left the source is deleted at the end of a run."""
        return self.sync_type == "full"

    @property
    def connection_types(self) -> frozenset[str]:
        return frozenset(self.connection_settings)

    @property
    def entity_names(self) -> frozenset[str]:
        return frozenset(e.name for e in self.entity_types)

    def entity_type(self, name: str) -> EntityType | None:
        """The definition of entity ``name`` (of two paths naming the same entity, the later one)."""
        found = [e for e in self.entity_types if e.name == name]
        return found[-1] if found else None


def by_id(datasource_id: str) -> dict[str, Any]:
    """The query that finds a data source's document by its id (exact, on the keyword sub-field)."""
    return {"term": {"datasource_id.keyword": datasource_id}}


def first_hit(datasource_id: str, hits: Sequence[Mapping[str, Any]]) -> DataSource:
    """The data source in the hits of a ``by_id`` search; NotFound when there is none."""
    if not hits:
        raise NotFound(f"no data source with id {datasource_id}")
    return DataSource.from_document(hits[0].get("_source"))


async def find_datasource(es: AsyncElasticsearch, index: str, datasource_id: str) -> DataSource:
    """Look a data source up by id in its index; NotFound, or InvalidDataSource for a bad document."""
    found = await es.search(index=index, query=by_id(datasource_id), size=1)
    return first_hit(datasource_id, found["hits"]["hits"])
