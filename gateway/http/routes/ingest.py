"""``/api/ingest/*``: entity writes and the data-source and mapping reads ingestion jobs use (SPEC §4.4)."""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway.auth.callers import Caller
from gateway.http.bodies import SMALL_BODY_BYTES, read_json
from gateway.http.deps import CallerDep, RecorderDep, ServicesDep
from gateway.http.observability import RequestRecorder
from gateway.http.openapi import CALLER_ERRORS, CALLER_SECURITY, errors, request_body, secured, too_large
from gateway.http.routes.sync import require_datasource
from gateway.http.scopes import require_delete
from gateway.ingest import entities
from gateway.ingest.catalog import (
    COMMA_SEPARATED,
    DatasourceFilter,
    MappingFilter,
    filters_from_query,
    find_datasources,
    find_mappings,
    parse_filter,
)
from gateway.ingest.entities import APPLICATIONS, ASSIGNMENTS, ENTITLEMENTS, IDENTITIES, EntityKind
from gateway.ingest.writer import MAX_RUN_FIELD_LENGTH, RUN_FIELDS, Action, parse_batch, parse_run
from gateway.services import Services

router = APIRouter(prefix="/api/ingest", tags=["ingest"])
# JSON values a write may decode to, per item it may carry: a body of tiny values ([{},{},...]) costs ~30
# times its size once decoded, so it is refused (413) before, and the memory a body costs stays near its size.
JSON_VALUES_PER_ITEM = 100


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


class IngestOk(BaseModel):
    message: Literal["ok"]


class FailedItem(BaseModel):
    item: int = Field(description="Position of the item in the batch, from 0.")
    id: dict[str, str] | None = Field(None, description="The item's id fields, when they were valid.")
    status: int = Field(
        description="503 and 429: not written now, send this item again with back-off; "
        "400, 403 (another data source's entity, for a key limited to data sources), 404 and 409: final."
    )
    code: str = Field(
        description="`unavailable` (503), `too_many_requests` (429), `invalid_item` or `rejected` (400), "
        "`forbidden` (403), `not_found` (404), `conflict` (409)."
    )
    reason: str


class IngestReport(BaseModel):
    message: str
    succeeded: int
    failed: int
    errors: list[FailedItem]


DURABILITY = (
    "**Durability.** An item is written (`ok`, or absent from `errors`) only when Elasticsearch "
    "acknowledged it on the configured number of shard copies (`GATEWAY_INGEST_WAIT_FOR_ACTIVE_SHARDS`, "
    "default 1): applied on the primary and every in-sync replica, and fsynced to their translogs. An item "
    "answered 503 `unavailable` was not acknowledged (it may or may not have been applied): send it again "
    "with back-off, as for 429. A 503 for the whole request means the same for every item: repeat the "
    "batch after `Retry-After`. `upsert`, `update` and `delete` are safe to repeat; a repeated `create` "
    "answers 409 (and a repeated `delete` 404) when the earlier attempt landed. 400, 404 and 409 are final."
)


RUN_FIELD_TEXTS = (
    "With `syncRun`: the data source a sync run reads (see `/api/ingest/sync/{datasourceId}/start`).",
    "With `datasourceId`: the `runId` of that run, which must hold the data source's lease (else 409). "
    "Every entity written records both in `metadata.datasourceId` and `metadata.syncRun`.",
)


def _request_schema(kind: EntityKind) -> dict[str, Any]:
    item = {
        "type": "object",
        "required": list(kind.id_fields),
        "properties": {column: {"type": "string"} for column in kind.columns},
        "additionalProperties": True,
    }
    run_field = {"type": "string", "pattern": r"\S", "maxLength": MAX_RUN_FIELD_LENGTH}
    return {
        "type": "object",
        "required": ["action", kind.list_key],
        "additionalProperties": False,
        "properties": {
            "action": {"type": "string", "enum": [a.value for a in Action]},
            kind.list_key: {
                "type": "array",
                "minItems": 1,
                # Items are checked one by one: one that is not like this is reported in the 207 answer.
                "items": {"anyOf": [item, {"description": "Anything else: reported as a failed item"}]},
            },
            **{
                name: {**run_field, "description": text}
                for name, text in zip(RUN_FIELDS, RUN_FIELD_TEXTS, strict=True)
            },
        },
        "dependentRequired": {name: [other for other in RUN_FIELDS if other != name] for name in RUN_FIELDS},
    }


