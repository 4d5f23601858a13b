"""``GET /api/admin/audit``: the audit trail, newest first, filtered and paged (admin bearer token)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from gateway.audit.events import ACTIONS, Action
from gateway.audit.store import AuditQuery
from gateway.http.deps import AdminDep, ServicesDep
from gateway.http.openapi import errors
from gateway.http.routes.admin import ADMIN_ONLY, MAX_PAGE, date_time

router = APIRouter(
    prefix="/api/admin",
    tags=["audit"],
    responses=errors(400, 401, 403, 503, described={401: "Missing, invalid or expired admin token"}),
)
MAX_WINDOW = 10_000  # Elasticsearch's default max_result_window
TIME = {"format": "date-time"}


@router.get(
    "/audit",
    summary="Audit events, newest first: logins, key changes, sync finishes, refused key uses",
    description="Each event: `time`, `action` (" + ", ".join(ACTIONS) + "), `outcome`, `actor`, "
    "`address`, `keyId`, `keyName`, `details` and `count` (how many refused uses or throttled logins one "
    "event stands for, per key or client, reason and minute). Never a key, password or token.",
    openapi_extra=ADMIN_ONLY,
)
async def audit(
    _: AdminDep,
    services: ServicesDep,
    action: Annotated[Action | None, Query(description="Only events of this action")] = None,
    key_id: Annotated[
        str | None, Query(alias="keyId", max_length=64, description="Only events of the key with this id")
    ] = None,
    actor: Annotated[str | None, Query(max_length=256, description="Only events of this actor")] = None,
    since: Annotated[
        str | None,
        Query(
            alias="from",
            description="From this ISO-8601 date-time on (UTC unless given)",
            json_schema_extra=TIME,
        ),
    ] = None,
    until: Annotated[
        str | None,
        Query(
            alias="to",
            description="Before this ISO-8601 date-time (UTC unless given)",
            json_schema_extra=TIME,
        ),
    ] = None,
    max_results: Annotated[int, Query(alias="maxResults", ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_WINDOW - 1)] = 0,
) -> dict[str, Any]:
    query = AuditQuery(
        action=action,
        key_id=key_id,
        actor=actor,
        since=None if since is None else date_time(since, "from"),
        until=None if until is None else date_time(until, "to"),
    )
    page = min(max_results, MAX_WINDOW - offset)
    events, total = await services.audit.search(query, offset, page)
    return {"events": [event.view() for event in events], "total": total}
