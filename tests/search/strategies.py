"""Hypothesis strategies for search bodies: valid ones built from the grammar's ordinary constructs, the
constructs that must never pass, and arbitrary JSON spelled with the grammar's own words."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from gateway.search.guard import BODY
from gateway.search.keyed import FieldKeyed, MapOf, Tagged
from gateway.search.rules import ListOf, Obj, OneOf, Rule

FIELDS = st.sampled_from(["name", "name.keyword", "datasource_id.keyword", "sync_type", "metadata.created"])
TEXT = st.text(max_size=12)
SCALAR = st.one_of(TEXT, st.integers(-1000, 1000), st.booleans())
AGG_NAMES = st.sampled_from(["a", "b", "c", "d"])

LEAF_QUERIES: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.just({"match_all": {}}),
    st.builds(lambda f, t: {"match": {f: t}}, FIELDS, TEXT),
    st.builds(lambda f, v: {"term": {f: v}}, FIELDS, SCALAR),
    st.builds(lambda f, v: {"terms": {f: v}}, FIELDS, st.lists(SCALAR, max_size=4)),
    st.builds(lambda f, v: {"range": {f: {"gte": v}}}, FIELDS, st.integers(0, 10**6)),
    st.builds(lambda f: {"exists": {"field": f}}, FIELDS),
    st.builds(lambda f, t: {"prefix": {f: t}}, FIELDS, TEXT),
    st.builds(lambda v: {"ids": {"values": v}}, st.lists(TEXT, max_size=3)),
    st.builds(lambda t, f: {"multi_match": {"query": t, "fields": f}}, TEXT, st.lists(FIELDS, max_size=2)),
    st.builds(lambda t: {"query_string": {"query": t}}, st.from_regex(r"[a-z ]{1,20}", fullmatch=True)),
)


def _compound(inner: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    clauses = st.lists(inner, min_size=1, max_size=3)
    return st.one_of(
        st.builds(
            lambda must, flt, should: {"bool": {"must": must, "filter": flt, "should": should}},
            clauses,
            clauses,
            clauses,
        ),
        st.builds(lambda q: {"constant_score": {"filter": q}}, inner),
        st.builds(lambda qs: {"dis_max": {"queries": qs}}, clauses),
        st.builds(
            lambda p, n: {"boosting": {"positive": p, "negative": n, "negative_boost": 0.5}}, inner, inner
        ),
        st.builds(
            lambda q, f: {"function_score": {"query": q, "functions": [{"filter": f, "weight": 2}]}},
            inner,
            inner,
        ),
        st.builds(lambda q: {"nested": {"path": "connectionSettings", "query": q}}, inner),
    )


QUERIES = st.recursive(LEAF_QUERIES, _compound, max_leaves=8)


def _agg(inner: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    subs = st.dictionaries(AGG_NAMES, inner, max_size=2)
    kinds = st.one_of(
        st.builds(lambda f: {"terms": {"field": f, "size": 5}}, FIELDS),
        st.builds(lambda q: {"filter": q}, QUERIES),
        st.builds(
            lambda qs: {"filters": {"filters": qs}},
            st.dictionaries(AGG_NAMES, QUERIES, min_size=1, max_size=2),
        ),
        st.builds(
            lambda qs: {"adjacency_matrix": {"filters": qs}},
            st.dictionaries(AGG_NAMES, QUERIES, min_size=1, max_size=2),
        ),
        st.builds(
            lambda q: {"significant_terms": {"field": "name.keyword", "background_filter": q}}, QUERIES
        ),
    )
    return st.builds(lambda kind, sub: {**kind, **({"aggs": sub} if sub else {})}, kinds, subs)


AGG_LEAVES = st.one_of(
    st.builds(lambda f: {"max": {"field": f}}, FIELDS),
    # Histograms make as many buckets as the data has; top_hits under them is budgeted (budget.py).
    st.just({"date_histogram": {"field": "metadata.created", "calendar_interval": "month"}}),
    st.just({"top_hits": {"size": 2, "sort": [{"metadata.created": "desc"}]}}),
)
AGGREGATIONS = st.recursive(AGG_LEAVES, _agg, max_leaves=4)

VALID_BODIES: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {},
    optional={
        "query": QUERIES,
        "post_filter": QUERIES,
        "aggs": st.dictionaries(AGG_NAMES, AGGREGATIONS, max_size=2),
        "size": st.integers(0, 100),
        "sort": st.lists(
            st.builds(lambda f, o: {f: o}, FIELDS, st.sampled_from(["asc", "desc"])), max_size=2
        ),
        "highlight": st.builds(lambda q: {"fields": {"name": {}}, "highlight_query": q}, QUERIES),
        "rescore": st.builds(lambda q: {"window_size": 10, "query": {"rescore_query": q}}, QUERIES),
        "track_total_hits": st.booleans(),
        "_source": st.one_of(st.booleans(), st.lists(FIELDS, max_size=2)),
    },
)

QUERY_NAMES = frozenset(
    {"match_all", "match", "term", "terms", "range", "exists", "prefix", "ids", "multi_match", "query_string"}
    | {"bool", "constant_score", "dis_max", "boosting", "function_score", "nested"}
)


# Constructs that must be refused wherever a query may stand, whatever their parameters.
FORBIDDEN_QUERIES: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.builds(
        lambda f, index, path: {"terms": {f: {"index": index, "id": "admin", "path": path}}},
        FIELDS,
        st.sampled_from(
            [
                "gateway-users",
                "gateway-api-keys",
                "gateway-audit-*",
                "autonomous-iam_autoid_base_identities_latest",
            ]
        ),
        st.sampled_from(["password_hash", "username", "metadata.created"]),
    ),
    st.builds(lambda s: {"script": {"script": s}}, TEXT),
    st.builds(lambda s: {"script_score": {"query": {"match_all": {}}, "script": s}}, TEXT),
    st.just({"percolate": {"field": "q", "index": "gateway-users", "id": "x"}}),
    st.just({"wrapper": {"query": "eyJtYXRjaF9hbGwiOnt9fQ=="}}),
    st.just({"more_like_this": {"fields": ["name"], "like": [{"_index": "gateway-api-keys", "_id": "k"}]}}),
    st.just({"geo_shape": {"loc": {"indexed_shape": {"index": "gateway-users", "id": "x", "path": "p"}}}}),
    st.just({"pinned": {"docs": [{"_index": "gateway-users", "_id": "x"}], "organic": {"match_all": {}}}}),
    st.just({"rule": {"ruleset_ids": ["r"], "match_criteria": {}, "organic": {"match_all": {}}}}),
    st.just({"text_expansion": {"f": {"model_id": "m", "model_text": "x"}}}),
    st.just({"sparse_vector": {"field": "f", "inference_id": "m", "query": "x"}}),
    st.just({"semantic": {"field": "f", "query": "x"}}),
    st.just({"knn": {"field": "v", "query_vector_builder": {"text_embedding": {"model_id": "m"}}}}),
    st.builds(
        lambda name: {name: {}},
        st.from_regex(r"[a-z_]{3,12}", fullmatch=True).filter(lambda name: name not in QUERY_NAMES),
    ),
)


def grammar_words() -> list[str]:
    """Every name the grammar knows (options, clauses, aggregations, parameters), for arbitrary bodies."""
    words: set[str] = set()
    seen: set[int] = set()

    def visit(rule: Rule) -> None:
        if id(rule) in seen:
            return
        seen.add(id(rule))
        children: list[Rule] = []
        if isinstance(rule, Obj):
            words.update(rule.params)
            children = list(rule.params.values())
        elif isinstance(rule, Tagged):
            kinds = rule.kinds()
            words.update(kinds, rule.refused, rule.extra)
            children = [*kinds.values(), *rule.extra.values()]
        elif isinstance(rule, FieldKeyed):
            words.update(rule.options)
            children = [rule.value, *rule.options.values()]
        elif isinstance(rule, OneOf):
            children = list(rule.alternatives)
        elif isinstance(rule, ListOf | MapOf):
            children = [rule.item if isinstance(rule, ListOf) else rule.value]
        for child in children:
            visit(child)

    visit(BODY)
    return sorted(words)


WORDS = st.sampled_from([*grammar_words(), "index", "id", "path", "_index", "_id", "script", "source"])
ARBITRARY_JSON: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**40), 2**40),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(WORDS, st.text(max_size=6)), inner, max_size=4)
    ),
    max_leaves=30,
)
ARBITRARY_BODIES = st.dictionaries(WORDS, ARBITRARY_JSON, max_size=5)
