"""Filtered reads of data-source and mapping documents for ingestion jobs (SPEC §4.4).

Both endpoints accept the same filters as query parameters (GET: repeat a parameter, or separate ids and
types with commas) or as a JSON object (POST: a string or an array per filter). Matching is exact; a
document matches when it matches every filter given and any value within one filter. Documents come back
without their ``metadata`` block, ordered by id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, TypeVar

from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_scan
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
)

from gateway.errors import InvalidInput
from gateway.ingest.datasources import CONNECTION_TYPES, ConnectionType, DataSource, InvalidDataSource

MAX_VALUES = 100
# A data source's entity types are paths under this, followed by its id (SPEC §5).
DATASOURCE_PATH = "/autoid/system/datasources/"
F = TypeVar("F", bound=BaseModel)


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _one_or_many(item: dict[str, Any], max_items: int) -> WithJsonSchema:
    """The schema of a filter that takes one value or an array of them (``_listify`` makes the array)."""
    return WithJsonSchema(
        {"anyOf": [item, {"type": "array", "items": item, "minItems": 1, "maxItems": max_items}]}
    )


Value = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Values = Annotated[
    list[Value],
    BeforeValidator(_listify),
    Field(min_length=1, max_length=MAX_VALUES),
    _one_or_many({"type": "string", "minLength": 1, "maxLength": 1024}, MAX_VALUES),
]


class DatasourceFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    datasourceId: Values | None = None
    name: Values | None = None
    isActive: StrictBool | None = None
    connectionTypes: (
        Annotated[
            list[ConnectionType],
            BeforeValidator(_listify),
            Field(min_length=1, max_length=3),
            _one_or_many({"enum": sorted(CONNECTION_TYPES)}, 3),
        ]
        | None
    ) = None
    entityTypes: Values | None = Field(
        None, description="Entity names (`identities`) or full entity-type paths."
    )


class MappingFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mappingId: Values | None = None
    sourceEntity: Values | None = None
    targetEntity: Values | None = None
    sourceProperties: Values | None = None
    targetProperties: Values | None = None


# Query-string filters that may list several values separated by commas (names may contain commas).
COMMA_SEPARATED = frozenset(
    {"datasourceId", "connectionTypes", "entityTypes", "mappingId", "sourceProperties", "targetProperties"}
)


def filters_from_query(params: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Query parameters → the JSON-body form of the same filters."""
    values: dict[str, list[str]] = {}
    for key, value in params:
        parts = value.split(",") if key in COMMA_SEPARATED else [value]
        values.setdefault(key, []).extend(p.strip() for p in parts if p.strip())
    return {key: _flag(v) if key == "isActive" else v for key, v in values.items()}


def _flag(values: list[str]) -> Any:
    """``isActive`` as the JSON form has it: ``true`` or ``false`` (anything else stays, to be refused)."""
    if len(values) != 1:
        return values
    return {"true": True, "false": False}.get(values[0], values[0])


def parse_filter(model: type[F], raw: Any, what: str = "filters") -> F:
    """``raw`` (decoded JSON; null is an empty object) checked by ``model``; ``what`` names it in errors."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"{what} must be a JSON object")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        details = [
            {"location": [str(p) for p in e["loc"]], "message": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise InvalidInput(f"invalid {what}", details=details) from None


async def _scan(es: AsyncElasticsearch, index: str, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = {"query": {"bool": {"filter": filters}}}
    return [hit["_source"] async for hit in async_scan(es, index=index, query=body, size=500)]


def _without_metadata(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "metadata"}


def _declares(document: Mapping[str, Any], f: DatasourceFilter) -> bool:
    """Whether the document declares one of the filter's connection types and one of its entity types
    (by name or full path). Those are object keys, which the index does not make searchable; a document
    that is not a usable data source declares nothing."""
    try:
        source = DataSource.from_document(document)
    except InvalidDataSource:
        return False
    if f.connectionTypes and not source.connection_types & set(f.connectionTypes):
        return False
    paths = {e.path for e in source.entity_types}
    return not f.entityTypes or bool((paths | source.entity_names) & set(f.entityTypes))


async def find_datasources(
    es: AsyncElasticsearch, index: str, f: DatasourceFilter, only: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The data-source documents matching ``f``; with ``only`` (a key's data sources), only theirs."""
    filters: list[dict[str, Any]] = []
    if only is not None:
        filters.append({"terms": {"datasource_id.keyword": list(only)}})
    if f.datasourceId:
        filters.append({"terms": {"datasource_id.keyword": f.datasourceId}})
    if f.name:
        filters.append({"terms": {"name.keyword": f.name}})
    if f.isActive is not None:
        filters.append({"term": {"isActive": f.isActive}})
    documents = await _scan(es, index, filters)
    if f.connectionTypes or f.entityTypes:
        documents = [d for d in documents if _declares(d, f)]
    documents.sort(key=lambda d: str(d.get("datasource_id", "")))
    return [_without_metadata(d) for d in documents]


def of_datasources(datasources: Sequence[str]) -> dict[str, Any]:
    """Mappings whose source entity is an entity type of one of these data sources."""
    prefixes = [f"{DATASOURCE_PATH}{ds}/" for ds in datasources]
    return {
        "bool": {
            "should": [{"prefix": {"source_entity.keyword": prefix}} for prefix in prefixes],
            "minimum_should_match": 1,
        }
    }


async def find_mappings(
    es: AsyncElasticsearch, index: str, f: MappingFilter, only: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The mapping documents matching ``f``; with ``only`` (a key's data sources), only those whose
    source entity is one of theirs."""
    fields = {
        "mapping_id.keyword": f.mappingId,
        "source_entity.keyword": f.sourceEntity,
        "target_entity.keyword": f.targetEntity,
        "properties.source.keyword": f.sourceProperties,
        "properties.target.keyword": f.targetProperties,
    }
    filters = [{"terms": {name: values}} for name, values in fields.items() if values]
    if only is not None:
        filters.append(of_datasources(only))
    documents = await _scan(es, index, filters)
    documents.sort(key=lambda d: str(d.get("mapping_id", "")))
    return [_without_metadata(d) for d in documents]
