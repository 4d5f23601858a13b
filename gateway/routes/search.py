"""``POST /jas/datasource/search``: passthrough search on the data-source index, as the original JAS."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from gateway.deps import CallerDep, StateDep
from gateway.errors import BadRequest, PayloadTooLarge
from gateway.search import DEFAULT_TIMEOUT, MAX_BODY_BYTES, parse_request

router = APIRouter(tags=["passthrough search"])


async def read_capped(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) anything over ``limit`` bytes without reading it all first."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


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
    raw = await read_capped(request, MAX_BODY_BYTES)
    try:
        envelope: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from exc
    body = parse_request(envelope)
    body["timeout"] = body.get("timeout", DEFAULT_TIMEOUT)
    response = await state.search_es.perform_request(
        "POST",
        f"/{state.settings.datasource_index}/_search",
        # A shard failure (e.g. a bad date in a range) becomes a 400, never a silently partial answer.
        params={"allow_partial_search_results": "false"},
        headers={"accept": "application/json", "content-type": "application/json"},
        body=orjson.dumps(body),
    )
    return Response(content=response.body, media_type="application/json")
