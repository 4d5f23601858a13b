"""Passthrough search against search bodies taken from the REST tests of Elasticsearch's code base.

Every body of ``tests/data/es_rest_search_bodies.json`` (see the README next to it) is sent twice: through
``POST /jas/datasource/search`` and straight to Elasticsearch, to the same index with the same parameters the
gateway uses. The gateway must answer as Elasticsearch does, or refuse the body naming the construct; never
with a 5xx. All calls are made once for the module; each body still has its own test id.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.es.failures import reason_from_body
from tests.helpers import (
    TEST_TENANT_ID,
    GatewayProcess,
    create_key,
    login,
    make_settings,
    replica_env,
    showcase_datasource,
)

INDEX = "autonomous-iam_common_datasources_latest"
CORPUS_FILE = Path(__file__).resolve().parent.parent / "data" / "es_rest_search_bodies.json"
CORPUS: list[dict[str, Any]] = json.loads(CORPUS_FILE.read_text(encoding="utf-8"))
SOURCES: list[str] = [str(entry["source"]) for entry in CORPUS]

# Fields the REST tests search, sort and aggregate on, mapped as those tests map them (the index template
# maps dynamic strings as text + .keyword, which would turn most keyword aggregations into fielddata errors).
EXTRA_MAPPINGS: dict[str, Any] = {
    "properties": {
        **{name: {"type": "keyword"} for name in ("str", "tag", "keyword", "user", "bigint", "product_id")},
        **{name: {"type": "long"} for name in ("integer", "number", "long", "count", "int_field", "field")},
        **{name: {"type": "integer"} for name in ("numeric_group", "sort", "age", "id", "popularity")},
        **{name: {"type": "double"} for name in ("double", "d", "num1", "population")},
        **{name: {"type": "completion"} for name in ("suggest_1", "suggest_2", "suggest_3", "suggest_6")},
        **{name: {"type": "nested"} for name in ("nested_field", "users", "nested")},
        "ip": {"type": "ip"},
        "boolean": {"type": "boolean"},
        "date": {"type": "date"},
        "timestamp": {"type": "date"},
        "text": {
            "type": "text",
            "fields": {
                "fvh": {"type": "text", "term_vector": "with_positions_offsets"},
                "postings": {"type": "text", "index_options": "offsets"},
            },
        },
        "another_text": {
            "type": "text",
            "analyzer": "stop",
            "fields": {"plain": {"type": "text", "analyzer": "standard"}},
        },
        "field1": {"type": "text"},
        "field2": {"type": "text", "index_options": "offsets"},
    }
}

FOX = "The quick brown fox went to the forest and saw another fox."
DOCUMENTS: dict[str, dict[str, Any]] = {
    "rest-1": {
        "text": "The quick brown fox is brown.", "str": "abc", "tag": "A", "keyword": "foo", "foo": "bar",
        "numeric_group": 1, "sort": 10, "age": 18, "id": 1, "integer": 1234, "number": 100, "double": 42,
        "date": "2016-05-03", "timestamp": "2019-10-21T00:30:04.828Z", "ip": "::1", "boolean": True,
        "count": 1, "d": 3.14, "include": {"field1": "v1", "field2": "v2"}, "bigint": 72057594037927936,
        "field1": FOX, "field2": FOX, "suggest_1": "bar", "suggest_2": ["bar", "foo"],
        "nested_field": [{"foo": "bar"}], "users": [{"first": "John", "last": "Smith"},
        {"first": "Alice", "last": "White"}], "group": "fans", "user": "u1", "int_field": 1, "field": 1,
        "long": [10, 20], "nested": [{"nested_long": 10}, {"nested_long": 20}], "num1": 1.0,
        "population": 184.4, "description": "flat tv 4K HDR", "product_id": "0", "popularity": 30,
    },
    "rest-2": {
        "another_text": "What jumps over the lazy dog?", "str": "abc", "tag": "B", "keyword": ["foo", "bar"],
        "foo": "bar", "numeric_group": 25, "sort": 6, "age": 24, "id": 172, "integer": 5678, "number": 10,
        "double": 100, "date": "2014-09-01", "timestamp": "2019-10-21T08:30:04.828Z", "ip": "192.168.0.1",
        "boolean": False, "count": 2, "suggest_3": {"input": "baz", "weight": 3}, "suggest_6": "baz",
        "users": [{"first": "Mark", "last": "Doe"}], "group": "fans", "user": "u2", "int_field": 2,
        "field": [1, 2], "long": [100, 0], "nested": [{"nested_long": 1000}], "num1": 2.0,
        "population": 194.4, "description": "LED Smart TV 32", "product_id": "10", "popularity": 100,
    },
    "rest-3": {
        "text": "Its cold outside, theres no kind of atmosphere", "str": "bcd", "tag": "A", "keyword": "bar",
        "foo": "baz", "numeric_group": 3, "sort": 36, "age": 18, "id": 42, "integer": 1234, "number": 14,
        "double": 50, "date": "2016-05-03", "ip": "192.168.0.7", "boolean": True, "int_field": 3,
        "num1": 3.0, "description": "basic tv", "product_id": "30", "popularity": 1000,
    },
}  # fmt: skip


@dataclass(frozen=True)
class Exchange:
    """One body, as answered through the gateway and directly by Elasticsearch; and by a running gateway,
    which answers it in its HTTP protocol (gateway/http/hotpath.py) rather than through the app."""

    body: dict[str, Any]
    gateway_status: int
    gateway: Any
    es_status: int
    es: Any
    served_status: int
    served: Any


def _decoded(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", "replace")


def _seed(es: Elasticsearch) -> None:
    if es.indices.exists(index=INDEX):
        es.indices.put_mapping(index=INDEX, body=EXTRA_MAPPINGS)
    else:  # the index template still applies: explicit mappings are merged into it
        es.indices.create(index=INDEX, mappings=EXTRA_MAPPINGS)
    showcase = showcase_datasource()
    showcase_id = hashlib.sha512(f"actual_{showcase['datasource_id']}".encode()).hexdigest()
    es.index(index=INDEX, id=showcase_id, document=showcase)
    for doc_id, document in DOCUMENTS.items():
        es.index(index=INDEX, id=doc_id, document=document)
    es.indices.refresh(index=INDEX)


@pytest.fixture(scope="module")
def exchanges(
    es_session: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Exchange]]:
    names = list(es_session.indices.get(index="autonomous-iam_*,gateway-*", expand_wildcards="all"))
    if names:
        es_session.indices.delete(index=",".join(names))
    shared = replica_env()  # one deployment: the app below and a gateway process share its secrets
    settings = make_settings(
        es_url=es_url,
        state_dir=tmp_path_factory.mktemp("conformance") / "state",
        es_request_timeout=30.0,
        jwt_secret=shared["GATEWAY_JWT_SECRET"],
        api_key_secret=shared["GATEWAY_API_KEY_SECRET"],
    )
    served = GatewayProcess(es_url, tmp_path_factory.mktemp("served") / "state", shared)
    with (
        TestClient(create_app(settings), raise_server_exceptions=False) as client,
        httpx.Client(base_url=es_url, timeout=30) as direct,
        httpx.Client(base_url=served.url, timeout=60) as running,
    ):
        served.wait_ready()
        headers = {"authorization": create_key(client, login(client)), "x-tenant-id": TEST_TENANT_ID}
        _seed(es_session)

        def exchange(body: dict[str, Any]) -> Exchange:
            through = client.post("/jas/datasource/search", json={"query": body}, headers=headers)
            # What the gateway sends: the body, with the default timeout when it has none.
            sent = {**body, "timeout": body.get("timeout", "10s")}
            answer = direct.post(
                f"/{INDEX}/_search",
                params={"allow_partial_search_results": "false"},
                content=orjson.dumps(sent),  # compact, as the gateway sends it
                headers={"content-type": "application/json"},
            )
            again = running.post("/jas/datasource/search", json={"query": body}, headers=headers)
            return Exchange(
                body,
                through.status_code,
                _decoded(through.content),
                answer.status_code,
                _decoded(answer.content),
                again.status_code,
                _decoded(again.content),
            )

        try:
            # The key's record, cached by the running gateway: from now on its protocol answers the searches.
            assert (
                running.post("/jas/datasource/search", json={"query": {}}, headers=headers).status_code == 200
            )
            # A few searches at a time: the bodies only read the index, so their order does not matter.
            with ThreadPoolExecutor(max_workers=4) as pool:
                bodies = [entry["body"] for entry in CORPUS]
                results = dict(zip(SOURCES, pool.map(exchange, bodies), strict=True))
        finally:
            served.stop()
    yield results


def _comparable(response: Any) -> Any:
    """A search response without what differs between two executions of the same search."""
    response = dict(response)
    response.pop("took")  # milliseconds spent: differs on every run
    # Per-shard timings in nanoseconds, at every level of the profile tree: differ on every run.
    response.pop("profile", None)
    return response


def _without_position(reason: str | None) -> str | None:
    """A parse error's reason without its ``[line:column]`` prefix: where in the bytes a construct sits
    depends on how the body was serialised (spacing, key order), not on what it says."""
    return re.sub(r"^\[\d+:\d+\] ", "", reason) if reason is not None else None


def _key_paths(node: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The path of every key in a body, list positions included (``query.function_score.functions.0``)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _key_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for position, item in enumerate(node):
            yield from _key_paths(item, (*prefix, str(position)))


def _named_paths(message: str, body: dict[str, Any]) -> list[str]:
    """Paths of the body's keys that the message names as a whole word (``a[0].b`` read as ``a.0.b``)."""
    text = re.sub(r"\[(\d+)\]", r".\1", message)
    named = []
    for path in {".".join(p) for p in _key_paths(body)}:
        if path == "query":  # the envelope's member: names no construct
            continue
        if re.search(rf"(?<![\w.]){re.escape(path)}(?![\w.])", text):
            named.append(path)
    return named