def _write_route(kind: EntityKind) -> dict[str, Any]:  # the OpenAPI text of POST /api/ingest/<kind>
    return {
        "summary": f"Create, update, upsert or delete {kind.name}",
        "description": (
            f"`action` applies to every item of `{kind.list_key}`. Required per item: "
            f"{', '.join(f'`{f}`' for f in kind.id_fields)}; other attributes are kept and returned, not "
            f"indexed. Field names, at every depth: {entities.FIELD_NAME_RULE} (else `invalid_item`). "
            "`create` reports existing entities as conflicts, `update` and `delete` report missing ones; "
            '`upsert` merges into an existing entity or creates it. Answers `{"message": "ok"}` when '
            "every item was written, else 207 with one entry per failed item (valid items are written).\n\n"
            + DURABILITY
        ),
        "openapi_extra": {**secured(CALLER_SECURITY), **request_body(_request_schema(kind))},
        "responses": {
            200: {
                "model": IngestOk,
                "description": "Every item written on the configured number of shard copies",
                "content": {"application/json": {"example": {"message": "ok"}}},
            },
            207: {
                "model": IngestReport,
                "description": "Some items failed; each is listed (resend those answered 503 or 429)",
                "content": {"application/json": {"example": REPORT_EXAMPLE}},
            },
            **errors(
                400,
                401,
                403,
                409,
                413,
                503,
                described={
                    **CALLER_ERRORS,
                    400: "Malformed body, unknown fields or action, empty batch",
                    403: f"{CALLER_ERRORS[403]}; or a key limited to data sources writing outside their runs",
                    409: "`syncRun` does not hold the data source's lease (ended, expired or taken over)",
                    413: "Too many items, too large a body, or too many JSON values in it",
                    503: "Elasticsearch unreachable or timed out: no item acknowledged; repeat the whole "
                    "batch after Retry-After",
                },
            ),
        },
    }


async def _ingest(
    kind: EntityKind, request: Request, caller: Caller, services: Services, recorder: RequestRecorder
) -> Response:
    limit, max_items = services.settings.ingest_max_body_bytes, services.settings.ingest_max_items
    payload = await read_json(request, limit, max_values=max_items * JSON_VALUES_PER_ITEM)
    action, items = parse_batch(kind, payload, max_items)
    if action is Action.DELETE:  # before anything is written or checked
        require_delete(caller, "the ingest delete action")
    run = parse_run(payload)
    if caller.datasources is not None:  # a limited key writes only within runs of its data sources
        require_datasource(caller, run.datasource_id if run else None)
    if run is not None:
        await services.sync.check_write(run)
    report = await services.ingestor.ingest(kind, action, items, run, caller.datasources)
    outcomes = Counter(failure.code for failure in report.failures)
    outcomes["written"] = report.succeeded
    recorder.count_items(kind.name, action.value, outcomes)
    return JSONResponse(report.as_json(), status_code=207 if report.failures else 200)


def _add_write_route(kind: EntityKind) -> None:
    async def endpoint(
        request: Request, caller: CallerDep, services: ServicesDep, recorder: RecorderDep
    ) -> Response:
        return await _ingest(kind, request, caller, services, recorder)

    router.post(f"/{kind.name}", name=f"ingest_{kind.name}", **_write_route(kind))(endpoint)


for _kind in (APPLICATIONS, ENTITLEMENTS, IDENTITIES, ASSIGNMENTS):
    _add_write_route(_kind)


