"""The passthrough search served straight from ASGI, ahead of FastAPI's routing and middleware.

``POST /jas/datasource/search`` is what ingestion jobs call most. Routing, dependency resolution and the
middleware stack cost more CPU than the search itself, so the app answers this one path here; it runs the
same authentication (``authenticate_caller``), the same search guard and Elasticsearch call
(``search_datasources``), the same error mapping (``error_parts``) and the same metrics and access log as
every other route. The FastAPI route of the same path documents it in the OpenAPI schema.
"""

from __future__ import annotations

import time

import orjson
from starlette.types import Receive, Scope, Send

from gateway.auth.callers import authenticate_caller
from gateway.errors import PayloadTooLarge, error_parts
from gateway.search import MAX_BODY_BYTES, search_datasources
from gateway.state import GatewayState

SEARCH_PATH = "/jas/datasource/search"
_WANTED = frozenset({b"authorization", b"x-api-key", b"x-tenant-id", b"content-length"})
_JSON = (b"content-type", b"application/json")


def _headers(scope: Scope) -> dict[str, str]:
    """Only the headers this path reads, as strings (ASGI names arrive lower-cased)."""
    return {name.decode(): value.decode("latin-1") for name, value in scope["headers"] if name in _WANTED}


async def _read_body(receive: Receive, declared: str | None) -> bytes:
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body exceeds {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"the request body exceeds {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def serve_search(state: GatewayState, scope: Scope, receive: Receive, send: Send) -> None:
    started = time.perf_counter()
    headers = _headers(scope)
    extra: dict[str, str] | None = None
    try:
        await authenticate_caller(state, headers)
        raw = await _read_body(receive, headers.get("content-length"))
        body = await search_datasources(state.passthrough, state.settings.datasource_index, raw)
        status = 200
    except Exception as exc:  # every failure becomes the same JSON error body as elsewhere
        status, error, extra = error_parts(exc)
        body = orjson.dumps(error)
    response_headers = [_JSON, (b"content-length", str(len(body)).encode())]
    if extra:
        response_headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": body})
    state.recorder.record(scope, "POST", SEARCH_PATH, status, time.perf_counter() - started)
