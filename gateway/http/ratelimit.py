"""A key's rate limit in its answers: the RateLimit-Policy and RateLimit fields (``gateway.auth.ratelimit``).

Answers of API-key routes, below 400, carry both fields when the key is limited; a refusal for the limit
(429, ``gateway.http.errors``) carries them with ``Retry-After``. The FastAPI routes' answers get them from
``RateLimitHeaders``, which reads what ``deps.api_caller`` left in the request's scope; the search fast path
adds them itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.auth.ratelimit import Quota
from gateway.http.scopes import ROUTE_SCOPES

SCOPE_KEY = "gateway.quota"  # where ``api_caller`` leaves the caller's Quota in the ASGI scope


def quota_headers(quota: Quota) -> dict[str, str]:
    return {"RateLimit-Policy": quota.policy.header, "RateLimit": quota.header}


def raw_quota_headers(quota: Quota) -> list[tuple[bytes, bytes]]:
    return [(b"ratelimit-policy", quota.policy.header.encode()), (b"ratelimit", quota.header.encode())]


class RateLimitHeaders:
    """Pure ASGI middleware: adds the fields to an answer below 400 of a request whose key is limited."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_quota(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                quota = scope.get(SCOPE_KEY)
                if quota is not None:
                    message["headers"] = [*message.get("headers", ()), *raw_quota_headers(quota)]
            await send(message)

        await self.app(scope, receive, send_with_quota)


# --- in the OpenAPI description ---------------------------------------------------------------------------

FIELDS = {
    "RateLimit-Policy": {
        "description": 'The key\'s rate limit, when it has one: `"key";q=<requests>;w=<seconds>` '
        "(draft-ietf-httpapi-ratelimit-headers).",
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'What is left of it: `"key";r=<requests that may follow>;t=<seconds until the next '
        "one is refilled>`.",
        "schema": {"type": "string"},
    },
}
REFUSED = {
    "description": "The key is over its rate limit (`too_many_requests`); see Retry-After",
    "headers": {
        "Retry-After": {
            "description": "Seconds until the next request is refilled.",
            "schema": {"type": "integer"},
        },
        **FIELDS,
    },
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}


def document(paths: Mapping[str, Mapping[str, dict[str, Any]]]) -> None:
    """Every operation a key may call: its 429, and the fields on its successful answers."""
    for method, path in ROUTE_SCOPES:
        operation = paths.get(path, {}).get(method.lower())
        if operation is None:
            continue
        responses = operation["responses"]
        responses["429"] = REFUSED
        for status, response in responses.items():
            if status.startswith("2"):
                response["headers"] = {**response.get("headers", {}), **FIELDS}