@pytest.mark.parametrize("source", SOURCES, ids=SOURCES)  # whole ids: pytest shortens long ones
def test_rest_test_body_is_answered_as_elasticsearch_answers_or_refused(
    exchanges: dict[str, Exchange], source: str
) -> None:
    seen = exchanges[source]
    answers = f"gateway {seen.gateway_status} {seen.gateway!r}; elasticsearch {seen.es_status} {seen.es!r}"
    assert seen.gateway_status < 500, answers
    if seen.gateway_status == 200:
        assert seen.es_status == 200, answers
        assert _comparable(seen.gateway) == _comparable(seen.es), answers
        return
    assert seen.gateway_status == 400, answers
    error = seen.gateway["error"]
    if error["code"] == "elasticsearch_rejected":
        assert 400 <= seen.es_status < 500, answers
        assert _without_position(error["message"]) == _without_position(reason_from_body(seen.es)), answers
    else:
        assert error["code"] == "search_rejected", answers
        assert _named_paths(error["message"], seen.body), answers


@pytest.mark.parametrize("source", SOURCES, ids=SOURCES)
def test_a_running_gateway_answers_each_body_as_the_app_does(
    exchanges: dict[str, Exchange], source: str
) -> None:
    """The search answered in the HTTP protocol gives the app's status and body (but took and profile)."""
    seen = exchanges[source]
    answers = (
        f"app {seen.gateway_status} {seen.gateway!r}; running gateway {seen.served_status} {seen.served!r}"
    )
    assert seen.served_status == seen.gateway_status, answers
    if seen.served_status == 200:
        assert _comparable(seen.served) == _comparable(seen.gateway), answers
    else:
        assert seen.served == seen.gateway, answers


