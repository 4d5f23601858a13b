"""The one request-body reader: refused (413) before more than its limit is held in memory.

It reads ASGI ``receive`` directly, so the search fast path and the FastAPI routes (``request.receive``)
share it. No route declares a Pydantic body parameter (FastAPI would buffer the whole body before any
limit applies): a route reads its body with ``read_model`` (or ``read_json``) and documents it with
``gateway.http.openapi.request_body``.

Decoded JSON costs far more than its bytes when it is made of many tiny values (``[{},{},...]``: ~30 bytes of
Python objects per byte), so a route that takes large bodies also bounds how many values they decode to
(``max_values``), counted on the raw bytes before anything is decoded (``structure_count``).
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect
from starlette.types import Receive

from gateway.errors import InvalidInput, TooLarge

M = TypeVar("M", bound=BaseModel)

# Logins, key administration, sync-run steps and read filters: small JSON objects.
SMALL_BODY_BYTES: Final = 64 * 1024


_STRUCTURE = (b",", b":", b"[", b"{")


def structure_count(body: bytes) -> int:
    """Commas, colons and opening brackets in ``body``: a JSON text decodes to at most one more value.

    Counted on the raw bytes (those inside strings too, so it may only overstate): a few passes at C speed,
    no copy, nothing decoded."""
    return sum(body.count(c) for c in _STRUCTURE)


def refuse_declared(declared_length: str | None, limit: int) -> None:
    """413 when the Content-Length header (``declared_length``) says the body is over ``limit``."""
    declared = (declared_length or "").strip()
    # ASCII digits only ("²".isdigit() is true); more digits than the limit has is over it, however many.
    number = declared.lstrip("0") or "0"
    if declared.isascii() and declared.isdigit() and (len(number) > len(str(limit)) or int(number) > limit):
        raise TooLarge(f"the request body exceeds {limit} bytes")


async def read_body(receive: Receive, declared_length: str | None, limit: int) -> bytes:
    """The whole body; ``declared_length`` is the Content-Length header, refused early when too large."""
    refuse_declared(declared_length, limit)
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


async def read_json(
    request: Request, limit: int, *, optional: bool = False, max_values: int | None = None
) -> Any:
    """A route's body as JSON; with ``optional``, an empty body is ``None``; with ``max_values``, a body that
    would decode to more values than that is refused (413) before it is decoded."""
    body = await read_body(request.receive, request.headers.get("content-length"), limit)
    if optional and not body.strip():
        return None
    if max_values is not None and structure_count(body) > max_values:
        raise TooLarge(
            f"the request body holds too many JSON values (more than {max_values} commas, colons and "
            "opening brackets); split it"
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidInput("the request body is not valid JSON") from None


def validate_body(model: type[M], raw: Any) -> M:
    """``raw`` (decoded JSON) checked by ``model``; failures answer as FastAPI's own body validation."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = [
            {**error, "loc": ("body", *error["loc"])}
            for error in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
        raise RequestValidationError(errors) from None


async def read_model(
    request: Request, model: type[M], limit: int = SMALL_BODY_BYTES, *, max_values: int | None = None
) -> M:
    """A route's JSON body, read under ``limit`` and ``max_values`` (``read_json``), checked by ``model``."""
    return validate_body(model, await read_json(request, limit, max_values=max_values))