# --- data-source and mapping reads ------------------------------------------------------------------------

READ_ERRORS = {**CALLER_ERRORS, 400: "Unknown filter or invalid value"}
READ_RESPONSES = errors(400, 401, 403, 503, described=READ_ERRORS)
READ_BODY_RESPONSES = errors(
    400, 401, 403, 413, 503, described={**READ_ERRORS, 413: too_large(SMALL_BODY_BYTES)}
)


async def _raw_filters(request: Request) -> Any:
    if request.method == "GET":
        return filters_from_query(request.query_params.multi_items())
    return await read_json(request, SMALL_BODY_BYTES, optional=True)


def _query_parameters(model: type[BaseModel]) -> dict[str, Any]:
    """The filters as query parameters: each repeatable (the POST body's arrays), ``isActive`` a boolean."""
    parameters = []
    for name, schema in model.model_json_schema()["properties"].items():
        # Optional filters come out as anyOf [<the filter>, null]; a query parameter is absent instead.
        value = next(s for s in schema.get("anyOf", [schema]) if s.get("type") != "null")
        # A filter taking one value or several is repeated; blanks (and commas, where they separate) are
        # dropped, so each value needs something else.
        value = next((s for s in value.get("anyOf", ()) if s.get("type") == "array"), value)
        if value.get("items", {}).get("type") == "string":
            meaningful = r"[^,\s]" if name in COMMA_SEPARATED else r"\S"
            value = {**value, "items": {**value["items"], "pattern": meaningful}}
        parameters.append({"name": name, "in": "query", "required": False, "schema": value})
    return {**secured(CALLER_SECURITY), "parameters": parameters}


DATASOURCES_DOC: dict[str, Any] = {
    "summary": "Data-source documents (without metadata), filtered",
    "description": (
        "Filters: `datasourceId`, `name`, `isActive`, `connectionTypes` (csv, jdbc, generic), `entityTypes` "
        "(`identities` or a full entity-type path). GET takes query parameters, POST the same keys as JSON."
    ),
}
MAPPINGS_DOC: dict[str, Any] = {
    "summary": "Mapping documents (without metadata), filtered",
    "description": (
        "Filters: `mappingId`, `sourceEntity`, `targetEntity`, `sourceProperties`, `targetProperties`. "
        "GET takes query parameters, POST the same keys as JSON."
    ),
}


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    return {**secured(CALLER_SECURITY), **request_body(model, required=False)}


@router.get(
    "/datasources",
    operation_id="list_datasources_get",
    openapi_extra=_query_parameters(DatasourceFilter),
    responses=READ_RESPONSES,
    **DATASOURCES_DOC,
)
@router.post(
    "/datasources",
    operation_id="list_datasources_post",
    openapi_extra=_body_schema(DatasourceFilter),
    responses=READ_BODY_RESPONSES,
    **DATASOURCES_DOC,
)
async def datasources(request: Request, caller: CallerDep, services: ServicesDep) -> list[dict[str, Any]]:
    filters = parse_filter(DatasourceFilter, await _raw_filters(request))
    index = services.settings.datasource_index
    return await find_datasources(services.es, index, filters, caller.datasources)


@router.get(
    "/mappings",
    operation_id="list_mappings_get",
    openapi_extra=_query_parameters(MappingFilter),
    responses=READ_RESPONSES,
    **MAPPINGS_DOC,
)
@router.post(
    "/mappings",
    operation_id="list_mappings_post",
    openapi_extra=_body_schema(MappingFilter),
    responses=READ_BODY_RESPONSES,
    **MAPPINGS_DOC,
)
async def mappings(request: Request, caller: CallerDep, services: ServicesDep) -> list[dict[str, Any]]:
    filters = parse_filter(MappingFilter, await _raw_filters(request))
    index = services.settings.mappings_index
    return await find_mappings(services.es, index, filters, caller.datasources)
