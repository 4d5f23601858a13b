"""What ``/openapi.json`` says beyond the routes themselves: the error body, the credentials, who needs which.

Documentation only: nothing here runs while a request is served. Routes name their credentials with
``secured(SESSION_SECURITY)`` (the ``SessionDep``/``AdminDep`` routes) or ``secured(CALLER_SECURITY)`` (the
routes API keys may call), and their JSON body with ``request_body`` (bodies are read by
``gateway.http.bodies``, never by FastAPI); tests/http/test_openapi.py checks every operation against a table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

from gateway.http.ratelimit import document as document_rate_limits
from gateway.http.scopes import annotate


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable code, e.g. `invalid_request`.")
    message: str = Field(description="Human-readable explanation.")
    details: Any = Field(None, description="Optional structured details, e.g. the invalid fields.")


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


DESCRIPTIONS: Mapping[int, str] = {
    400: "Malformed request: invalid JSON, unknown or missing fields, values out of range",
    401: "Missing, invalid or expired credentials",
    403: "The token's user is not in the admin group",
    404: "No such resource",
    409: "Conflicts with the current state",
    413: "The request body is too large",
    429: "Too many requests; see Retry-After",
    503: "Elasticsearch is unreachable or could not serve the request; see Retry-After",
}


# The 401 and 403 of the routes API keys may call (CALLER_SECURITY).
CALLER_ERRORS: Mapping[int, str] = {
    401: "Invalid API key or tenant",
    403: "A key without the scope the route needs (`forbidden`, naming it), a key used from outside its "
    "allowed networks, or a bearer token whose user is not in the admin group",
}


def too_large(limit: int) -> str:
    """The 413 text of a body capped at ``limit`` bytes."""
    return f"Body larger than {limit // 1024} KiB" if limit % 1024 == 0 else f"Body larger than {limit} bytes"


RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before sending the same request again.",
        "schema": {"type": "integer"},
    }
}


def errors(*statuses: int, described: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for error statuses, each with the shared error body (and Retry-After)."""
    texts = {**DESCRIPTIONS, **(described or {})}
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        responses[status] = {"model": ErrorBody, "description": texts[status]}
        if status in (429, 503):
            responses[status]["headers"] = RETRY_AFTER
    return responses


def request_body(
    schema: type[BaseModel] | dict[str, Any], *, required: bool = True, example: Any = None
) -> dict[str, Any]:
    """``openapi_extra=`` entries declaring a JSON body: a model's schema, or a schema given as is."""
    if not isinstance(schema, dict):
        schema = schema.model_json_schema()
    content: dict[str, Any] = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"requestBody": {"required": required, "content": {"application/json": content}}}


# --- credentials ------------------------------------------------------------------------------------------

ADMIN_BEARER = "AdminBearer"
TENANT = "TenantId"
KEY_FORMS = ("ApiKeyHeader", "ApiKeyAuthorization", "ApiKeyScheme")

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    ADMIN_BEARER: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The `token` of `POST /api/authentication/login` (or `renewToken`).",
    },
    "ApiKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-KEY",
        "description": "An API key from `POST /api/admin/createApiToken`.",
    },
    "ApiKeyAuthorization": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "The raw API key with no scheme, as the original product's clients send it.",
    },
    "ApiKeyScheme": {
        "type": "http",
        "scheme": "ApiKey",
        "description": "`Authorization: ApiKey <key>`.",
    },
    TENANT: {
        "type": "apiKey",
        "in": "header",
        "name": "X-TENANT-ID",
        "description": "Optional with a key or a token; when sent it must name the deployment's tenant.",
    },
}

Requirements = list[dict[str, list[str]]]


def _with_and_without_tenant(scheme: str) -> Requirements:
    # The tenant header is optional: when sent, it must match, so both requirements are true.
    return [{scheme: [], TENANT: []}, {scheme: []}]


SESSION_SECURITY: Requirements = [{ADMIN_BEARER: []}]
CALLER_SECURITY: Requirements = [
    requirement for scheme in (*KEY_FORMS, ADMIN_BEARER) for requirement in _with_and_without_tenant(scheme)
]


def secured(requirements: Requirements) -> dict[str, Any]:
    """``openapi_extra=`` naming the credentials an operation accepts."""
    return {"security": requirements}


def _complete(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    for operations in schema["paths"].values():
        for operation in operations.values():
            # Validation failures are answered 400 by gateway.http.errors, never FastAPI's 422.
            operation["responses"].pop("422", None)
    annotate(schema["paths"])
    document_rate_limits(schema["paths"])
    for name in ("HTTPValidationError", "ValidationError"):
        components.get("schemas", {}).pop(name, None)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and so ``/openapi.json``) return the completed document, built once."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _complete(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
