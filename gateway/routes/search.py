"""``POST /jas/datasource/search``: passthrough search on the data-source index, as the original JAS."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from gateway.deps import CallerDep, StateDep
from gateway.routes.bodies import read_body
from gateway.search import MAX_BODY_BYTES, search_datasources

router = APIRouter(tags=["passthrough search"])


REQUEST_EXAMPLE = {
    "query": {
        "sort": [{"datasource_id.keyword": {"order": "desc"}}],
        "size": 10,
        "track_total_hits": True,
        "query": {"match_all": {}},
    }
}


@router.post(
    "/jas/datasource/search",
    summary="Search data sources with an Elasticsearch body; Elasticsearch's response is returned as is",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}, "example": REQUEST_EXAMPLE}},
        }
    },
    responses={
        200: {"description": "Elasticsearch's native search response"},
        400: {"description": "Malformed body, a refused construct, or Elasticsearch's own rejection"},
        401: {"description": "Invalid API key or tenant"},
        413: {"description": "Body larger than 256 KiB"},
        503: {"description": "Elasticsearch is unreachable"},
    },
)
async def datasource_search(request: Request, _: CallerDep, state: StateDep) -> Response:
    """Served by ``gateway.fastpath`` in a running app; this route documents it and shares its code."""
    body = await read_body(request, MAX_BODY_BYTES)
    result = await search_datasources(state.passthrough, state.settings.datasource_index, body)
    return Response(content=result, media_type="application/json")
