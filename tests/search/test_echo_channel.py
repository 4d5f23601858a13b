"""No echo channel: no answer of the passthrough search, result or rejection reason, carries data of another
index. Secrets ("canaries") are planted in the gateway's private indices and an entity index of a real
node; lookups aimed at them are sent through the gateway in every place a query can stand."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest
from elasticsearch import ApiError, Elasticsearch
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.search.service import WITHHELD, reason_for_caller
from tests.helpers import TEST_TENANT_ID, create_key, login, showcase_datasource
from tests.search.strategies import FORBIDDEN_QUERIES, VALID_BODIES

INDEX = "autonomous-iam_common_datasources_latest"
CANARY = f"CANARY{uuid.uuid4().hex}"
# (index, document id, field holding the canary): private users, API-key records, the audit trail, an
# entity index.
PLANTED = [
    ("gateway-users", "canary-user", "password_hash"),
    ("gateway-api-keys", "canary-key", "digest"),
    ("gateway-audit-2000.01.01", "canary-event", "actor"),  # the audit trail (one index per day)
    ("autonomous-iam_autoid_base_identities_latest", "canary-identity", "usr_name"),
]


def _lookup(index: str, doc_id: str, path: str) -> dict[str, Any]:
    # Aimed at a date field: Elasticsearch's parse error quotes the looked-up value.
    return {"terms": {"metadata.created": {"index": index, "id": doc_id, "path": path}}}


def _places(query: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "query": {"query": query},
        "post_filter": {"post_filter": query},
        "filter aggregation": {"aggs": {"a": {"filter": query}}},
        "filters aggregation": {"aggs": {"a": {"filters": {"filters": {"x": query}}}}},
        "adjacency_matrix": {"aggs": {"a": {"adjacency_matrix": {"filters": {"x": query}}}}},
        "significant_terms": {
            "aggs": {"a": {"significant_terms": {"field": "name.keyword", "background_filter": query}}}
        },
        "rescore": {"rescore": {"query": {"rescore_query": query}}},
        "highlight_query": {"highlight": {"fields": {"name": {"highlight_query": query}}}},
    }


@pytest.fixture
def planted(es: Elasticsearch, client: TestClient) -> str:
    """A key for the test tenant, a data source to search, and the canaries planted; returns the key."""
    key = create_key(client, login(client))
    doc = showcase_datasource()
    es.index(index=INDEX, id=hashlib.sha512(b"actual_x").hexdigest(), document=doc, refresh=True)
    for index, doc_id, field in PLANTED:
        es.index(index=index, id=doc_id, document={field: CANARY}, refresh=True)
    return key


def _search(client: TestClient, key: str, body: Any) -> Any:
    headers = {"authorization": key, "x-tenant-id": TEST_TENANT_ID, "content-type": "application/json"}
    return client.post("/jas/datasource/search", content=json.dumps({"query": body}), headers=headers)


def test_the_channel_exists_when_elasticsearch_is_asked_directly(planted: str, es: Elasticsearch) -> None:
    """The control: without the gateway, a lookup in a filter aggregation quotes a private value back."""
    index, doc_id, field = PLANTED[0]
    body = {"size": 0, "aggs": {"a": {"filter": _lookup(index, doc_id, field)}}}
    with pytest.raises(ApiError) as caught:
        es.perform_request(
            "POST", f"/{INDEX}/_search", body=body,
            headers={"content-type": "application/json", "accept": "application/json"},
        )  # fmt: skip
    assert CANARY in json.dumps(caught.value.body)


@pytest.mark.parametrize(("index", "doc_id", "field"), PLANTED, ids=[p[0] for p in PLANTED])
def test_lookups_of_planted_secrets_are_refused_in_every_place(
    client: TestClient, planted: str, index: str, doc_id: str, field: str
) -> None:
    for place, body in _places(_lookup(index, doc_id, field)).items():
        response = _search(client, planted, body)
        assert CANARY not in response.text, place
        assert response.status_code == 400, place
        assert response.json()["error"]["code"] == "search_rejected", place


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=VALID_BODIES, forbidden=FORBIDDEN_QUERIES, where=st.sampled_from(["query", "post_filter"]))
def test_generated_bodies_never_answer_with_a_canary_or_a_5xx(
    client: TestClient, planted: str, body: dict[str, Any], forbidden: dict[str, Any], where: str
) -> None:
    for attempt in (
        body,
        {**body, where: {"bool": {"should": [forbidden, body.get(where, {"match_all": {}})]}}},
    ):
        response = _search(client, planted, attempt)
        assert response.status_code in (200, 400), (attempt, response.text)
        assert CANARY not in response.text


def test_a_reason_naming_another_index_is_withheld() -> None:
    foreign = {
        "error": {
            "root_cause": [
                {"type": "parse_exception", "reason": f"failed to parse [{CANARY}]", "index": "x"}
            ],
            "failed_shards": [{"index": INDEX, "reason": {"reason": "x"}}],
        }
    }
    missing = {"error": {"root_cause": [{"type": "index_not_found_exception", "reason": "no such index [s]",
                         "resource.type": "index_or_alias", "resource.id": "secret-index"}]}}  # fmt: skip
    own = {"error": {"root_cause": [{"reason": "failed to parse date field [x]", "index": INDEX}]}}
    assert reason_for_caller(foreign, INDEX) == WITHHELD
    assert reason_for_caller(missing, INDEX) == WITHHELD
    assert reason_for_caller(own, INDEX) == "failed to parse date field [x]"
