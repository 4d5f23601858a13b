"""A key limited to data source A never gets anything of data source B through the passthrough search: no
document, no term, no count. Every field of B's documents carries a distinctive token; bodies built from
the grammar, and every construct that reads outside the query, are sent with a key limited to A."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import TEST_TENANT_ID, create_key, login, showcase_datasource
from tests.search.strategies import AGGREGATIONS, QUERIES, VALID_BODIES

INDEX = "autonomous-iam_common_datasources_latest"
OURS = "aaaa0000-ours"
THEIRS = ("bbbb0001-zebrasecret", "bbbb0002-zebrasecret")
TOKEN = "zebrasecret"  # in every field of the other data source's documents, and nowhere else


def _document(ds: str, word: str) -> dict[str, Any]:
    """A data-source document whose every text names ``word`` (SPEC §5's shape)."""
    doc = showcase_datasource()
    prefix = f"/autoid/system/datasources/{ds}"
    doc.update(
        datasource_id=ds,
        name=f"{word} source {ds[-4:]}",
        sync_type=f"full {word}",
        icon=f"{word}-icon",
        entityTypes={f"{prefix}/identities": {"uri": {"file": f"file:/data/{word}/identities.csv"}}},
        connectionSettings={"csv": {"delimiter": word}},
    )
    doc["metadata"].update(primaryKey=ds, entityPath=f"/common/datasources/{ds}", contextId=word)
    return doc


def _doc_id(ds: str) -> str:
    return hashlib.sha512(f"actual_{ds}".encode()).hexdigest()


@pytest.fixture
def limited(es: Elasticsearch, client: TestClient) -> str:
    """Our data source and two others in the index; a key limited to ours."""
    for ds, word in ((OURS, "alphaown"), *((other, TOKEN) for other in THEIRS)):
        es.index(index=INDEX, id=_doc_id(ds), document=_document(ds, word))
    es.indices.refresh(index=INDEX)
    return create_key(client, login(client), datasources=[OURS])


@pytest.fixture
def unlimited(client: TestClient, limited: str) -> str:
    return create_key(client, login(client), name="Unlimited")


def _search(client: TestClient, key: str, body: Any) -> Any:
    headers = {"authorization": key, "x-tenant-id": TEST_TENANT_ID, "content-type": "application/json"}
    return client.post("/jas/datasource/search", content=json.dumps({"query": body}), headers=headers)


def _counts(node: Any) -> list[int]:
    """Every document count in an answer: hits.total, doc_count, bg_count."""
    found: list[int] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("doc_count", "bg_count") and isinstance(value, int):
                found.append(value)
            elif key == "total" and isinstance(value, dict) and isinstance(value.get("value"), int):
                found.append(value["value"])
            else:
                found.extend(_counts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_counts(item))
    return found


def assert_nothing_of_theirs(response: Any) -> None:
    text = response.text.lower()
    assert TOKEN not in text, response.text
    for ds in THEIRS:
        assert _doc_id(ds) not in text, response.text
    if response.status_code == 200:
        # Ours is the one document the key may see: a count above 1 counted one of theirs.
        assert all(count <= 1 for count in _counts(response.json())), response.text


# Constructs that read outside the query, each with a body that shows the other data sources to a key
# without a limit; a limited key gets them scoped (200, nothing of theirs) or refused (400, named).
ALL_NAMES = {"terms": {"field": "name.keyword", "size": 10}}
OUTSIDE: dict[str, tuple[dict[str, Any], str]] = {
    "global aggregation": (
        {"size": 0, "aggs": {"g": {"global": {}, "aggs": {"n": ALL_NAMES, "h": {"top_hits": {"size": 5}}}}}},
        "scoped",
    ),
    "significant_terms background": (
        {"size": 0, "aggs": {"s": {"significant_terms": {"field": "icon.keyword", "min_doc_count": 1}}}},
        "scoped",
    ),
    "significant_terms background_filter": (
        {
            "size": 0,
            "aggs": {
                "s": {
                    "significant_terms": {
                        "field": "icon.keyword",
                        "min_doc_count": 1,
                        "background_filter": {"match_all": {}},
                    }
                }
            },
        },
        "scoped",
    ),
    "terms min_doc_count 0": (
        {"size": 0, "aggs": {"n": {"terms": {"field": "name.keyword", "min_doc_count": 0}}}},
        "refused",
    ),
    "significant_terms min_doc_count 0": (
        {"size": 0, "aggs": {"s": {"significant_terms": {"field": "icon.keyword", "min_doc_count": 0}}}},
        "refused",
    ),
    "term suggester": ({"suggest": {"s": {"text": "zebrasecrex", "term": {"field": "name"}}}}, "refused"),
    "phrase suggester": (
        {"suggest": {"s": {"text": "zebrasecrex source", "phrase": {"field": "name"}}}},
        "refused",
    ),
    "more_like_this": (
        {
            "query": {
                "more_like_this": {"fields": ["name"], "like": "alphaown zebrasecret", "min_doc_freq": 1}
            }
        },
        "refused",
    ),
    "explain": ({"explain": True, "query": {"match": {"name": "source"}}}, "refused"),
    "top_hits explain": ({"aggs": {"t": {"top_hits": {"explain": True}}}}, "refused"),
    "rescore": (
        {"rescore": {"query": {"rescore_query": {"match": {"name": "source"}}}}},
        "refused",
    ),
    "function_score min_score": (
        {"query": {"function_score": {"query": {"match": {"name": "source"}}, "min_score": 0.5}}},
        "refused",
    ),
    "fuzzy top-terms expansion": ({"query": {"fuzzy": {"name": "zebrasecrex"}}}, "refused"),
    "match fuzziness": (
        {"query": {"match": {"name": {"query": "zebrasecrex", "fuzziness": 2}}}},
        "refused",
    ),
    "query_string fuzzy": ({"query": {"query_string": {"query": "zebrasecrex~"}}}, "refused"),
    "simple_query_string fuzzy": ({"query": {"simple_query_string": {"query": "zebrasecrex~"}}}, "refused"),
    "match_phrase_prefix": ({"query": {"match_phrase_prefix": {"name": "zebra"}}}, "refused"),
    "prefix top_terms rewrite": (
        {"query": {"prefix": {"name": {"value": "zebra", "rewrite": "top_terms_1"}}}},
        "refused",
    ),
    "intervals prefix": ({"query": {"intervals": {"name": {"prefix": {"prefix": "zebra"}}}}}, "refused"),
    "post_filter": ({"post_filter": {"match_all": {}}}, "scoped"),
    "collapse inner_hits": (
        {"collapse": {"field": "metadata.tenantId.keyword", "inner_hits": {"name": "all", "size": 5}}},
        "scoped",
    ),
    "ids": ({"query": {"ids": {"values": [_doc_id(ds) for ds in THEIRS]}}}, "scoped"),
    "query_string on every field": ({"query": {"query_string": {"query": TOKEN}}}, "scoped"),
    "fuzzy with constant_score": (
        {"query": {"fuzzy": {"name": {"value": "zebrasecrex", "rewrite": "constant_score"}}}},
        "scoped",
    ),
    "match fuzziness with constant_score": (
        {
            "query": {
                "match": {"name": {"query": "zebrasecrex", "fuzziness": 2, "fuzzy_rewrite": "constant_score"}}
            }
        },
        "scoped",
    ),
}


def test_each_construct_that_reads_outside_the_query_is_scoped_or_refused(
    client: TestClient, limited: str, unlimited: str
) -> None:
    for construct, (body, outcome) in OUTSIDE.items():
        answer = _search(client, limited, body)
        assert_nothing_of_theirs(answer)
        if outcome == "scoped":
            assert answer.status_code == 200, (construct, answer.text)
        else:
            assert answer.status_code == 400, (construct, answer.text)
            error = answer.json()["error"]
            assert error["code"] == "search_rejected", construct
            assert "limited to data sources" in error["message"], construct
        # The same body from a key without a limit is accepted as it was (and may see everything).
        control = _search(client, unlimited, body)
        assert control.status_code == 200, (construct, control.text)


def test_the_constructs_show_the_others_to_a_key_without_a_limit(client: TestClient, unlimited: str) -> None:
    """The control: these bodies do read the other data sources when nothing scopes them."""
    for construct in ("global aggregation", "terms min_doc_count 0", "term suggester", "ids", "post_filter"):
        assert TOKEN in _search(client, unlimited, OUTSIDE[construct][0]).text.lower(), construct
    background = _search(client, unlimited, OUTSIDE["significant_terms background"][0])
    assert max(_counts(background.json())) == 3


def test_a_limited_key_sees_its_documents_unscored(client: TestClient, limited: str) -> None:
    answer = _search(client, limited, {"query": {"match": {"name": "source alphaown"}}})
    assert answer.status_code == 200, answer.text
    hits = answer.json()["hits"]
    assert [hit["_source"]["datasource_id"] for hit in hits["hits"]] == [OURS]
    # Scores use the whole index's statistics (how common a term is in other data sources): none are given.
    assert hits["max_score"] == 0 and hits["hits"][0]["_score"] == 0


def test_the_documented_search_answers_only_the_key_s_data_source(client: TestClient, limited: str) -> None:
    answer = _search(client, limited, {"sort": [{"datasource_id.keyword": "desc"}], "track_total_hits": True})
    assert answer.status_code == 200
    assert answer.json()["hits"]["total"]["value"] == 1
    assert_nothing_of_theirs(answer)


OUTSIDE_READS: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.builds(lambda sub: {"global": {}, "aggs": {"x": sub}}, AGGREGATIONS),
    st.builds(lambda n: {"terms": {"field": "name.keyword", "min_doc_count": n}}, st.integers(0, 1)),
    st.just({"significant_terms": {"field": "icon.keyword", "min_doc_count": 1}}),
)


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=VALID_BODIES, outside=OUTSIDE_READS, query=QUERIES, data=st.data())
def test_no_accepted_body_answers_a_limited_key_with_anything_of_another_data_source(
    client: TestClient, limited: str, body: dict[str, Any], outside: dict[str, Any], query: Any, data: Any
) -> None:
    attempts = [body, {**copy.deepcopy(body), "aggs": {**body.get("aggs", {}), "o": outside}}]
    if data.draw(st.booleans()):
        attempts.append({"query": query, "size": 10, "aggs": {"o": outside}})
    for attempt in attempts:
        answer = _search(client, limited, attempt)
        assert answer.status_code in (200, 400), (attempt, answer.text)
        assert_nothing_of_theirs(answer)


