"""``POST /jas/datasource/search``: passthrough search on the data-source index, as the original JAS.

``search`` is the one implementation in the app. The route below documents the endpoint in the OpenAPI
schema and serves it wherever the app is mounted without its fast path; ``gateway.http.fastpath`` serves
the same ``search`` ahead of routing. Under ``gateway serve``, ``gateway.http.hotpath`` answers most
searches before the app, with the same steps (the functions ``search`` calls).
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request, Response
from starlette.types import Receive, Scope

from gateway.http.bodies import read_body
from gateway.http.deps import ServicesDep
from gateway.http.openapi import CALLER_ERRORS, CALLER_SECURITY, errors, request_body, secured, too_large
from gateway.http.ratelimit import SCOPE_KEY
from gateway.http.scopes import check_route
from gateway.http.search_schema import REQUEST_SCHEMA
from gateway.search import MAX_BODY_BYTES, search_datasources
from gateway.services import Services

router = APIRouter(tags=["passthrough search"])


REQUEST_EXAMPLE = {
    "query": {
        "sort": [{"datasource_id.keyword": {"order": "desc"}}],
        "size": 10,
        "track_total_hits": True,
        "query": {"match_all": {}},
    }
}


SEARCH_PATH = "/jas/datasource/search"


@router.post(
    SEARCH_PATH,
    summary="Search data sources with an Elasticsearch body; Elasticsearch's response is returned as is",
    description=(
        "`query` holds an Elasticsearch search body. It runs on the data-source index only, and only if "
        "every construct in it is one the gateway's search grammar accepts (docs/security.md); the "
        "response is Elasticsearch's own, byte for byte."
    ),
    openapi_extra={**secured(CALLER_SECURITY), **request_body(REQUEST_SCHEMA, example=REQUEST_EXAMPLE)},
    responses={
        200: {"description": "Elasticsearch's native search response"},
        **errors(
            400,
            401,
            403,
            413,
            503,
            described={
                **CALLER_ERRORS,
                400: "Malformed body, a refused construct, or Elasticsearch's own rejection",
                413: too_large(MAX_BODY_BYTES),
            },
        ),
    },
)
async def datasource_search(request: Request, services: ServicesDep) -> Response:
    # ``gateway.http.hotpath`` and ``gateway.http.fastpath`` answer this path first, with the same steps.
    address = request.client.host if request.client else None
    body = await search(services, request.headers, request.receive, address, request.scope)
    return Response(body, media_type="application/json")


async def search(
    services: Services,
    headers: Mapping[str, str],
    receive: Receive,
    address: str | None = None,
    scope: Scope | None = None,
) -> bytes:
    """The passthrough search, for the route and the fast path alike: caller, body, guard, Elasticsearch.

    ``headers`` are lower-case names; the answer is Elasticsearch's response bytes, untouched. A limited
    key's quota is left in ``scope`` for the answer's RateLimit fields (``gateway.http.ratelimit``).
    """
    caller = await services.callers.authenticate(headers, address)
    if caller.quota is not None and scope is not None:
        scope[SCOPE_KEY] = caller.quota
    check_route(caller, "POST", SEARCH_PATH)
    raw = await read_body(receive, headers.get("content-length"), MAX_BODY_BYTES)
    index = services.settings.datasource_index
    # A key limited to data sources sees only theirs: its body is scoped (gateway.search.scoping).
    return await search_datasources(services.passthrough, index, raw, caller.datasources)