def _source(suffix: str) -> str:
    (match,) = [source for source in SOURCES if source.split(":", 1)[1] == suffix]
    return match


# Ordinary searches among the REST tests' bodies: the guard must let every one of them through.
ORDINARY = {
    "bool": "search/350_matched_queries.yml#matched queries",
    "match": "search/90_search_after.yml#search with search_after parameter",
    "terms": "search/171_terms_query_with_types.yml#"
    "Terms Query with No.of terms exceeding index.max_terms_count should FAIL",
    "range aggregation": "search.aggregation/40_range.yml#Double range",
    "date_range under a terms query": "search.aggregation/40_range.yml#Date range unmapped with children",
    "terms aggregation": "search.aggregation/20_terms.yml#Basic test",
    "sub-aggregation": "search.aggregation/20_terms.yml#min_doc_count",
    "composite aggregation": "search.aggregation/230_composite.yml#Aggregate After",
    "pipeline aggregation": "search.aggregation/300_pipeline.yml#deep cumulative sum",
    "top_hits aggregation": "search.aggregation/200_top_hits_metric.yml#"
    "top_hits aggregation with nested documents",
    "highlight": "search.highlight/10_unified.yml#Basic",
    "highlight with matched_fields": "search.highlight/10_unified.yml#With matched_fields",
    "collapse": "search/110_field_collapsing.yml#field collapsing",
    "collapse with inner_hits": "search/110_field_collapsing.yml#field collapsing, inner_hits and version",
    "search_after": "search/90_search_after.yml#search with search_after parameter [2]",
    "sort with missing": "search/90_search_after.yml#date [4]",
    "_source includes and excludes": "search/10_source_filtering.yml#_source includes and excludes",
    "_source list": "search/10_source_filtering.yml#_source field1 field2",
    "_source false": "search/10_source_filtering.yml#_source: false",
}  # fmt: skip


@pytest.mark.parametrize("construct", list(ORDINARY))
def test_ordinary_constructs_pass_the_guard(exchanges: dict[str, Exchange], construct: str) -> None:
    seen = exchanges[_source(ORDINARY[construct])]
    refused = seen.gateway_status == 400 and seen.gateway["error"]["code"] == "search_rejected"
    assert not refused, f"{construct}: {seen.gateway!r}"
    assert seen.gateway_status < 500, f"{construct}: {seen.gateway!r}"
