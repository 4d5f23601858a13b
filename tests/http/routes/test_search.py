"""POST /jas/datasource/search: the documented request, native responses, the guard, bad input."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.auth.key_store import API_KEYS_INDEX
from gateway.auth.users import USERS_INDEX
from gateway.http.fastpath import GatewayApp
from gateway.settings import Settings
from tests.helpers import DOCUMENTED_SEARCH, TEST_TENANT_ID, create_key, login, showcase_datasource

INDEX = "autonomous-iam_common_datasources_latest"
SHOWCASE_ID = "2d7a6a76-469c-4035-b312-fb1daf104e98"

# Every header of the original documentation's curl example, the key in place of the documented one.
BROWSER_HEADERS = {
    "authority": "autoid-ui.forgerock.com",
    "sec-ch-ua": '"Chromium";v="92", " Not A;Brand";v="99", "Google Chrome";v="92"',
    "accept": "application/json, text/plain, /",
    "x-tenant-id": TEST_TENANT_ID,
    "sec-ch-ua-mobile": "?0",
    "user-agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/92.0.4515.159 Safari/537.36",
    "content-type": "application/json",
    "origin": "https://autoid-ui.forgerock.com",
    "sec-fetch-site": "same-origin",
    "sec-fetch-mode": "cors",
    "sec-fetch-dest": "empty",
    "referer": "https://autoid-ui.forgerock.com/data-sources",
    "accept-language": "en-US,en;q=0.9",
}


@pytest.fixture(params=["fast path", "route"])
def client(request: pytest.FixtureRequest, settings: Settings) -> Iterator[TestClient]:
    """Every test here runs twice: answered by the fast path, and by the FastAPI route without it."""
    app = create_app(settings)
    assert isinstance(app, GatewayApp)
    if request.param == "route":
        app.fast_paths.clear()
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def key(client: TestClient) -> str:
    return create_key(client, login(client))


def _post(client: TestClient, key: str, body: Any = None, *, raw: bytes | None = None) -> Any:
    content = raw if raw is not None else json.dumps(DOCUMENTED_SEARCH if body is None else body).encode()
    return client.post(
        "/jas/datasource/search", content=content, headers={**BROWSER_HEADERS, "authorization": key}
    )


def _index_datasource(es: Elasticsearch, datasource_id: str, name: str) -> None:
    doc = showcase_datasource()
    doc["datasource_id"] = doc["metadata"]["primaryKey"] = datasource_id
    doc["name"] = name
    doc_id = hashlib.sha512(f"actual_{datasource_id}".encode()).hexdigest()
    es.index(index=INDEX, id=doc_id, document=doc, refresh=True)


def test_documented_request_returns_the_native_response(
    client: TestClient, key: str, es: Elasticsearch
) -> None:
    doc = showcase_datasource()
    doc_id = hashlib.sha512(f"actual_{SHOWCASE_ID}".encode()).hexdigest()
    es.index(index=INDEX, id=doc_id, document=doc, refresh=True)
    response = _post(client, key, raw=json.dumps(DOCUMENTED_SEARCH, indent=2).encode())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["took", "timed_out", "_shards", "hits"]
    assert body["timed_out"] is False
    assert body["_shards"] == {"total": 3, "successful": 3, "skipped": 0, "failed": 0}
    assert body["hits"]["total"] == {"value": 1, "relation": "eq"}
    assert body["hits"]["max_score"] is None
    hit = body["hits"]["hits"][0]
    assert list(hit) == ["_index", "_id", "_score", "_source", "sort"]
    assert hit["_index"] == INDEX
    assert hit["_id"].startswith("259b80c7") and hit["_id"].endswith("e7a35b") and len(hit["_id"]) == 128
    assert hit["_score"] is None
    assert hit["_source"] == doc
    assert hit["sort"] == [SHOWCASE_ID]


def test_results_are_sorted_as_asked_and_totals_tracked(
    client: TestClient, key: str, es: Elasticsearch
) -> None:
    ids = [f"0000000{n}-0000-4000-8000-000000000000" for n in range(5)]
    for n, datasource_id in enumerate(ids):
        _index_datasource(es, datasource_id, f"ds-{n}")
    body = _post(client, key).json()
    assert [h["sort"][0] for h in body["hits"]["hits"]] == sorted(ids, reverse=True)
    ascending = {"query": {**DOCUMENTED_SEARCH["query"], "sort": [{"name.keyword": "asc"}], "size": 2}}
    body = _post(client, key, ascending).json()
    assert [h["_source"]["name"] for h in body["hits"]["hits"]] == ["ds-0", "ds-1"]
    assert body["hits"]["total"] == {"value": 5, "relation": "eq"}


def test_the_response_is_elasticsearchs_bytes(client: TestClient, key: str, es: Elasticsearch) -> None:
    # _source comes back exactly as it was indexed, spacing and key order included.
    source = '{"datasource_id":  "abc", "name": "spaced  out",   "isActive": true}'
    es.index(index=INDEX, id="raw", document=json.loads(source), refresh=True)
    es.perform_request(  # index the raw text, not a re-encoded dict
        "PUT", f"/{INDEX}/_doc/raw", params={"refresh": "true"},
        headers={"content-type": "application/json", "accept": "application/json"}, body=source,
    )  # fmt: skip
    response = _post(client, key, {"query": {"query": {"ids": {"values": ["raw"]}}}})
    assert source.encode() in response.content


def test_empty_index_answers_with_no_hits(client: TestClient, key: str) -> None:
    body = _post(client, key).json()
    assert body["hits"]["total"] == {"value": 0, "relation": "eq"}
    assert body["hits"]["hits"] == []


def test_elasticsearch_rejections_come_back_as_400_with_its_reason(
    client: TestClient, key: str, es: Elasticsearch
) -> None:
    _index_datasource(es, SHOWCASE_ID, "Showcase-CSV-DS")  # empty shards skip queries they cannot match
    cases = [
        ({"query": {"range": {"metadata.created": {"gte": "not-a-date"}}}}, "failed to parse date field"),
        (
            {"aggs": {"a": {"histogram": {"field": "name.keyword", "interval": 1}}}},
            "not supported for aggregation",
        ),
        ({"sort": [{"name": "asc"}]}, "fielddata"),
        # Elasticsearch itself answers this one with 500; it is still the body's fault, not an outage.
        (
            {
                "aggs": {
                    "a": {"filter": {"nested": {"path": "connectionSettings", "query": {"match_all": {}}}}}
                }
            },
            "failed to find nested object under path [connectionSettings]",
        ),
    ]
    for body, reason in cases:
        response = _post(client, key, {"query": body})
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert error["code"] == "elasticsearch_rejected"
        assert reason in error["message"], error


GUARD_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("script query", {"query": {"script": {"script": "true"}}}, "script"),
    ("script_score", {"query": {"script_score": {"query": {"match_all": {}}, "script": "1"}}}, "script"),
    ("function_score script", {"query": {"function_score": {"functions": [{"script_score": {}}]}}}, "script"),
    ("script_fields", {"script_fields": {"x": {"script": "1"}}}, "script_fields"),
    ("runtime_mappings", {"runtime_mappings": {"x": {"type": "keyword"}}}, "runtime_mappings"),
    ("scripted sort", {"sort": [{"_script": {"type": "number", "script": "1"}}]}, "_script"),
    ("scripted_metric", {"aggs": {"a": {"scripted_metric": {"map_script": "x"}}}}, "script"),
    ("terms agg script", {"aggs": {"a": {"terms": {"script": "doc['x']"}}}}, "script"),
    ("bucket_script", {"aggs": {"a": {"bucket_script": {"buckets_path": {}, "script": "1"}}}}, "script"),
    ("bucket_selector", {"aggs": {"a": {"bucket_selector": {"buckets_path": {}}}}}, "bucket_selector"),
    (
        "terms lookup",
        {"query": {"terms": {"name": {"index": USERS_INDEX, "id": "x", "path": "username"}}}},
        "terms lookup",
    ),
    (
        "mlt foreign doc",
        {"query": {"more_like_this": {"fields": ["name"], "like": [{"_index": API_KEYS_INDEX, "_id": "x"}]}}},
        "another index",
    ),
    ("percolate", {"query": {"percolate": {"field": "q", "index": USERS_INDEX, "id": "x"}}}, "percolate"),
    (
        "indexed shape",
        {"query": {"geo_shape": {"loc": {"indexed_shape": {"index": USERS_INDEX, "id": "x"}}}}},
        "geo_shape",
    ),
    ("wrapper", {"query": {"wrapper": {"query": "eyJtYXRjaF9hbGwiOnt9fQ=="}}}, "wrapper"),
    ("indices_boost", {"indices_boost": [{USERS_INDEX: 2}]}, "indices_boost"),
    ("pit", {"pit": {"id": "abc"}}, "pit"),
    ("phrase suggest collate", {"suggest": {"s": {"phrase": {"collate": {"query": {}}}}}}, "collate"),
    ("unknown top-level", {"stats": ["x"]}, "stats"),
    ("size too big", {"size": 10001}, "size"),
    ("negative size", {"size": -1}, "size"),
    ("size as string", {"size": "10"}, "size"),
    ("size as boolean", {"size": True}, "size"),
    ("deep paging", {"from": 9995, "size": 10}, "from"),
    ("huge agg", {"aggs": {"a": {"terms": {"field": "name.keyword", "size": 1_000_000}}}}, "size"),
    ("long timeout", {"timeout": "1h"}, "timeout"),
    ("bad timeout", {"timeout": 5}, "timeout"),
]


@pytest.mark.parametrize(("name", "body", "named"), GUARD_CASES, ids=[c[0] for c in GUARD_CASES])
def test_the_guard_refuses_with_400_naming_the_construct(
    client: TestClient, key: str, name: str, body: dict[str, Any], named: str
) -> None:
    response = _post(client, key, {"query": body})
    assert response.status_code == 400, name
    error = response.json()["error"]
    assert error["code"] == "search_rejected"
    assert named in error["message"]
    assert "admin@example.com" not in response.text and "$argon2" not in response.text


def test_deep_nesting_is_refused(client: TestClient, key: str) -> None:
    query: dict[str, Any] = {"match_all": {}}
    for _ in range(40):
        query = {"bool": {"must": [query]}}
    response = _post(client, key, {"query": {"query": query}})
    assert response.status_code == 400
    assert "nests deeper" in response.json()["error"]["message"]


BAD_ENVELOPES: list[bytes] = [
    b"",
    b"{",
    b"not json",
    b"[]",
    b'"query"',
    b"42",
    b"null",
    b"{}",
    b'{"query": []}',
    b'{"query": "match_all"}',
    b'{"query": null}',
    b'{"query": {}, "index": "gateway-users"}',
    b'{"query": {"query": {"match_all": {}}}',
    b"\xff\xfe",
    b"[" * 5000 + b"]" * 5000,
    b'{"query": {"size": 1e400}}',
]


@pytest.mark.parametrize("raw", BAD_ENVELOPES, ids=range(len(BAD_ENVELOPES)))
def test_malformed_requests_are_400_never_5xx(client: TestClient, key: str, raw: bytes) -> None:
    response = _post(client, key, raw=raw)
    assert response.status_code == 400, response.text
    assert set(response.json()["error"]) >= {"code", "message"}


def test_oversized_body_is_413(client: TestClient, key: str) -> None:
    big = {"query": {"query": {"ids": {"values": ["x" * 100] * 3000}}}}
    response = _post(client, key, big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_searches_never_see_other_indices(client: TestClient, key: str, es: Elasticsearch) -> None:
    es.index(index="autonomous-iam_autoid_base_identities_latest", document={"usr_id": "u1"}, refresh=True)
    body = _post(client, key, {"query": {"query": {"match_all": {}}, "size": 100}}).json()
    assert {h["_index"] for h in body["hits"]["hits"]} <= {INDEX}
    assert body["hits"]["total"]["value"] == 0
