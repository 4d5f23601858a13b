"""The one request-body reader: refused (413) before more than its limit is held in memory.

It reads ASGI ``receive`` directly, so the search fast path and the FastAPI routes (``request.receive``)
share it.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.requests import ClientDisconnect
from starlette.types import Receive

from gateway.errors import InvalidInput, TooLarge


async def read_body(receive: Receive, declared_length: str | None, limit: int) -> bytes:
    """The whole body; ``declared_length`` is the Content-Length header, refused early when too large."""
    if declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
        raise TooLarge(f"the request body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":  # gone before the body was complete: never a short body
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the request body exceeds {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def read_json(request: Request, limit: int, *, optional: bool = False) -> Any:
    """A route's body as JSON; with ``optional``, an empty body is ``None``."""
    body = await read_body(request.receive, request.headers.get("content-length"), limit)
    if optional and not body.strip():
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidInput("the request body is not valid JSON") from None
