"""The query clauses a passthrough search may use, each with the parameters it may carry (Elasticsearch 8.x).

Left out on purpose, and refused with a reason: everything that runs a script, calls a model, reads
another document or index, or hides a query from this check. Left out because nobody asked for them yet
(refused as "not an accepted query"): span and interval queries, joins, shapes and the x-pack queries.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.search.rules import (
    FIELD,
    Bool,
    Data,
    Enum,
    FieldKeyed,
    Int,
    ListOf,
    Never,
    Num,
    Obj,
    OneOf,
    Rule,
    Scalar,
    Str,
    Tagged,
    one_or_many,
)
from gateway.search.text import QueryString, Regexp

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

NAME = {"_name": Str(), "boost": Num(0, 1e9)}
TEXT = Str("query text characters")
MINIMUM_SHOULD_MATCH = Int(-1_024, 1_024) | Str(pattern=r"[0-9%<>\- ]{1,64}")
FUZZINESS = Num(0, 2) | Str(pattern=r"(?i)AUTO(:[0-9]{1,3},[0-9]{1,3})?|[0-2](\.0)?")
EXPANSIONS = Int(0, "max_expansions (fuzzy, match, phrase prefix, query_string)")
REWRITE = Str(pattern=r"[a-z_]{1,40}[0-9]{0,4}")
OPERATOR = Enum("and", "or")
ZERO_TERMS = Enum("none", "all")
ANALYZER = Str(pattern=r"[A-Za-z0-9_.\-]{1,128}")
FIELDS = ListOf(FIELD)
VALUES = ListOf(Scalar(), "terms / ids values")
DATE_FORMAT = Str()
TIME_ZONE = Str(pattern=r"[A-Za-z0-9_+\-:/]{1,64}")
DISTANCE = Str(pattern=r"[0-9.]{1,20}\s?[a-zA-Z]{0,12}") | Num(0, 1e9)
GEO_POINT = (
    Obj({"lat": Num(-90, 90), "lon": Num(-180, 180)})
    | ListOf(Num(-180, 180), 3)
    | Str(pattern=r"[0-9a-z.,\-\s()A-Z]{1,128}")
)


def _with_name(params: Mapping[str, Rule], name: str, required: tuple[str, ...] = ()) -> Obj:
    return Obj({**params, **NAME}, required, name)


def _short_or_full(short: Rule, params: Mapping[str, Rule], name: str, required: str) -> Rule:
    """``{"field": "value"}`` or ``{"field": {"<required>": "value", ...params}}``."""
    return FieldKeyed(OneOf(short, _with_name(params, name, (required,))), name=name)


_MATCH = {
    "query": Scalar(),
    "operator": OPERATOR,
    "minimum_should_match": MINIMUM_SHOULD_MATCH,
    "analyzer": ANALYZER,
    "fuzziness": FUZZINESS,
    "prefix_length": Int(0, 1_000),
    "max_expansions": EXPANSIONS,
    "fuzzy_transpositions": Bool(),
    "fuzzy_rewrite": REWRITE,
    "lenient": Bool(),
    "zero_terms_query": ZERO_TERMS,
    "auto_generate_synonyms_phrase_query": Bool(),
}
_PHRASE = {"query": TEXT, "analyzer": ANALYZER, "slop": Int(0, 1_000), "zero_terms_query": ZERO_TERMS}
_MULTI = {
    **_MATCH,
    "query": TEXT,
    "fields": one_or_many(FIELD),
    "type": Enum("best_fields", "most_fields", "cross_fields", "phrase", "phrase_prefix", "bool_prefix"),
    "slop": Int(0, 1_000),
    "tie_breaker": Num(0, 1),
}
_QUERY_STRING = {
    "query": QueryString(),
    "default_field": FIELD,
    "fields": FIELDS,
    "default_operator": OPERATOR,
    "analyzer": ANALYZER,
    "quote_analyzer": ANALYZER,
    "allow_leading_wildcard": Bool(),
    "enable_position_increments": Bool(),
    "fuzzy_max_expansions": EXPANSIONS,
    "fuzziness": FUZZINESS,
    "fuzzy_prefix_length": Int(0, 1_000),
    "fuzzy_transpositions": Bool(),
    "phrase_slop": Int(0, 1_000),
    "analyze_wildcard": Bool(),
    "auto_generate_synonyms_phrase_query": Bool(),
    "max_determinized_states": Int(0, "max_determinized_states"),
    "minimum_should_match": MINIMUM_SHOULD_MATCH,
    "lenient": Bool(),
    "time_zone": TIME_ZONE,
    "quote_field_suffix": Str(pattern=r"[A-Za-z0-9_.]{1,64}"),
    "rewrite": REWRITE,
    "fuzzy_rewrite": REWRITE,
    "type": _MULTI["type"],
    "tie_breaker": Num(0, 1),
    "escape": Bool(),
}
_SIMPLE_QUERY_STRING = {
    "query": QueryString(),
    "fields": FIELDS,
    "default_operator": OPERATOR,
    "analyzer": ANALYZER,
    "flags": Str(pattern=r"[A-Z_|]{1,200}") | Int(-1, 2**31 - 1),
    "fuzzy_max_expansions": EXPANSIONS,
    "fuzzy_prefix_length": Int(0, 1_000),
    "fuzzy_transpositions": Bool(),
    "lenient": Bool(),
    "minimum_should_match": MINIMUM_SHOULD_MATCH,
    "quote_field_suffix": _QUERY_STRING["quote_field_suffix"],
    "analyze_wildcard": Bool(),
    "auto_generate_synonyms_phrase_query": Bool(),
}
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
# A like/unlike item of more_like_this: text, or an artificial document. Documents named by id (with or
# without an index) are refused: they are read from wherever the id points.
_BY_ID = Never("a document named by id is read from another index or document; send its text or a 'doc'")
_LIKE_ITEM = Str("query text characters") | Obj(
    {"doc": Data(), "fields": FIELDS, "per_field_analyzer": Data(), "_index": _BY_ID, "_id": _BY_ID},
    ("doc",),
    "a more_like_this document",
)
_LIKE = one_or_many(_LIKE_ITEM, "more_like_this like / unlike items")

QUERIES: dict[str, Rule] = {
    "match_all": _with_name({}, "match_all"),
    "match_none": _with_name({}, "match_none"),
    "bool": _with_name(
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
    "boosting": _with_name({"positive": QUERY, "negative": QUERY, "negative_boost": Num(0, 1e9)}, "boosting"),
    "constant_score": _with_name({"filter": QUERY}, "constant_score", ("filter",)),
    "dis_max": _with_name({"queries": ListOf(QUERY), "tie_breaker": Num(0, 1)}, "dis_max"),
    "function_score": _with_name(
        {
            **_FUNCTION,
            "query": QUERY,
            "functions": ListOf(Obj(_FUNCTION, name="a function_score function"), 100),
            "score_mode": Enum("multiply", "sum", "avg", "first", "max", "min"),
            "boost_mode": Enum("multiply", "replace", "sum", "avg", "max", "min"),
            "max_boost": Num(0, 3.5e38),
            "min_score": Num(-1e9, 1e9),
        },
        "function_score",
    ),
    "term": _short_or_full(Scalar(), {"value": Scalar(), "case_insensitive": Bool()}, "term", "value"),
    # The object form of a field's value is a terms lookup (another document's field): not accepted.
    "terms": FieldKeyed(
        VALUES | Never("a terms lookup reads another document", frozenset({"object"})), NAME, "terms"
    ),
    "terms_set": FieldKeyed(
        _with_name(
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
    "range": FieldKeyed(_with_name(_RANGE, "range"), name="range"),
    "exists": _with_name({"field": FIELD}, "exists", ("field",)),
    "ids": _with_name({"values": ListOf(Str(), "terms / ids values")}, "ids", ("values",)),
    "prefix": _short_or_full(
        _PATTERN, {"value": _PATTERN, "rewrite": REWRITE, "case_insensitive": Bool()}, "prefix", "value"
    ),
    "wildcard": FieldKeyed(
        OneOf(
            _PATTERN,
            _with_name(
                {"value": _PATTERN, "wildcard": _PATTERN, "rewrite": REWRITE, "case_insensitive": Bool()},
                "wildcard",
            ),
        ),
        name="wildcard",
    ),
    "regexp": _short_or_full(
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
    "fuzzy": _short_or_full(
        Str("wildcard / prefix characters"),
        {
            "value": Scalar("wildcard / prefix characters"),
            "fuzziness": FUZZINESS,
            "max_expansions": EXPANSIONS,
            "prefix_length": Int(0, 1_000),
            "transpositions": Bool(),
            "rewrite": REWRITE,
        },
        "fuzzy",
        "value",
    ),
    "match": _short_or_full(Scalar(), _MATCH, "match", "query"),
    "match_phrase": _short_or_full(TEXT, _PHRASE, "match_phrase", "query"),
    "match_phrase_prefix": _short_or_full(
        TEXT, {**_PHRASE, "max_expansions": EXPANSIONS}, "match_phrase_prefix", "query"
    ),
    "match_bool_prefix": _short_or_full(TEXT, {**_MATCH, "query": TEXT}, "match_bool_prefix", "query"),
    "multi_match": _with_name(_MULTI, "multi_match", ("query",)),
    "combined_fields": _with_name(
        {key: _MULTI[key] for key in ("query", "fields", "operator", "minimum_should_match")}
        | {"zero_terms_query": ZERO_TERMS, "auto_generate_synonyms_phrase_query": Bool()},
        "combined_fields",
        ("query", "fields"),
    ),
    "query_string": _with_name(_QUERY_STRING, "query_string", ("query",)),
    "simple_query_string": _with_name(_SIMPLE_QUERY_STRING, "simple_query_string", ("query",)),
    "more_like_this": _with_name(
        {
            "fields": FIELDS,
            "like": _LIKE,
            "unlike": _LIKE,
            "max_query_terms": Int(1, "more_like_this max_query_terms"),
            "min_term_freq": Int(0, 1_000_000),
            "min_doc_freq": Int(0, 2**31 - 1),
            "max_doc_freq": Int(0, 2**31 - 1),
            "min_word_length": Int(0, 1_000),
            "max_word_length": Int(0, 1_000),
            "stop_words": ListOf(Str(), 1_000),
            "analyzer": ANALYZER,
            "minimum_should_match": MINIMUM_SHOULD_MATCH,
            "fail_on_unsupported_field": Bool(),
            "boost_terms": Num(0, 1e9),
            "include": Bool(),
        },
        "more_like_this",
        ("like",),
    ),
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
            | {"wkt": Str("geo shape / polygon points")}
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


def nested_query(inner_hits: Rule) -> Obj:
    """The nested query; its ``inner_hits`` are hit options, defined with the rest of the body."""
    return _with_name(
        {
            "path": FIELD,
            "query": QUERY,
            "score_mode": Enum("avg", "max", "min", "none", "sum"),
            "ignore_unmapped": Bool(),
            "inner_hits": inner_hits,
        },
        "nested",
        ("path", "query"),
    )
