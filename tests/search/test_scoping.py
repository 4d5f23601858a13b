"""The body a key limited to data sources sends: scoped, or refused where it reads outside the query."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.search import SearchRejected, prepare_search
from gateway.search.scoping import fuzzy_text

ONLY = ("ds-a",)
SCOPE = {"terms": {"datasource_id.keyword": ["ds-a"]}}


def prepared(body: dict[str, Any], datasources: tuple[str, ...] | None = ONLY) -> Any:
    return orjson.loads(prepare_search(orjson.dumps({"query": body}), datasources))


def test_a_key_without_a_limit_sends_its_body_as_written() -> None:
    raw = orjson.dumps({"query": {"query": {"match": {"name": "x"}}, "aggs": {"g": {"global": {}}}}})
    assert prepare_search(raw) == orjson.dumps(
        {"query": {"match": {"name": "x"}}, "aggs": {"g": {"global": {}}}, "timeout": "10s"}
    )


def test_the_query_is_wrapped_in_the_scope_in_filter_context() -> None:
    assert prepared({"query": {"match": {"name": "x"}}})["query"] == {
        "bool": {"filter": [SCOPE, {"match": {"name": "x"}}]}
    }
    assert prepared({})["query"] == {"bool": {"filter": [SCOPE]}}
    assert prepared({}, ("b", "a", "b"))["query"]["bool"]["filter"][0]["terms"] == {
        "datasource_id.keyword": ["a", "b"]
    }


def test_global_aggregations_become_filters_on_the_scope_at_every_depth() -> None:
    body = {"aggs": {"g": {"global": {}, "aggs": {"n": {"terms": {"field": "f"}}}}}}
    assert prepared(body)["aggs"] == {"g": {"filter": SCOPE, "aggs": {"n": {"terms": {"field": "f"}}}}}
    nested = {"aggs": {"f": {"filter": {"match_all": {}}, "aggregations": {"g": {"global": {}}}}}}
    assert prepared(nested)["aggs"]["f"]["aggregations"]["g"] == {"filter": SCOPE}


def test_significant_terms_are_measured_against_the_scope() -> None:
    plain = {"aggs": {"s": {"significant_terms": {"field": "f"}}}}
    assert prepared(plain)["aggs"]["s"]["significant_terms"]["background_filter"] == {
        "bool": {"filter": [SCOPE]}
    }
    given = {"aggs": {"s": {"significant_terms": {"field": "f", "background_filter": {"term": {"x": 1}}}}}}
    assert prepared(given)["aggs"]["s"]["significant_terms"]["background_filter"] == {
        "bool": {"filter": [SCOPE, {"term": {"x": 1}}]}
    }


REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "suggest": ({"suggest": {"s": {"text": "x", "term": {"field": "name"}}}}, "suggest"),
    "rescore": ({"rescore": {"query": {"rescore_query": {"match_all": {}}}}}, "rescore"),
    "explain": ({"explain": True}, "explain"),
    "top_hits explain": ({"aggs": {"t": {"top_hits": {"explain": True}}}}, "aggs.t.top_hits.explain"),
    "terms min_doc_count 0": (
        {"aggs": {"t": {"terms": {"field": "f", "min_doc_count": 0}}}},
        "aggs.t.terms.min_doc_count",
    ),
    "multi_terms min_doc_count 0": (
        {"aggs": {"m": {"multi_terms": {"terms": [{"field": "f"}, {"field": "g"}], "min_doc_count": 0}}}},
        "aggs.m.multi_terms.min_doc_count",
    ),
    "more_like_this": ({"query": {"more_like_this": {"like": "x"}}}, "query.more_like_this"),
    "function_score min_score": (
        {"query": {"function_score": {"min_score": 1}}},
        "query.function_score.min_score",
    ),
    "fuzzy": ({"query": {"fuzzy": {"name": "x"}}}, "query.fuzzy.name"),
    "fuzzy full form": ({"query": {"fuzzy": {"name": {"value": "x"}}}}, "query.fuzzy.name"),
    "match fuzziness": (
        {"query": {"match": {"name": {"query": "x", "fuzziness": "AUTO"}}}},
        "query.match.name",
    ),
    "multi_match phrase_prefix": (
        {"query": {"multi_match": {"query": "x", "type": "phrase_prefix"}}},
        "query.multi_match",
    ),
    "match_phrase_prefix": ({"query": {"match_phrase_prefix": {"name": "x"}}}, "query.match_phrase_prefix"),
    "query_string fuzzy": ({"query": {"query_string": {"query": "a~2"}}}, "query.query_string"),
    "query_string fuzzy with a rewrite (which it ignores)": (
        {"query": {"query_string": {"query": "a~", "fuzzy_rewrite": "constant_score"}}},
        "query.query_string",
    ),
    "simple_query_string fuzzy": (
        {"query": {"simple_query_string": {"query": "a~", "flags": "FUZZY|AND"}}},
        "query.simple_query_string",
    ),
    "top_terms rewrite": (
        {"query": {"wildcard": {"name": {"value": "a*", "rewrite": "top_terms_10"}}}},
        "query.wildcard.name.rewrite",
    ),
    "intervals wildcard": (
        {"query": {"intervals": {"name": {"wildcard": {"pattern": "a*"}}}}},
        "query.intervals.name.wildcard",
    ),
    "in a highlight_query": (
        {"highlight": {"fields": {"name": {}}, "highlight_query": {"fuzzy": {"name": "x"}}}},
        "highlight.highlight_query.fuzzy.name",
    ),
}


@pytest.mark.parametrize(("body", "where"), REFUSED.values(), ids=list(REFUSED))
def test_what_reads_outside_the_query_is_refused_to_a_limited_key_only(
    body: dict[str, Any], where: str
) -> None:
    with pytest.raises(SearchRejected) as refused:
        prepared(body)
    assert refused.value.message.startswith(f"'{where}' is refused for a key limited to data sources: ")
    prepared(body, None)  # the same body from a key without a limit


ACCEPTED: dict[str, dict[str, Any]] = {
    "fuzzy with a constant_score rewrite": {"fuzzy": {"name": {"value": "x", "rewrite": "constant_score"}}},
    "match fuzziness with a constant_score rewrite": {
        "match": {"name": {"query": "x", "fuzziness": 2, "fuzzy_rewrite": "constant_score"}}
    },
    "fuzziness 0": {"match": {"name": {"query": "x", "fuzziness": 0}}},
    "a phrase's slop": {"query_string": {"query": '"a b"~2'}},
    "an escaped tilde": {"query_string": {"query": "a\\~"}},
    "simple_query_string without FUZZY": {"simple_query_string": {"query": "a~", "flags": "AND|PREFIX"}},
    "simple_query_string flags as a number": {"simple_query_string": {"query": "a~", "flags": 8}},
    "prefix with the default rewrite": {"prefix": {"name": "ab"}},
    "match_bool_prefix": {"match_bool_prefix": {"name": "ab c"}},
    "intervals match": {"intervals": {"name": {"match": {"query": "a b"}}}},
}


@pytest.mark.parametrize("query", ACCEPTED.values(), ids=list(ACCEPTED))
def test_what_does_not_depend_on_other_documents_is_accepted(query: dict[str, Any]) -> None:
    assert prepared({"query": query})["query"] == {"bool": {"filter": [SCOPE, query]}}


def test_terms_min_doc_count_above_zero_is_accepted() -> None:
    prepared({"aggs": {"t": {"terms": {"field": "f", "min_doc_count": 1}}}})


@pytest.mark.parametrize(
    ("text", "fuzzy"),
    [("a~", True), ("a~1 b", True), ("~a", True), ('"a b"~3', False), ("a\\~", False), ("a\\\\~", True)],
)
def test_a_tilde_after_a_term_is_fuzzy_matching(text: str, fuzzy: bool) -> None:
    assert fuzzy_text(text) is fuzzy
