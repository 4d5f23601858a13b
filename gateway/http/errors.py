"""The one place errors become HTTP: status, headers and the JSON body every error answer has.

Every error body has the same shape: ``{"error": {"code": "<stable_code>", "message": "<human text>"}}``,
optionally with ``details``. No stack trace ever reaches a client. Every 503 and 429 says, with
``Retry-After``, when the same request is worth sending again.
"""

from __future__ import annotations

import logging
from typing import Any

from elasticsearch import ApiError, TransportError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from gateway.audit.trail import AuditTrail
from gateway.auth.ratelimit import RateLimited
from gateway.errors import (
    Conflict,
    ElasticsearchUnavailable,
    GatewayError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    NotPermitted,
    TooLarge,
    TooManyAttempts,
    Unavailable,
)
from gateway.es.failures import es_reason, failure_for_status
from gateway.http.ratelimit import quota_headers

log = logging.getLogger(__name__)

# Most specific first: an error takes the status of the first class it is an instance of.
STATUS: tuple[tuple[type[GatewayError], int], ...] = (
    (TooLarge, 413),
    (InvalidInput, 400),
    (NotAuthenticated, 401),
    (NotPermitted, 403),
    (NotFound, 404),
    (Conflict, 409),
    (TooManyAttempts, 429),
    (Unavailable, 503),
)

ErrorParts = tuple[int, dict[str, Any], dict[str, str] | None]


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def status_of(exc: GatewayError) -> int:
    return next((status for cls, status in STATUS if isinstance(exc, cls)), 500)


def _headers(exc: GatewayError) -> dict[str, str] | None:
    if isinstance(exc, NotAuthenticated) and exc.scheme is not None:
        return {"WWW-Authenticate": exc.scheme}
    if isinstance(exc, RateLimited):  # the key's limit: the draft's fields too (gateway.http.ratelimit)
        return {"Retry-After": str(exc.retry_after), **quota_headers(exc.quota)}
    if isinstance(exc, TooManyAttempts | Unavailable):
        return {"Retry-After": str(exc.retry_after)}
    return None


def error_parts(exc: Exception) -> ErrorParts:
    """(status, JSON body, extra headers) for any exception."""
    if isinstance(exc, GatewayError):
        return status_of(exc), error_body(exc.code, exc.message, exc.details), _headers(exc)
    if isinstance(exc, RequestValidationError):
        details = [
            {"location": [str(p) for p in e.get("loc", ())], "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        return 400, error_body("invalid_request", "The request is malformed or incomplete.", details), None
    if isinstance(exc, ClientDisconnect):  # nobody reads this answer; it is not a server error either
        return 400, error_body("client_disconnected", "The request body was not complete."), None
    if isinstance(exc, StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return exc.status_code, error_body(code, str(exc.detail)), dict(exc.headers or {})
    if isinstance(exc, ApiError):
        return error_parts(failure_for_status(exc.meta.status, es_reason(exc)))
    if isinstance(exc, TransportError):
        log.warning("elasticsearch unreachable: %s", type(exc).__name__)
        return error_parts(ElasticsearchUnavailable("Elasticsearch is unreachable."))
    log.exception("unhandled error", exc_info=exc)
    return 500, error_body("internal_error", "An unexpected error occurred."), None


def answer_error(exc: Exception, audit: AuditTrail | None, address: str | None) -> ErrorParts:
    """``error_parts``, and the one place a refused use of a known key is counted for the audit trail
    (in memory: the search's hot path writes nothing to Elasticsearch)."""
    if audit is not None and isinstance(exc, GatewayError) and exc.refusal is not None:
        audit.refused(exc.refusal, address)
    return error_parts(exc)


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path (Starlette names only the first route's)."""
    routes = request.app.router.routes
    return [
        method
        for method in METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    services = getattr(request.app.state, "services", None)
    address = request.client.host if request.client else None
    status, body, headers = answer_error(exc, services.audit if services else None, address)
    if status == 405:
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
    return JSONResponse(status_code=status, content=body, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    for exc_class in (
        GatewayError,
        ClientDisconnect,  # a body cut short (or refused by the protocol): 400, never a 500 and a traceback
        RequestValidationError,
        StarletteHTTPException,
        ApiError,
        TransportError,
        Exception,
    ):
        app.add_exception_handler(exc_class, _handle)
