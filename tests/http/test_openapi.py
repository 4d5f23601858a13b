"""``/openapi.json``: the credentials each operation takes and every status it can answer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from gateway.app import create_app
from gateway.http.bodies import SMALL_BODY_BYTES
from gateway.http.search_schema import timeout_pattern
from gateway.search import MAX_BODY_BYTES, SearchRejected, check_search_body
from gateway.search.limits import limit
from tests.helpers import make_settings

Requirements = list[dict[str, list[str]]]
PUBLIC: Requirements | None = None
SESSION: Requirements = [{"AdminBearer": []}]
CALLER: Requirements = [
    {"ApiKeyHeader": [], "TenantId": []},
    {"ApiKeyHeader": []},
    {"ApiKeyAuthorization": [], "TenantId": []},
    {"ApiKeyAuthorization": []},
    {"ApiKeyScheme": [], "TenantId": []},
    {"ApiKeyScheme": []},
    {"AdminBearer": [], "TenantId": []},
    {"AdminBearer": []},
]
ADMIN_STATUSES = {200, 400, 401, 403, 503}
WRITE_STATUSES = {200, 207, 400, 401, 403, 409, 413, 429, 503}

OPERATIONS: list[tuple[str, str, Requirements | None, set[int]]] = [
    ("get", "/health-check", PUBLIC, {200}),
    ("get", "/version", PUBLIC, {200}),
    ("get", "/livez", PUBLIC, {200}),
    ("get", "/readyz", PUBLIC, {200, 503}),
    ("get", "/metrics", PUBLIC, {200}),
    ("post", "/api/authentication/login", PUBLIC, {200, 400, 401, 413, 429, 503}),
    ("get", "/api/authentication/verify", SESSION, {200, 401, 503}),
    ("post", "/api/authentication/renewToken", SESSION, {200, 401, 503}),
    ("post", "/api/authentication/logout", SESSION, {204, 401, 503}),
    ("post", "/api/admin/createApiToken", SESSION, ADMIN_STATUSES | {413}),
    ("post", "/api/admin/revokeApiToken", SESSION, ADMIN_STATUSES | {404, 413}),
    ("post", "/api/admin/deleteApiToken", SESSION, ADMIN_STATUSES | {404, 413}),
    ("get", "/api/admin/verifyApiToken/{token}", SESSION, ADMIN_STATUSES | {404}),
    ("get", "/api/admin/getTokens", SESSION, ADMIN_STATUSES),
    ("get", "/api/admin/tenant", SESSION, ADMIN_STATUSES),
    ("post", "/api/admin/updateApiToken", SESSION, ADMIN_STATUSES | {404, 409, 413}),
    ("post", "/api/admin/rotateApiToken", SESSION, ADMIN_STATUSES | {404, 409, 413}),
    ("get", "/api/admin/audit", SESSION, ADMIN_STATUSES),
    ("post", "/jas/datasource/search", CALLER, {200, 400, 401, 403, 413, 429, 503}),
    ("post", "/api/ingest/applications", CALLER, WRITE_STATUSES),
    ("post", "/api/ingest/entitlements", CALLER, WRITE_STATUSES),
    ("post", "/api/ingest/identities", CALLER, WRITE_STATUSES),
    ("post", "/api/ingest/assignments", CALLER, WRITE_STATUSES),
    ("get", "/api/ingest/datasources", CALLER, {200, 400, 401, 403, 429, 503}),
    ("post", "/api/ingest/datasources", CALLER, {200, 400, 401, 403, 413, 429, 503}),
    ("get", "/api/ingest/mappings", CALLER, {200, 400, 401, 403, 429, 503}),
    ("post", "/api/ingest/mappings", CALLER, {200, 400, 401, 403, 413, 429, 503}),
    ("post", "/api/ingest/sync/{datasourceId}/start", CALLER, {200, 400, 401, 403, 404, 409, 413, 429, 503}),
    ("post", "/api/ingest/sync/{datasourceId}/renew", CALLER, {200, 400, 401, 403, 404, 409, 413, 429, 503}),
    ("post", "/api/ingest/sync/{datasourceId}/finish", CALLER, {200, 400, 401, 403, 404, 409, 413, 429, 503}),
    ("post", "/api/ingest/sync/{datasourceId}/abort", CALLER, {200, 400, 401, 403, 404, 409, 413, 429, 503}),
    ("post", "/api/ingest/sync/{datasourceId}/check", CALLER, {200, 400, 401, 403, 404, 413, 429, 503}),
]
ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The document as served; describing the API needs no Elasticsearch, so the app is not started."""
    settings = make_settings(state_dir=Path(tmp_path_factory.mktemp("openapi")))
    response = TestClient(create_app(settings)).get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def test_the_table_lists_every_operation(spec: dict[str, Any]) -> None:
    served = {(method, path) for path, operations in spec["paths"].items() for method in operations}
    assert served == {(method, path) for method, path, _, _ in OPERATIONS}


