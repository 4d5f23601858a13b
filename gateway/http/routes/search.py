"""``POST /jas/datasource/search``: passthrough search on the data-source index, as the original JAS.

``search`` is the one implementation. The route below documents the endpoint in the OpenAPI schema and
serves it wherever the app is mounted without its fast path; ``gateway.http.fastpath`` serves the same
``search`` ahead of routing in a running gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.types import Receive

from gateway.http.bodies import read_body
from gateway.http.deps import ServicesDep
from gateway.http.openapi import CALLER_SECURITY, errors, secured
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


WINDOW = {"type": "integer", "minimum": 0, "maximum": 10_000}
FIELD_VALUE = {"type": ["string", "number", "boolean"]}
ONE_FIELD = {"type": "object", "minProperties": 1, "maxProperties": 1}

# A few common query clauses, so generated bodies reach Elasticsearch; any other clause the guard allows is
# accepted too (the inner body is not closed).
QUERY_CLAUSE: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "properties": {
        "match_all": {"type": "object", "maxProperties": 0},
        "match": {**ONE_FIELD, "additionalProperties": {"type": "string"}},
        "term": {**ONE_FIELD, "additionalProperties": FIELD_VALUE},
        "terms": {**ONE_FIELD, "additionalProperties": {"type": "array", "items": FIELD_VALUE}},
        "prefix": {**ONE_FIELD, "additionalProperties": {"type": "string"}},
        "exists": {
            "type": "object",
            "required": ["field"],
            "properties": {"field": {"type": "string"}},
            "additionalProperties": False,
        },
        "range": {
            **ONE_FIELD,
            "additionalProperties": {
                "type": "object",
                "properties": {op: FIELD_VALUE for op in ("gt", "gte", "lt", "lte")},
                "additionalProperties": False,
            },
        },
    },
}

SEARCH_BODY: dict[str, Any] = {
    "type": "object",
    "description": "An Elasticsearch search body; the options below are the common ones.",
    "properties": {
        "query": QUERY_CLAUSE,
        "post_filter": QUERY_CLAUSE,
        "size": WINDOW,
        "from": WINDOW,
        "sort": {
            "type": "array",
            "items": {
                "oneOf": [
                    {"type": "string"},
                    {
                        **ONE_FIELD,
                        "additionalProperties": {
                            "type": "object",
                            "properties": {"order": {"enum": ["asc", "desc"]}},
                            "additionalProperties": False,
                        },
                    },
                ]
            },
        },
        "track_total_hits": {"type": ["boolean", "integer"]},
        "_source": {"type": ["boolean", "string", "array"], "items": {"type": "string"}},
        "timeout": {"type": "string", "pattern": "^([1-9][0-9]{0,3}ms|10000ms|[1-9]s|10s)$"},
        "terminate_after": {"type": "integer", "minimum": 0, "maximum": 10_000_000},
        "min_score": {"type": "number"},
        "explain": {"type": "boolean"},
        "version": {"type": "boolean"},
    },
}

REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["query"],
    "additionalProperties": False,
    "properties": {"query": SEARCH_BODY},
}


@router.post(
    "/jas/datasource/search",
    summary="Search data sources with an Elasticsearch body; Elasticsearch's response is returned as is",
    description=(
        "`query` holds an Elasticsearch search body. It runs on the data-source index only, and only if "
        "every construct in it is one the gateway's search grammar accepts (docs/security.md); the "
        "response is Elasticsearch's own, byte for byte."
    ),
    openapi_extra={
        **secured(CALLER_SECURITY),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": REQUEST_SCHEMA, "example": REQUEST_EXAMPLE}},
        },
    },
    responses={
        200: {"description": "Elasticsearch's native search response"},
        **errors(
            400,
            401,
            403,
            413,
            503,
            described={
                400: "Malformed body, a refused construct, or Elasticsearch's own rejection",
                401: "Invalid API key or tenant",
                403: "A bearer token whose user is not in the admin group",
                413: "Body larger than 256 KiB",
            },
        ),
    },
)
async def datasource_search(request: Request, services: ServicesDep) -> Response:
    # In a running gateway ``gateway.http.fastpath`` answers this path first, with the same ``search``.
    return Response(await search(services, request.headers, request.receive), media_type="application/json")


async def search(services: Services, headers: Mapping[str, str], receive: Receive) -> bytes:
    """The passthrough search, for the route and the fast path alike: caller, body, guard, Elasticsearch.

    ``headers`` are lower-case names; the answer is Elasticsearch's response bytes, untouched.
    """
    await services.callers.authenticate(headers)
    raw = await read_body(receive, headers.get("content-length"), MAX_BODY_BYTES)
    return await search_datasources(services.passthrough, services.settings.datasource_index, raw)
