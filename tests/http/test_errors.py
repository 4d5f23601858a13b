"""The one mapping of errors to HTTP: every domain error has its status, headers and JSON body."""

from __future__ import annotations

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError, AsyncElasticsearch, ConnectionError, ConnectionTimeout, Elasticsearch
from fastapi import FastAPI
from fastapi.testclient import TestClient

import gateway.search  # noqa: F401  (its SearchRejected is one of the errors below)
from gateway.errors import (
    Conflict,
    ElasticsearchRejected,
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
from gateway.es.failures import CONCURRENT_CHANGE
from gateway.http.errors import error_parts, install_error_handlers, status_of


def _all_subclasses(cls: type[GatewayError]) -> list[type[GatewayError]]:
    found: list[type[GatewayError]] = []
    for sub in cls.__subclasses__():
        found += [sub, *_all_subclasses(sub)]
    return found


@pytest.mark.parametrize("cls", _all_subclasses(GatewayError), ids=lambda cls: cls.__name__)
def test_every_domain_error_has_a_status_of_its_own(cls: type[GatewayError]) -> None:
    """A new error class that http/errors.py does not know would fall back to 500."""
    assert cls.code != GatewayError.code
    assert status_of(cls.__new__(cls)) in {400, 401, 403, 404, 409, 413, 429, 503}


@pytest.mark.parametrize(
    ("error", "status", "code", "headers"),
    [
        (InvalidInput("bad"), 400, "bad_request", None),
        (ElasticsearchRejected("no such field"), 400, "elasticsearch_rejected", None),
        (TooLarge("big"), 413, "payload_too_large", None),
        (NotAuthenticated("who"), 401, "not_authenticated", None),
        (NotAuthenticated("who", scheme="ApiKey"), 401, "not_authenticated", {"WWW-Authenticate": "ApiKey"}),
        (NotPermitted("no"), 403, "forbidden", None),
        (NotFound("none"), 404, "not_found", None),
        (Conflict("another run holds the lease"), 409, "conflict", None),
        (TooManyAttempts("wait", retry_after=7), 429, "too_many_requests", {"Retry-After": "7"}),
        (ElasticsearchUnavailable("down"), 503, "elasticsearch_unavailable", {"Retry-After": "2"}),
    ],
)
def test_status_headers_and_body(
    error: GatewayError, status: int, code: str, headers: dict[str, str] | None
) -> None:
    assert error_parts(error) == (status, {"error": {"code": code, "message": error.message}}, headers)


def test_details_reach_the_body() -> None:
    _, body, _ = error_parts(InvalidInput("invalid filters", details=[{"location": ["name"]}]))
    assert body["error"]["details"] == [{"location": ["name"]}]


def test_anything_else_is_a_500_without_internals(caplog: pytest.LogCaptureFixture) -> None:
    status, body, _ = error_parts(RuntimeError("secret internals"))
    assert status == 500 and "secret" not in str(body)
    assert "unhandled error" in caplog.text


def _es_error(status: int) -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "localhost", 9200))
    return ApiError("error", meta, {"error": {"reason": "why"}, "status": status})


@pytest.mark.parametrize(
    "exc",
    [ConnectionError("refused"), ConnectionTimeout("slow"), _es_error(503), _es_error(500)],
    ids=["unreachable", "timed-out", "es-503", "es-500"],
)
def test_every_503_says_when_to_retry(exc: Exception) -> None:
    status, body, headers = error_parts(exc)
    assert status == 503 and body["error"]["code"] == "elasticsearch_unavailable"
    assert headers == {"Retry-After": str(Unavailable.retry_after)}


def test_elasticsearch_refusing_the_request_itself_is_no_reason_to_retry() -> None:
    assert error_parts(_es_error(400))[0] == 400 and error_parts(_es_error(400))[2] is None


def test_a_version_conflict_on_the_real_node_is_a_409_conflict(es: Elasticsearch, es_url: str) -> None:
    """Two writes racing for one document: the loser answers 409 ``conflict``, not a 400 of the caller."""
    es.indices.create(index="gateway-test-conflicts")
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/create-twice")
    async def create_twice() -> None:
        async with AsyncElasticsearch(es_url) as client:
            for _ in range(2):
                await client.create(index="gateway-test-conflicts", id="doc", document={"a": 1})

    @app.post("/stale-write")
    async def stale_write() -> None:
        async with AsyncElasticsearch(es_url) as client:
            await client.index(
                index="gateway-test-conflicts", id="doc", document={"a": 2}, if_seq_no=99, if_primary_term=1
            )

    try:
        with TestClient(app) as http:
            for path in ("/create-twice", "/stale-write"):
                answer = http.post(path)
                assert answer.status_code == 409, answer.text
                assert answer.json() == {"error": {"code": "conflict", "message": CONCURRENT_CHANGE}}
    finally:
        es.indices.delete(index="gateway-test-conflicts")
