"""The query clauses a passthrough search may use, each with the parameters it may carry (Elasticsearch 8.x).

Left out on purpose, and refused with a reason: everything that runs a script, calls a model, reads
another document or index, hides a query from this check, or joins documents. Left out because nobody asked
for them yet (refused as "not an accepted query"): span queries and the x-pack queries.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.search.fulltext import FULL_TEXT_QUERIES
from gateway.search.hits import hit_rules
from gateway.search.keyed import FieldKeyed, Tagged
from gateway.search.params import (
    DATE_FORMAT,
    DISTANCE,
    EXPANSIONS,
    FUZZINESS,
    GEO_POINT,
    MINIMUM_SHOULD_MATCH,
    NAME,
    REWRITE,
    TIME_ZONE,
    VALUES,
    short_or_full,
    with_name,
)
from gateway.search.rules import (
    FIELD,
    Bool,
    Enum,
    Int,
    ListOf,
    Never,
    Num,
    Obj,
    OneOf,
    Rule,
    Scalar,
    Str,
    one_or_many,
)
from gateway.search.scoping import FUZZY_REASON, Limited, always, rewrite_refused
from gateway.search.text import Regexp

REFUSED_QUERIES = {
    "script": "scripts are not allowed",
    "script_score": "scripts are not allowed",
    "percolate": "percolate queries read documents by index and id",
    "wrapper": "wrapper queries hide an encoded query from this check",
    "rule": "rule queries read rulesets from a system index",
    "rule_query": "rule queries read rulesets from a system index",
    "pinned": "pinned queries can name documents of other indices",
    "text_expansion": "model inference is not allowed",
    "sparse_vector": "model inference is not allowed",
    "weighted_tokens": "model inference is not allowed",
    "semantic": "model inference is not allowed",
    "knn": "vector search is not allowed (it can call a model)",
    "geo_shape": "shape queries can read a pre-indexed shape from another index",
    "shape": "shape queries can read a pre-indexed shape from another index",
    "has_child": "join queries are not supported",
    "has_parent": "join queries are not supported",
}


def query_clauses() -> Mapping[str, Rule]:
    return QUERIES


QUERY: Rule = Tagged("query", query_clauses, REFUSED_QUERIES)
# What hits look like (sorts, highlighting, inner hits, ...): they contain queries, and a nested query's
# inner hits contain them, so they are built here around the query rule.
HITS = hit_rules(QUERY)

_RANGE = {
    **{bound: Scalar() for bound in ("gt", "gte", "lt", "lte", "from", "to")},
    "include_lower": Bool(),
    "include_upper": Bool(),
    "format": DATE_FORMAT,
    "time_zone": TIME_ZONE,
    "relation": Enum("intersects", "contains", "within"),
}
_PATTERN = Str("wildcard / prefix characters")
_DECAY = FieldKeyed(
    Obj({"origin": Scalar() | GEO_POINT, "scale": Scalar(), "offset": Scalar(), "decay": Num(0, 1)}),
    {"multi_value_mode": Enum("min", "max", "avg", "sum")},
)
_FUNCTION = {
    "filter": QUERY,
    "weight": Num(0, 1e9),
    "field_value_factor": Obj(
        {
            "field": FIELD,
            "factor": Num(-1e9, 1e9),
            "modifier": Enum(
                "none", "log", "log1p", "log2p", "ln", "ln1p", "ln2p", "square", "sqrt", "reciprocal"
            ),
            "missing": Num(-1e18, 1e18),
        },
        name="field_value_factor",
    ),
    "random_score": Obj({"seed": Scalar(), "field": FIELD}, name="random_score"),
    "gauss": _DECAY,
    "exp": _DECAY,
    "linear": _DECAY,
}
_BOOL_CLAUSES = one_or_many(QUERY)
_NESTED = with_name(
    {
        "path": FIELD,
        "query": QUERY,
        "score_mode": Enum("avg", "max", "min", "none", "sum"),
        "ignore_unmapped": Bool(),
        "inner_hits": HITS.inner_hits,
    },
    "nested",
    ("path", "query"),
)
QUERIES: dict[str, Rule] = {
    "match_all": with_name({}, "match_all"),
    "match_none": with_name({}, "match_none"),
    "nested": _NESTED,
    "bool": with_name(
        {
            "must": _BOOL_CLAUSES,
            "filter": _BOOL_CLAUSES,
            "should": _BOOL_CLAUSES,
            "must_not": _BOOL_CLAUSES,
            "minimum_should_match": MINIMUM_SHOULD_MATCH,
            "adjust_pure_negative": Bool(),
        },
        "bool",
    ),
    "boosting": with_name({"positive": QUERY, "negative": QUERY, "negative_boost": Num(0, 1e9)}, "boosting"),
    "constant_score": with_name({"filter": QUERY}, "constant_score", ("filter",)),
    "dis_max": with_name({"queries": ListOf(QUERY), "tie_breaker": Num(0, 1)}, "dis_max"),
    "function_score": with_name(
        {
            **_FUNCTION,
            "query": QUERY,
            "functions": ListOf(Obj(_FUNCTION, name="a function_score function"), 100),
            "score_mode": Enum("multiply", "sum", "avg", "first", "max", "min"),
            "boost_mode": Enum("multiply", "replace", "sum", "avg", "max", "min"),
            "max_boost": Num(0, 3.5e38),
            # Keeps documents by their score, which counts other data sources' documents.
            "min_score": Limited(Num(-1e9, 1e9), always("it filters by scores, which count every document")),
        },
        "function_score",
    ),
    "term": short_or_full(Scalar(), {"value": Scalar(), "case_insensitive": Bool()}, "term", "value"),
    # The object form of a field's value is a terms lookup (another document's field): not accepted.
    "terms": FieldKeyed(
        VALUES | Never("a terms lookup reads another document", frozenset({"object"})), NAME, "terms"
    ),
    "terms_set": FieldKeyed(
        with_name(
            {
                "terms": VALUES,
                "minimum_should_match_field": FIELD,
                "minimum_should_match": MINIMUM_SHOULD_MATCH,
            },
            "terms_set",
            ("terms",),
        ),
        name="terms_set",
    ),
    "range": FieldKeyed(with_name(_RANGE, "range"), name="range"),
    "exists": with_name({"field": FIELD}, "exists", ("field",)),
    "ids": with_name({"values": ListOf(Str(), "terms / ids values")}, "ids", ("values",)),
    "prefix": short_or_full(
        _PATTERN, {"value": _PATTERN, "rewrite": REWRITE, "case_insensitive": Bool()}, "prefix", "value"
    ),
    "wildcard": FieldKeyed(
        OneOf(
            _PATTERN,
            with_name(
                {"value": _PATTERN, "wildcard": _PATTERN, "rewrite": REWRITE, "case_insensitive": Bool()},
                "wildcard",
            ),
        ),
        name="wildcard",
    ),
    "regexp": short_or_full(
        Regexp(),
        {
            "value": Regexp(),
            "flags": Str(pattern=r"[A-Z_|]{1,200}"),
            "flags_value": Int(-1, 0xFFFF),
            "max_determinized_states": Int(0, "max_determinized_states"),
            "rewrite": REWRITE,
            "case_insensitive": Bool(),
        },
        "regexp",
        "value",
    ),
    # Its default rewrite keeps the top max_expansions terms of the whole index: a limited key must say
    # "rewrite": "constant_score".
    "fuzzy": FieldKeyed(
        OneOf(
            Limited(Str("wildcard / prefix characters"), always(FUZZY_REASON)),
            Limited(
                with_name(
                    {
                        "value": Scalar("wildcard / prefix characters"),
                        "fuzziness": FUZZINESS,
                        "max_expansions": EXPANSIONS,
                        "prefix_length": Int(0, 1_000),
                        "transpositions": Bool(),
                        "rewrite": REWRITE,
                    },
                    "fuzzy",
                    ("value",),
                ),
                lambda params: None if rewrite_refused(params.get("rewrite")) is None else FUZZY_REASON,
            ),
        ),
        name="fuzzy",
    ),
    **FULL_TEXT_QUERIES,
    "geo_distance": FieldKeyed(
        GEO_POINT,
        {
            "distance": DISTANCE,
            "distance_type": Enum("arc", "plane"),
            "validation_method": Enum("coerce", "ignore_malformed", "strict"),
            "ignore_unmapped": Bool(),
            **NAME,
        },
        "geo_distance",
    ),
    "geo_bounding_box": FieldKeyed(
        Obj(
            {corner: GEO_POINT for corner in ("top_left", "bottom_right", "top_right", "bottom_left")}
            | {side: Num(-180, 180) for side in ("top", "left", "bottom", "right")}
            | {"wkt": Str("geo_bounding_box wkt characters")}
        ),
        {
            "validation_method": Enum("coerce", "ignore_malformed", "strict"),
            "ignore_unmapped": Bool(),
            "type": Enum("indexed", "memory"),
            **NAME,
        },
        "geo_bounding_box",
    ),
}
