"""The search guard (pure): ordinary searches pass; every class of dangerous construct is refused, by name."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from gateway.search import SearchRejected, check_search_body, prepare_search
from gateway.search.limits import LIMITS

LOOKUP = {"index": "gateway-users", "id": "admin", "path": "password_hash"}


def _lookup_query() -> dict[str, Any]:
    return {"terms": {"metadata.created": dict(LOOKUP)}}


ORDINARY: dict[str, dict[str, Any]] = {
    "documented": {
        "sort": [{"datasource_id.keyword": {"order": "desc"}}],
        "size": 10,
        "track_total_hits": True,
        "query": {"match_all": {}},
    },
    "bool": {
        "query": {
            "bool": {
                "must": [{"match": {"name": {"query": "showcase", "operator": "and"}}}],
                "filter": [{"terms": {"sync_type.keyword": ["full", "incremental"]}}],
                "should": {"match_phrase": {"name": "csv ds"}},
                "must_not": [{"exists": {"field": "deleted"}}],
                "minimum_should_match": 0,
            }
        }
    },
    "range and term": {
        "query": {
            "bool": {
                "filter": [
                    {
                        "range": {
                            "metadata.created": {"gte": "now-30d/d", "lt": "now", "format": "strict_date"}
                        }
                    },
                    {"term": {"datasource_id.keyword": {"value": "abc", "case_insensitive": True}}},
                ]
            }
        }
    },
    "aggregations": {
        "size": 0,
        "aggs": {
            "by_type": {
                "terms": {"field": "sync_type.keyword", "size": 10, "order": {"_count": "desc"}},
                "aggs": {
                    "latest": {"top_hits": {"size": 1, "sort": [{"metadata.created": "desc"}]}},
                    "created": {"max": {"field": "metadata.created"}},
                },
            },
            "per_month": {"date_histogram": {"field": "metadata.created", "calendar_interval": "month"}},
            "csv": {"filter": {"term": {"name.keyword": "x"}}},
        },
    },
    "highlight": {
        "query": {"match": {"name": "showcase"}},
        "highlight": {"fields": {"name": {"number_of_fragments": 3, "fragment_size": 150}}},
    },
    "collapse": {
        "query": {"match_all": {}},
        "collapse": {"field": "sync_type.keyword", "inner_hits": {"name": "recent", "size": 5}},
    },
    "search_after": {
        "sort": [{"datasource_id.keyword": "asc"}],
        "search_after": ["2d7a6a76-469c-4035-b312-fb1daf104e98"],
        "size": 100,
    },
    "source filtering": {
        "_source": {"includes": ["name", "datasource_id"], "excludes": ["connectionSettings.*"]},
        "fields": ["name", {"field": "metadata.created", "format": "epoch_millis"}],
        "query": {"query_string": {"query": "name:(showcase OR demo) AND sync_type:full"}},
    },
    "rescore and suggest": {
        "query": {"match": {"name": "showcase"}},
        "rescore": {"window_size": 50, "query": {"rescore_query": {"match_phrase": {"name": "showcase"}}}},
        "suggest": {"fix": {"text": "shocase", "term": {"field": "name"}}},
        "timeout": "500ms",
    },
}


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_searches_are_accepted_unchanged(name: str) -> None:
    body = ORDINARY[name]
    assert check_search_body(body) == body


def _refused(body: dict[str, Any]) -> str:
    with pytest.raises(SearchRejected) as caught:
        check_search_body(body)
    return caught.value.message


LOOKUP_PLACES: dict[str, dict[str, Any]] = {
    "query": {"query": _lookup_query()},
    "post_filter": {"post_filter": _lookup_query()},
    "filter aggregation": {"aggs": {"a": {"filter": _lookup_query()}}},
    "filters aggregation": {"aggs": {"a": {"filters": {"filters": {"x": _lookup_query()}}}}},
    "filters aggregation, list": {"aggs": {"a": {"filters": {"filters": [_lookup_query()]}}}},
    "adjacency_matrix": {"aggs": {"a": {"adjacency_matrix": {"filters": {"x": _lookup_query()}}}}},
    "significant_terms": {
        "aggs": {"a": {"significant_terms": {"field": "name.keyword", "background_filter": _lookup_query()}}}
    },
    "sub-aggregation": {"aggs": {"a": {"terms": {"field": "x"}, "aggs": {"b": {"filter": _lookup_query()}}}}},
    "rescore": {"rescore": {"query": {"rescore_query": _lookup_query()}}},
    "highlight_query": {"highlight": {"fields": {"name": {"highlight_query": _lookup_query()}}}},
    "field named aggs in highlight": {
        "highlight": {"fields": {"aggs": {"highlight_query": _lookup_query()}}}
    },
    "field named aggs in sort": {"sort": [{"aggs": {"nested": {"path": "p", "filter": _lookup_query()}}}]},
    "nested": {"query": {"nested": {"path": "p", "query": {"bool": {"filter": [_lookup_query()]}}}}},
    "function_score filter": {"query": {"function_score": {"functions": [{"filter": _lookup_query()}]}}},
}


@pytest.mark.parametrize("place", LOOKUP_PLACES)
def test_terms_lookups_are_refused_everywhere(place: str) -> None:
    assert "terms lookup" in _refused(LOOKUP_PLACES[place])


OTHER_DOCUMENTS = {
    "more_like_this by id": {"more_like_this": {"like": [{"_index": "gateway-api-keys", "_id": "k"}]}},
    "more_like_this same index id": {"more_like_this": {"like": [{"_id": "k"}]}},
    "percolate": {"percolate": {"field": "q", "index": "gateway-users", "id": "x"}},
    "indexed shape": {"geo_shape": {"loc": {"indexed_shape": {"index": "gateway-users", "id": "x"}}}},
    "pinned": {"pinned": {"docs": [{"_index": "gateway-users", "_id": "x"}], "organic": {"match_all": {}}}},
    "rule": {"rule": {"ruleset_ids": ["r"], "match_criteria": {}, "organic": {"match_all": {}}}},
    "rule_query": {"rule_query": {"ruleset_id": "r", "match_criteria": {}, "organic": {"match_all": {}}}},
    "wrapper": {"wrapper": {"query": "eyJtYXRjaF9hbGwiOnt9fQ=="}},
}


@pytest.mark.parametrize("name", OTHER_DOCUMENTS)
def test_reads_of_other_documents_are_refused(name: str) -> None:
    message = _refused({"aggs": {"a": {"filter": OTHER_DOCUMENTS[name]}}})
    assert "is refused" in message


MODELS_AND_SCRIPTS: dict[str, tuple[dict[str, Any], str]] = {
    "text_expansion": ({"query": {"text_expansion": {"f": {"model_id": "m", "model_text": "x"}}}}, "model"),
    "sparse_vector": (
        {"query": {"sparse_vector": {"field": "f", "inference_id": "m", "query": "x"}}},
        "model",
    ),
    "semantic": ({"query": {"semantic": {"field": "f", "query": "x"}}}, "model"),
    "weighted_tokens": ({"query": {"weighted_tokens": {"f": {"tokens": {"a": 1.0}}}}}, "model"),
    "knn query": ({"query": {"knn": {"field": "v", "query_vector": [1.0]}}}, "knn"),
    "knn with query_vector_builder": (
        {"knn": {"field": "v", "k": 1, "query_vector_builder": {"text_embedding": {"model_id": "m"}}}},
        "knn",
    ),
    "inference aggregation": ({"aggs": {"a": {"inference": {"model_id": "m"}}}}, "model"),
    "learning_to_rank": ({"rescore": {"learning_to_rank": {"model_id": "m"}}}, "learning_to_rank"),
    "script query": ({"query": {"script": {"script": "true"}}}, "script"),
    "script_score": ({"query": {"script_score": {"query": {"match_all": {}}, "script": "1"}}}, "script"),
    "scripted sort": ({"sort": [{"_script": {"type": "number", "script": "1"}}]}, "script"),
    "terms aggregation script": ({"aggs": {"a": {"terms": {"script": "doc['x']"}}}}, "script"),
    "top_hits script_fields": ({"aggs": {"a": {"top_hits": {"script_fields": {"x": {}}}}}}, "script"),
    "bucket_selector": ({"aggs": {"a": {"bucket_selector": {"buckets_path": {}}}}}, "script"),
    "phrase suggester collate": ({"suggest": {"s": {"phrase": {"field": "f", "collate": {}}}}}, "collate"),
    "profile": ({"profile": True}, "profile"),
}


@pytest.mark.parametrize("name", MODELS_AND_SCRIPTS)
def test_models_scripts_and_profiles_are_refused(name: str) -> None:
    body, named = MODELS_AND_SCRIPTS[name]
    assert named in _refused(body)


def _nest(depth: int) -> dict[str, Any]:
    query: dict[str, Any] = {"match_all": {}}
    for _ in range(depth):
        query = {"bool": {"must": [query]}}
    return query


def _nested_sort(depth: int) -> dict[str, Any]:
    nested: dict[str, Any] = {"path": "a"}
    for _ in range(depth):
        nested = {"path": "a", "nested": nested}
    return nested


DEEP_PARENS = "(" * 30_000 + "a" + ")" * 30_000
UNBOUNDED: dict[str, tuple[dict[str, Any], str]] = {
    "number_of_fragments": (
        {"highlight": {"type": "plain", "fields": {"name": {"number_of_fragments": 2**31 - 1}}}},
        "highlight.fields.name.number_of_fragments",
    ),
    "fragment_size": ({"highlight": {"fragment_size": 10**9, "fields": ["name"]}}, "highlight.fragment_size"),
    "regexp max_determinized_states": (
        {"query": {"regexp": {"name": {"value": "a.*b", "max_determinized_states": 10**8}}}},
        "max_determinized_states",
    ),
    "query_string max_determinized_states": (
        {"query": {"query_string": {"query": "/a.*/", "max_determinized_states": 10**8}}},
        "max_determinized_states",
    ),
    "phrase suggester size": ({"suggest": {"s": {"phrase": {"field": "f", "size": 10**6}}}}, "size"),
    "phrase suggester shard_size": (
        {"suggest": {"s": {"phrase": {"field": "f", "shard_size": 10**6}}}},
        "shard",
    ),
    "match max_expansions": ({"query": {"match": {"n": {"query": "x", "max_expansions": 10**6}}}}, "max_exp"),
    "fuzzy max_expansions": ({"query": {"fuzzy": {"n": {"value": "x", "max_expansions": 10**6}}}}, "max_exp"),
    "rescore window_size": (
        {"rescore": {"window_size": 10**7, "query": {"rescore_query": {"match_all": {}}}}},
        "window_size",
    ),
    "nested inner_hits size": (
        {"query": {"nested": {"path": "p", "query": {"match_all": {}}, "inner_hits": {"size": 10**6}}}},
        "inner_hits.size",
    ),
    "collapse inner_hits size": (
        {"collapse": {"field": "f", "inner_hits": {"name": "n", "size": 10**6}}},
        "inner_hits.size",
    ),
    "top_hits size": ({"aggs": {"a": {"top_hits": {"size": 10**6}}}}, "top_hits.size"),
    "terms aggregation size": ({"aggs": {"a": {"terms": {"field": "f", "size": 10**6}}}}, "size"),
    "query_string parentheses": ({"query": {"query_string": {"query": DEEP_PARENS}}}, "query_string.query"),
    "huge regexp": ({"query": {"regexp": {"name": "a" * 100_000}}}, "regexp.name"),
    "regexp repetition": ({"query": {"regexp": {"name": "(a{1,1000}){1,1000}"}}}, "repeats"),
    "deep paging": ({"from": 9995, "size": 10}, "from"),
    "deep nesting": ({"query": _nest(40)}, "nests deeper"),
    "deep nested sort": ({"sort": [{"f": {"nested": _nested_sort(250)}}]}, "nests deeper"),
    "query_string regexp repetition": (
        {"query": {"query_string": {"query": "/(a{1,1000}){1,1000}/", "default_field": "name"}}},
        "repeats more than 100 times",
    ),
    "nested repetitions multiply": ({"query": {"regexp": {"n": "((a{1,100}){1,100}){1,100}"}}}, "multiply"),
    "stacked repetition operators": ({"query": {"regexp": {"n": "a" + "+" * 500}}}, "stacks repetition"),
    "long regexp in a query_string": (
        {"query": {"query_string": {"query": "/" + "a" * 2000 + "/"}}},
        "holds a regexp longer than 1000",
    ),
    "collapse expansions": (
        {"size": 10_000, "collapse": {"field": "x", "inner_hits": [{"name": f"i{n}"} for n in range(16)]}},
        "would run 160000 searches",
    ),
    "top_hits under many buckets": (
        {
            "aggs": {
                "a": {"terms": {"field": "x", "size": 10_000}, "aggs": {"t": {"top_hits": {"size": 100}}}}
            }
        },
        "may fetch 1000000 hits",
    ),
    "top_hits under a histogram": (
        {
            "aggs": {
                "a": {"histogram": {"field": "n", "interval": 1}, "aggs": {"t": {"top_hits": {"size": 2}}}}
            }
        },
        "may fetch 131072 hits",
    ),
    "more_like_this per-field analyzer": (
        {"query": {"more_like_this": {"like": [{"doc": {}, "per_field_analyzer": {"f": {"script": 1}}}]}}},
        "per_field_analyzer.f",
    ),
}


@pytest.mark.parametrize("name", UNBOUNDED)
def test_size_like_numbers_and_strings_are_bounded(name: str) -> None:
    body, named = UNBOUNDED[name]
    assert named in _refused(body)


@pytest.mark.parametrize(
    "timeout", ["²s", "\u0661s", "1h", "0s", "10001ms", "11s", "5 s", "-1s", 5, None, ""]
)
def test_timeouts_outside_the_accepted_form_are_refused(timeout: Any) -> None:
    assert "timeout" in _refused({"timeout": timeout})


UNKNOWN: dict[str, tuple[dict[str, Any], str]] = {
    "query clause": (
        {"query": {"bool": {"must": [{"no_such_query": {}}]}}},
        "'query.bool.must.0.no_such_query'",
    ),
    "aggregation": ({"aggs": {"a": {"no_such_agg": {}}}}, "'aggs.a.no_such_agg'"),
    "parameter": ({"query": {"match": {"name": {"query": "x", "no_such": 1}}}}, "'query.match.name.no_such'"),
    "top-level option": ({"indices_boost": [{"gateway-users": 2}]}, "'indices_boost'"),
    "pit": ({"pit": {"id": "abc"}}, "'pit'"),
    "runtime_mappings": ({"runtime_mappings": {"x": {"type": "keyword"}}}, "'runtime_mappings'"),
    "suggester": ({"suggest": {"s": {"text": "x", "no_such": {}}}}, "'suggest.s.no_such'"),
    "number as a sort": ({"sort": [0]}, "'sort.0' must be a field name or an object, not a number"),
    "null as a sort": ({"sort": None}, "'sort' must be"),
    "object in _source list": ({"_source": [{}]}, "'_source.0' must be a string"),
    "two clauses in one object": ({"query": {"match_all": {}, "match_none": {}}}, "exactly one query"),
}


@pytest.mark.parametrize("name", UNKNOWN)
def test_unknown_constructs_are_refused_naming_construct_and_path(name: str) -> None:
    body, named = UNKNOWN[name]
    assert named in _refused(body)


def test_the_limits_table_in_the_docs_is_the_one_in_the_code() -> None:
    text = (Path(__file__).parents[2] / "docs" / "security.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (.+?) \| ([0-9 ]+) \|$", text, flags=re.MULTILINE))
    assert {name: int(value.replace(" ", "")) for name, value in rows.items()} == LIMITS


def test_a_body_too_deep_to_send_is_a_400_not_a_crash() -> None:
    nested = '{"path": "a"}'
    for _ in range(200):  # 400 levels: parsed, but deeper than orjson writes (254)
        nested = '{"path": "a", "nested": ' + nested + "}"
    raw = ('{"query": {"sort": [{"f": {"nested": ' + nested + "}}]}}").encode()
    with pytest.raises(SearchRejected, match="nests deeper"):
        prepare_search(raw)


def test_ordinary_regexps_and_collapses_stay_accepted() -> None:
    for body in (
        {"query": {"regexp": {"name.keyword": "[0-9]{4}-[0-9]{2}-[0-9]{2}"}}},
        {"query": {"query_string": {"query": "name:/joh?n(ath[oa]n)/ AND sync_type:full*"}}},
        {"size": 100, "collapse": {"field": "x", "inner_hits": [{"name": "a"}, {"name": "b"}]}},
        {"aggs": {"a": {"global": {}, "meta": {"anything": {"the caller": ["likes"]}}}}},
        {"aggs": {"a": {"terms": {"field": "x", "size": 100}, "aggs": {"t": {"top_hits": {"size": 10}}}}}},
    ):
        assert check_search_body(body) == body
