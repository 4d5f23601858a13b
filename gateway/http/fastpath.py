"""The passthrough search served straight from ASGI, ahead of FastAPI's routing and middleware.

``POST /jas/datasource/search`` is what ingestion jobs call most. Under ``gateway serve`` most searches
never reach the app: ``gateway.http.hotpath`` answers those whose key is cached in the HTTP protocol
itself. The rest (a key to fetch, an admin token, ``Expect: 100-continue``, a query string, a request
pipelined behind another) come here, and so does every search wherever the app runs without that protocol
(``uvicorn --factory``, tests). Routing, dependency resolution and the middleware stack cost more CPU than
the search itself, so ``GatewayApp`` answers this one path ahead of them. It runs the route's own function
(``routes.search.search``: the same caller check, body limit, guard and Elasticsearch call), the same error
mapping (``answer_error``: refusals counted for the audit trail) and the same metrics and access log as
every other route. Taking the path out of ``GatewayApp.fast_paths`` sends it to the FastAPI route instead.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.datastructures import State
from starlette.types import Receive, Scope, Send

from gateway.http.errors import answer_error
from gateway.http.ratelimit import SCOPE_KEY, raw_quota_headers
from gateway.http.routes.search import search

SEARCH_PATH = "/jas/datasource/search"
_WANTED = frozenset({b"authorization", b"x-api-key", b"x-tenant-id", b"content-length"})
_JSON = (b"content-type", b"application/json")

FastPath = Callable[[State, Scope, Receive, Send], Awaitable[None]]


class GatewayApp(FastAPI):
    """FastAPI, with a few hot paths answered before routing: ``fast_paths[(method, path)]``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fast_paths: dict[tuple[str, str], FastPath] = {("POST", SEARCH_PATH): serve_search}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            fast = self.fast_paths.get((scope["method"], scope["path"]))
            if fast is not None:
                await fast(self.state, scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def _headers(scope: Scope) -> dict[str, str]:
    """Only the headers this path reads, as strings (ASGI names arrive lower-cased)."""
    return {name.decode(): value.decode("latin-1") for name, value in scope["headers"] if name in _WANTED}


async def serve_search(state: State, scope: Scope, receive: Receive, send: Send) -> None:
    started = time.perf_counter()
    extra: dict[str, str] | None = None
    client = scope.get("client")
    address = client[0] if client else None
    try:
        body = await search(state.services, _headers(scope), receive, address, scope)
        status = 200
    except Exception as exc:  # every failure becomes the same JSON error body as elsewhere
        status, error, extra = answer_error(exc, state.services.audit, address)
        body = orjson.dumps(error)
    response_headers = [_JSON, (b"content-length", str(len(body)).encode())]
    if extra:
        response_headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
    elif status == 200 and SCOPE_KEY in scope:  # a limited key: what is left of its rate limit
        response_headers += raw_quota_headers(scope[SCOPE_KEY])
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": body})
    state.recorder.record(address, "POST", SEARCH_PATH, status, time.perf_counter() - started)
