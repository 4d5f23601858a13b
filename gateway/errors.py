"""The gateway's one exception tree, and the one place that turns errors into JSON HTTP responses.

Every error body has the same shape: ``{"error": {"code": "<stable_code>", "message": "<human text>"}}``,
optionally with ``details``. No stack trace ever reaches a client.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from elasticsearch import ApiError, TransportError
from elasticsearch import ConnectionError as EsConnectionError
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
    info: Any = exc.info
    if isinstance(info, bytes | str):  # the passthrough client hands back raw bytes
        try:
            info = json.loads(info)
        except ValueError:
            info = {}
    if not isinstance(info, dict):
        info = {}
    error = info.get("error")
    if isinstance(error, dict):
        causes = error.get("root_cause") or []
        if causes and isinstance(causes[0], dict) and causes[0].get("reason"):
            return str(causes[0]["reason"])
        if error.get("reason"):
            return str(error["reason"])
    elif isinstance(error, str):
        return error
    return str(exc.message)


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=body, headers=headers)


async def _on_gateway_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatewayError)
    return _json(exc.status_code, error_body(exc.code, exc.message, exc.details), exc.headers)


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"location": [str(p) for p in e.get("loc", ())], "message": e.get("msg", "")} for e in exc.errors()
    ]
    return _json(400, error_body("invalid_request", "The request is malformed or incomplete.", details))


async def _on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return _json(exc.status_code, error_body(code, str(exc.detail)), dict(exc.headers or {}))


async def _on_es_api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    if 400 <= exc.meta.status < 500 and exc.meta.status not in (401, 403, 429):
        return _json(400, error_body("elasticsearch_rejected", es_reason(exc)))
    log.warning("elasticsearch error %s: %s", exc.meta.status, es_reason(exc))
    return _json(503, error_body("elasticsearch_unavailable", "Elasticsearch could not serve the request."))


async def _on_es_transport_error(_: Request, exc: Exception) -> JSONResponse:
    log.warning("elasticsearch unreachable: %s", exc)
    return _json(503, error_body("elasticsearch_unavailable", "Elasticsearch is unreachable."))


async def _on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return _json(500, error_body("internal_error", "An unexpected error occurred."))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GatewayError, _on_gateway_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(ApiError, _on_es_api_error)
    app.add_exception_handler(EsConnectionError, _on_es_transport_error)
    app.add_exception_handler(TransportError, _on_es_transport_error)
    app.add_exception_handler(Exception, _on_unexpected)
