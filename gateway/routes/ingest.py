"""``/api/ingest/*``: entity writes and the data-source and mapping reads ingestion jobs use (SPEC §4.4)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from gateway.catalog import (
    DatasourceFilter,
    MappingFilter,
    filters_from_query,
    find_datasources,
    find_mappings,
    parse_filter,
)
from gateway.deps import CallerDep, StateDep
from gateway.entities import ENTITY_KINDS, EntityKind
from gateway.ingest import Action, parse_batch
from gateway.routes.bodies import read_json

router = APIRouter(prefix="/api/ingest", tags=["ingest"])

READ_BODY_LIMIT = 64 * 1024


# --- entity writes --------------------------------------------------------------------------------------

REPORT_EXAMPLE = {
    "message": "1 of 2 items failed",
    "succeeded": 1,
    "failed": 1,
    "errors": [
        {
            "item": 1,
            "id": {"usr_id": "u2"},
            "status": 409,
            "code": "conflict",
            "reason": "the entity already exists",
        }
    ],
}


def _request_schema(kind: EntityKind) -> dict[str, Any]:
    item = {
        "type": "object",
        "required": list(kind.id_fields),
        "properties": {column: {"type": "string"} for column in kind.columns},
        "additionalProperties": True,
    }
    return {
        "type": "object",
        "required": ["action", kind.list_key],
        "additionalProperties": False,
        "properties": {
            "action": {"type": "string", "enum": [a.value for a in Action]},
            kind.list_key: {"type": "array", "minItems": 1, "items": item},
        },
    }


def _add_write_route(kind: EntityKind) -> None:
    async def ingest(request: Request, _: CallerDep, state: StateDep) -> Response:
        payload = await read_json(request, state.settings.ingest_max_body_bytes)
        action, items = parse_batch(kind, payload, state.settings.ingest_max_items)
        report = await state.ingestor.ingest(kind, action, items)
        outcomes = Counter(failure.code for failure in report.failures)
        outcomes["written"] = report.succeeded
        state.recorder.count_items(kind.name, action.value, outcomes)
        return JSONResponse(report.as_json(), status_code=207 if report.failures else 200)

    ingest.__name__ = f"ingest_{kind.name}"
    router.add_api_route(
        f"/{kind.name}",
        ingest,
        methods=["POST"],
        summary=f"Create, update, upsert or delete {kind.name}",
        description=(
            f"`action` applies to every item of `{kind.list_key}`. Required per item: "
            f"{', '.join(f'`{f}`' for f in kind.id_fields)}; other attributes are stored as given. "
            "`create` reports existing entities as conflicts, `update` and `delete` report missing ones; "
            '`upsert` merges into an existing entity or creates it. Answers `{"message": "ok"}` when '
            "every item was written, else 207 with one entry per failed item (valid items are written)."
        ),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _request_schema(kind)}},
            }
        },
        responses={
            200: {
                "description": "Every item written",
                "content": {"application/json": {"example": {"message": "ok"}}},
            },
            207: {
                "description": "Some items failed; each is listed",
                "content": {"application/json": {"example": REPORT_EXAMPLE}},
            },
            400: {"description": "Malformed body, unknown fields or action, empty batch"},
            401: {"description": "Invalid API key or tenant"},
            413: {"description": "Too many items or too large a body"},
            503: {"description": "Elasticsearch is unreachable"},
        },
    )


for _kind in ENTITY_KINDS.values():
    _add_write_route(_kind)


# --- data-source and mapping reads ------------------------------------------------------------------------

READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Unknown filter or invalid value"},
    401: {"description": "Invalid API key or tenant"},
    503: {"description": "Elasticsearch is unreachable"},
}


async def _raw_filters(request: Request) -> Any:
    if request.method == "GET":
        return filters_from_query(request.query_params.multi_items())
    return await read_json(request, READ_BODY_LIMIT, optional=True)


DATASOURCES_DOC: dict[str, Any] = {
    "summary": "Data-source documents (without metadata), filtered",
    "description": (
        "Filters: `datasourceId`, `name`, `isActive`, `connectionTypes` (csv, jdbc, generic), `entityTypes` "
        "(`identities` or a full entity-type path). GET takes query parameters, POST the same keys as JSON."
    ),
    "responses": READ_RESPONSES,
}
MAPPINGS_DOC: dict[str, Any] = {
    "summary": "Mapping documents (without metadata), filtered",
    "description": (
        "Filters: `mappingId`, `sourceEntity`, `targetEntity`, `sourceProperties`, `targetProperties`. "
        "GET takes query parameters, POST the same keys as JSON."
    ),
    "responses": READ_RESPONSES,
}


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


@router.get("/datasources", operation_id="list_datasources_get", **DATASOURCES_DOC)
@router.post(
    "/datasources",
    operation_id="list_datasources_post",
    openapi_extra=_body_schema(DatasourceFilter),
    **DATASOURCES_DOC,
)
async def datasources(request: Request, _: CallerDep, state: StateDep) -> list[dict[str, Any]]:
    filters = parse_filter(DatasourceFilter, await _raw_filters(request))
    return await find_datasources(state.es, state.settings.datasource_index, filters)


@router.get("/mappings", operation_id="list_mappings_get", **MAPPINGS_DOC)
@router.post(
    "/mappings", operation_id="list_mappings_post", openapi_extra=_body_schema(MappingFilter), **MAPPINGS_DOC
)
async def mappings(request: Request, _: CallerDep, state: StateDep) -> list[dict[str, Any]]:
    filters = parse_filter(MappingFilter, await _raw_filters(request))
    return await find_mappings(state.es, state.settings.mappings_index, filters)
