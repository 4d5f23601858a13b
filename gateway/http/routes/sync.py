"""``/api/ingest/sync/{datasourceId}/*``: the sync runs of a data source (lease, counts, full-sync deletes).

A job starts a run (``start``: the data source's lease and a ``runId``), writes its rows through
``/api/ingest/<entity>`` with ``datasourceId`` and ``syncRun`` in the envelope, renews the lease while it
runs, then ends the run with ``finish`` (counts; for a full sync, the deletes) or ``abort`` (nothing
deleted). ``check`` answers a dry run: which entities a full sync that read a given set of keys would
delete. The bounds are in ``gateway.ingest.sync`` and docs/security.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from gateway.auth.callers import Caller
from gateway.auth.scopes import Scope
from gateway.http.bodies import SMALL_BODY_BYTES, read_json, read_model, validate_body
from gateway.http.deps import CallerDep, ServicesDep
from gateway.http.openapi import CALLER_ERRORS, CALLER_SECURITY, errors, request_body, secured, too_large
from gateway.http.scopes import require_delete
from gateway.ids import DATASOURCE_ID
from gateway.ingest.entities import ENTITY_KINDS

router = APIRouter(prefix="/api/ingest/sync", tags=["sync"])

Id = Annotated[str, Field(min_length=1, max_length=512)]
EntityName = Literal["applications", "entitlements", "identities", "assignments"]
DatasourceId = Annotated[
    str,
    Path(
        alias="datasourceId",
        min_length=1,
        max_length=DATASOURCE_ID.max_bytes,
        pattern=DATASOURCE_ID.anchored,
        description=DATASOURCE_ID.rule,
    ),
]


Mode = Literal["full", "incremental"]


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Mode = Field(
        "incremental",
        description="How the run will end: `full` needs the `delete` scope, so a key without it is "
        "refused here (403), before the job reads anything.",
    )


class RunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    runId: Id


class FinishBody(RunBody):
    mode: Mode = Field(
        description="`full` deletes what left the source (of the `complete` types); "
        "`incremental` never deletes."
    )
    complete: list[EntityName] = Field(
        default_factory=list,
        max_length=4,
        description="Entity types whose every row the run read and wrote (full mode only deletes these).",
    )
    force: StrictBool = Field(False, description="Delete even beyond GATEWAY_SYNC_MAX_DELETE_SHARE.")


class AbortBody(RunBody):
    reason: str = Field(max_length=2000, description="Why the run stops; logged.")


MAX_CHECK_KEYS = 10_000


class CheckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity: EntityName
    after: Id | None = Field(
        None, description="Exclusive lower bound of the key range (none: from the start)."
    )
    through: Id | None = Field(None, description="Inclusive upper bound of the key range (none: to the end).")
    keys: list[Annotated[str, Field(max_length=1024)]] = Field(
        max_length=MAX_CHECK_KEYS, description="The primary keys the source holds in that range."
    )


class LeaseOut(BaseModel):
    runId: str
    started: str
    expires: str


class StartOut(LeaseOut):
    scopes: list[Scope] = Field(description="The scopes of the caller's key: what this run may do.")


class Counts(BaseModel):
    created: int
    updated: int
    deleted: int


class FinishOut(BaseModel):
    runId: str
    mode: Mode
    entities: dict[str, Counts]


class AbortOut(BaseModel):
    runId: str
    message: str


class CheckOut(BaseModel):
    count: int = Field(description="How many entities of the range a full sync would delete.")
    keys: list[str] = Field(description="The first (at most 100) of their primary keys, in key order.")


def _doc(
    summary: str,
    description: str,
    body: type[BaseModel] | None = None,
    *,
    conflict: str | None = None,
    body_limit: str = too_large(SMALL_BODY_BYTES),
    required: bool = True,
) -> dict[str, Any]:
    """The route's OpenAPI entries; ``conflict`` describes its 409, ``body_limit`` its 413."""
    texts = {**CALLER_ERRORS, 400: "Malformed body or data-source id", 404: "No such data source"}
    statuses = [400, 401, 403, 404]
    if conflict is not None:
        statuses.append(409)
        texts[409] = conflict
    extra: dict[str, Any] = secured(CALLER_SECURITY)
    if body is not None:
        extra.update(request_body(body, required=required))
        statuses.append(413)
        texts[413] = body_limit
    return {
        "summary": summary,
        "description": description,
        "openapi_extra": extra,
        "responses": errors(*statuses, 503, described=texts),
    }


def _holder(caller: Caller) -> str:
    return f"{caller.kind}:{caller.name}"


NOT_HOLDER = "The run does not hold the data source's lease (ended, expired or taken over)"