@pytest.mark.parametrize(
    ("method", "path", "security", "statuses"), OPERATIONS, ids=[f"{m} {p}" for m, p, _, _ in OPERATIONS]
)
def test_operation_declares_its_credentials_and_statuses(
    spec: dict[str, Any],
    method: str,
    path: str,
    security: Requirements | None,
    statuses: set[int],
) -> None:
    operation = spec["paths"][path][method]
    assert operation.get("security") == security
    assert set(operation["responses"]) == {str(status) for status in statuses}
    for status, response in operation["responses"].items():
        if int(status) >= 400:
            assert response["content"]["application/json"]["schema"] == ERROR_REF, status
            assert response["description"]


def test_security_schemes_name_the_headers_the_gateway_reads(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["AdminBearer"] == {**schemes["AdminBearer"], "type": "http", "scheme": "bearer"}
    assert schemes["AdminBearer"]["bearerFormat"] == "JWT"
    assert {(s["type"], s.get("in"), s.get("name"), s.get("scheme")) for s in schemes.values()} == {
        ("http", None, None, "bearer"),
        ("apiKey", "header", "X-API-KEY", None),
        ("apiKey", "header", "Authorization", None),
        ("http", None, None, "ApiKey"),
        ("apiKey", "header", "X-TENANT-ID", None),
    }


def test_error_body_is_one_reusable_component(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["ErrorBody"]["required"] == ["error"]
    detail = schemas["ErrorDetail"]
    assert detail["required"] == ["code", "message"]
    assert set(detail["properties"]) == {"code", "message", "details"}
    # FastAPI's 422 body is never sent: validation failures are 400 with the error body above.
    assert "HTTPValidationError" not in schemas


def test_free_json_bodies_have_a_shape_to_follow(spec: dict[str, Any]) -> None:
    search = spec["paths"]["/jas/datasource/search"]["post"]["requestBody"]["content"]["application/json"]
    assert search["schema"]["required"] == ["query"]
    assert {"query", "size", "from", "sort"} <= set(search["schema"]["properties"]["query"]["properties"])
    reads = spec["paths"]["/api/ingest/datasources"]["get"]["parameters"]
    filters = {"datasourceId", "name", "isActive", "connectionTypes", "entityTypes"}
    assert {p["name"] for p in reads} == filters
    report = spec["paths"]["/api/ingest/identities"]["post"]["responses"]["207"]["content"]
    assert report["application/json"]["schema"] == {"$ref": "#/components/schemas/IngestReport"}


def test_the_search_body_schema_takes_its_bounds_from_the_guard(spec: dict[str, Any]) -> None:
    search = spec["paths"]["/jas/datasource/search"]["post"]
    body = search["requestBody"]["content"]["application/json"]["schema"]["properties"]["query"]
    members = body["properties"]
    assert members["size"]["maximum"] == members["from"]["maximum"] == limit("from + size")
    assert members["terminate_after"]["maximum"] == limit("terminate_after")
    assert members["profile"] is False and body["additionalProperties"] is False
    assert search["responses"]["413"]["description"] == f"Body larger than {MAX_BODY_BYTES // 1024} KiB"


@given(st.from_regex(r"[0-9\uff10-\uff19]{1,11}(ms|s|m)?", fullmatch=True))
def test_the_timeout_pattern_takes_exactly_what_the_guard_takes(timeout: str) -> None:
    try:
        check_search_body({"timeout": timeout})
        accepted = True
    except SearchRejected:
        accepted = False
    assert bool(re.search(timeout_pattern(), timeout)) == accepted


def test_every_body_is_declared_with_its_model_and_capped(spec: dict[str, Any]) -> None:
    login = spec["paths"]["/api/authentication/login"]["post"]
    schema = login["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["username", "password"]
    assert login["responses"]["413"]["description"] == f"Body larger than {SMALL_BODY_BYTES // 1024} KiB"


def test_key_routes_document_the_rate_limit_fields(spec: dict[str, Any]) -> None:
    for method, path, security, _ in OPERATIONS:
        responses = spec["paths"][path][method]["responses"]
        if security != CALLER:
            continue
        assert set(responses["429"]["headers"]) == {"Retry-After", "RateLimit-Policy", "RateLimit"}
        assert {"RateLimit-Policy", "RateLimit"} <= set(responses["200"]["headers"]), (method, path)