def test_top_terms_expansions_tell_whether_another_document_holds_a_term(es: Elasticsearch) -> None:
    """Why fuzzy matching without a constant_score rewrite and phrase prefixes are refused: scoped to our
    document, they still match it or not depending on a term only another data source's document holds."""
    index = "autonomous-iam_probe"
    mappings = {"properties": {"t": {"type": "text"}, "ds": {"type": "keyword"}}}
    # One shard, as a small data-source index may well be: expansions are picked per shard.
    es.indices.create(index=index, mappings=mappings, settings={"number_of_shards": 1})
    es.index(index=index, id="ours", document={"t": "secret1", "ds": OURS})
    es.index(index=index, id="theirs", document={"t": "secret0", "ds": THEIRS[0]})
    es.indices.refresh(index=index)
    es.indices.forcemerge(index=index, max_num_segments=1)  # a prefix expands segment by segment
    es.indices.refresh(index=index)

    def matches_ours(query: dict[str, Any]) -> bool:
        scoped = {"bool": {"filter": [{"term": {"ds": OURS}}, query]}}
        return bool(es.search(index=index, query=scoped)["hits"]["total"]["value"])

    fuzzy = {"value": "secret2", "fuzziness": 1, "max_expansions": 1}
    assert not matches_ours({"fuzzy": {"t": fuzzy}})  # "secret0" of theirs took the one expansion
    assert matches_ours({"fuzzy": {"t": {**fuzzy, "rewrite": "constant_score"}}})
    qs = {"query": "secret2~1", "fuzzy_max_expansions": 1}
    assert not matches_ours({"query_string": {**qs, "fuzzy_rewrite": "constant_score"}})
    assert not matches_ours({"match_phrase_prefix": {"t": {"query": "secret", "max_expansions": 1}}})
    es.indices.delete(index=index)