@router.post(
    "/{datasourceId}/start",
    **_doc(
        "Start a sync run of a data source",
        "Takes the data source's lease for `GATEWAY_SYNC_LEASE_SECONDS` and answers the new run's `runId` "
        "and the key's `scopes`; the body (optional) says how the run will end. Writes that carry "
        "`datasourceId` and this `syncRun` are accepted while the run holds the lease. "
        "409 while another run of the data source holds a live lease (a lease that expired "
        "is taken over), or when the data source is not active.",
        StartBody,
        conflict="Another run of the data source is in progress, or the data source is not active",
        required=False,
    ),
)
async def start(
    datasource_id: DatasourceId, request: Request, caller: CallerDep, services: ServicesDep
) -> StartOut:
    raw = await read_json(request, SMALL_BODY_BYTES, optional=True)
    if validate_body(StartBody, {} if raw is None else raw).mode == "full":
        require_delete(caller, "a full sync run (its finish deletes what left the source)")
    lease = await services.sync.start(datasource_id, _holder(caller))
    return StartOut(**lease.as_json(), scopes=list(caller.scopes))


@router.post(
    "/{datasourceId}/renew",
    **_doc(
        "Renew a sync run's lease",
        "Extends the lease of a live run to `GATEWAY_SYNC_LEASE_SECONDS` from now.",
        RunBody,
        conflict=NOT_HOLDER,
    ),
)
async def renew(
    datasource_id: DatasourceId, request: Request, caller: CallerDep, services: ServicesDep
) -> LeaseOut:
    body = await read_model(request, RunBody)
    lease = await services.sync.renew(datasource_id, body.runId, _holder(caller))
    return LeaseOut(**lease.as_json())


@router.post(
    "/{datasourceId}/finish",
    **_doc(
        "End a sync run: counts and, for a full sync, delete what left the source",
        "Counts per entity type what the run created and updated. With `mode` `full`, for each type in "
        "`complete` it first deletes the entities stamped with this data source but not with this run, "
        "and with a deleted identity or entitlement the same data source's assignments that refer to it. "
        "Only while the run holds the lease, only for an active data source with `sync_type` `full` and "
        "its own entity types, and never more than `GATEWAY_SYNC_MAX_DELETE_SHARE` of a type unless "
        "`force`. The lease is released in every case; a refused finish (409) deletes nothing.",
        FinishBody,
        conflict=NOT_HOLDER + "; or not an active full sync; or more to delete than the configured share",
    ),
)
async def finish(
    datasource_id: DatasourceId, request: Request, caller: CallerDep, services: ServicesDep
) -> FinishOut:
    body = await read_model(request, FinishBody)
    if body.mode == "full":
        require_delete(caller, "finishing a full sync run (its deletes)")
    counts = await services.sync.finish(
        datasource_id,
        body.runId,
        full=body.mode == "full",
        complete=body.complete,
        force=body.force,
        holder=_holder(caller),
    )
    entities = {name: Counts(**c.as_json()) for name, c in counts.items()}
    deleted = {name: c.deleted for name, c in counts.items()}
    run = {"datasourceId": datasource_id, "runId": body.runId, "mode": body.mode, "force": body.force}
    await services.audit.sync_finished(
        caller.name, caller.address, caller.record, {**run, "deleted": deleted}
    )
    return FinishOut(runId=body.runId, mode=body.mode, entities=entities)


@router.post(
    "/{datasourceId}/abort",
    **_doc(
        "Abort a sync run: release the lease, delete nothing",
        "Ends the run without deleting anything; the reason is logged.",
        AbortBody,
        conflict=NOT_HOLDER,
    ),
)
async def abort(
    datasource_id: DatasourceId, request: Request, _: CallerDep, services: ServicesDep
) -> AbortOut:
    body = await read_model(request, AbortBody)
    await services.sync.abort(datasource_id, body.runId, body.reason)
    return AbortOut(runId=body.runId, message="sync run aborted; nothing deleted")


@router.post(
    "/{datasourceId}/check",
    **_doc(
        "Dry run: what a full sync would delete in a key range",
        "For one entity type, the data source's entities whose primary key is in `(after, through]` and "
        "not in `keys`: their count and the first 100 keys. A job sends the sorted keys it read, range "
        "by range, so the ranges cover every key; nothing is written.",
        CheckBody,
        body_limit=(
            "Body larger than GATEWAY_INGEST_MAX_BODY_BYTES, or with more than 80,000 commas, colons "
            "and opening brackets"
        ),
    ),
)
async def check(
    datasource_id: DatasourceId, request: Request, _: CallerDep, services: ServicesDep
) -> CheckOut:
    limit = services.settings.ingest_max_body_bytes
    body = await read_model(request, CheckBody, limit, max_values=MAX_CHECK_KEYS * 8)  # commas in keys too
    kind = ENTITY_KINDS[body.entity]
    count, keys = await services.sync.unmatched(datasource_id, kind, body.after, body.through, body.keys)
    return CheckOut(count=count, keys=keys)
