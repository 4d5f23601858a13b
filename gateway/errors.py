"""The gateway's one exception tree, and the one place that turns errors into JSON HTTP responses.

Every error body has the same shape: ``{"error": {"code": "<stable_code>", "message": "<human text>"}}``,
optionally with ``details``. No stack trace ever reaches a client.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from elasticsearch import ApiError, TransportError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class GatewayError(Exception):
    """Base of every error the gateway reports to a client."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers


class BadRequest(GatewayError):
    status_code = 400
    code = "bad_request"


class NotAuthenticated(GatewayError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(GatewayError):
    status_code = 403
    code = "forbidden"


class NotFound(GatewayError):
    status_code = 404
    code = "not_found"


class PayloadTooLarge(GatewayError):
    status_code = 413
    code = "payload_too_large"


class TooManyRequests(GatewayError):
    status_code = 429
    code = "too_many_requests"


class ServiceUnavailable(GatewayError):
    status_code = 503
    code = "service_unavailable"


class ElasticsearchUnavailable(ServiceUnavailable):
    code = "elasticsearch_unavailable"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def es_reason(exc: ApiError) -> str:
    """The most specific reason Elasticsearch gave, e.g. the root cause of a search failure."""
    return reason_from_body(exc.info) or str(exc.message)


def reason_from_body(info: Any) -> str | None:
    """The root cause's reason from an Elasticsearch error body (decoded, or raw bytes)."""
    if isinstance(info, bytes | str):
        try:
            info = json.loads(info)
        except ValueError:
            info = {}
    if not isinstance(info, dict):
        info = {}
    error = info.get("error")
    if isinstance(error, str):
        return error
    if not isinstance(error, dict):
        return None
    causes = error.get("root_cause") or []
    if causes and isinstance(causes[0], dict) and causes[0].get("reason"):
        return str(causes[0]["reason"])
    # Some failures (e.g. a pipeline aggregation's bad buckets_path) leave root_cause and reason empty and
    # say what went wrong only further down the caused_by chain.
    while isinstance(error, dict):
        if error.get("reason"):
            return str(error["reason"])
        error = error.get("caused_by")
    return None


def error_parts(exc: Exception) -> tuple[int, dict[str, Any], dict[str, str] | None]:
    """(status, JSON body, extra headers) for any exception: the one mapping of errors to HTTP."""
    if isinstance(exc, GatewayError):
        return exc.status_code, error_body(exc.code, exc.message, exc.details), exc.headers
    if isinstance(exc, RequestValidationError):
        details = [
            {"location": [str(p) for p in e.get("loc", ())], "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        return 400, error_body("invalid_request", "The request is malformed or incomplete.", details), None
    if isinstance(exc, StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return exc.status_code, error_body(code, str(exc.detail)), dict(exc.headers or {})
    if isinstance(exc, ApiError):
        return es_status_error(exc.meta.status, es_reason(exc))
    if isinstance(exc, TransportError):
        log.warning("elasticsearch unreachable: %s", type(exc).__name__)
        return 503, error_body("elasticsearch_unavailable", "Elasticsearch is unreachable."), None
    log.exception("unhandled error", exc_info=exc)
    return 500, error_body("internal_error", "An unexpected error occurred."), None


def es_status_error(status: int, reason: str) -> tuple[int, dict[str, Any], None]:
    """Elasticsearch's own rejections of a request (4xx) are the caller's 400; anything else is a 503."""
    if 400 <= status < 500 and status not in (401, 403, 429):
        return 400, error_body("elasticsearch_rejected", reason), None
    log.warning("elasticsearch error %s: %s", status, reason)
    return 503, error_body("elasticsearch_unavailable", "Elasticsearch could not serve the request."), None


async def _handle(_: Request, exc: Exception) -> JSONResponse:
    status, body, headers = error_parts(exc)
    return JSONResponse(status_code=status, content=body, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    for exc_class in (
        GatewayError,
        RequestValidationError,
        StarletteHTTPException,
        ApiError,
        TransportError,
        Exception,
    ):
        app.add_exception_handler(exc_class, _handle)
