"""Full-text query clauses: the match family, multi-field and query-string queries, intervals, MLT."""

from __future__ import annotations

from gateway.search.keyed import FieldKeyed, MapOf, Tagged
from gateway.search.params import (
    ANALYZER,
    EXPANSIONS,
    FIELDS,
    FUZZINESS,
    MINIMUM_SHOULD_MATCH,
    NAME,
    OPERATOR,
    REWRITE,
    TEXT,
    TIME_ZONE,
    ZERO_TERMS,
    short_or_full,
    with_name,
)
from gateway.search.rules import (
    FIELD,
    Bool,
    Data,
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
from gateway.search.scoping import (
    EXPANSION_REASON,
    Limited,
    always,
    fuzziness_refused,
    query_string_refused,
    simple_query_string_refused,
)
from gateway.search.text import QueryString

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
# A like/unlike item of more_like_this: text, or an artificial document. Documents named by id (with or
# without an index) are refused: they are read from wherever the id points.
_BY_ID = Never("a document named by id is read from another index or document; send its text or a 'doc'")
_LIKE_ITEM = Str("query text characters") | Obj(
    {
        "doc": Data(),
        "fields": FIELDS,
        "per_field_analyzer": MapOf(ANALYZER, 64),
        "_index": _BY_ID,
        "_id": _BY_ID,
    },
    ("doc",),
    "a more_like_this document",
)
_LIKE = one_or_many(_LIKE_ITEM, "more_like_this like / unlike items")


def _interval_rules() -> dict[str, Rule]:
    return INTERVAL_RULES


INTERVALS_RULE = Tagged("intervals rule", _interval_rules, {"script": "scripts are not allowed"}, NAME)
_USE_FIELD = {"analyzer": ANALYZER, "use_field": FIELD}
_GAPS = {"max_gaps": Int(-1, 1_000), "ordered": Bool()}
_RELATIONS = "after before contained_by containing not_contained_by not_containing not_overlapping"
_RELATIONS += " overlapping"
_INTERVAL_FILTER = Obj(
    {
        **{relation: INTERVALS_RULE for relation in _RELATIONS.split()},
        "script": Never("scripts are not allowed"),
    },
    name="an intervals filter",
)
# Interval prefixes, wildcards and fuzzy rules fail past 128 expanded terms of the whole index.
_INTERVAL_EXPANSION = always("it expands to at most 128 terms of every data source's documents, else fails")
INTERVAL_RULES: dict[str, Rule] = {
    "match": Obj({**_USE_FIELD, **_GAPS, "query": TEXT, "filter": _INTERVAL_FILTER}, ("query",), "match"),
    "prefix": Limited(
        Obj({**_USE_FIELD, "prefix": Str("wildcard / prefix characters")}, ("prefix",), "prefix"),
        _INTERVAL_EXPANSION,
    ),
    "wildcard": Limited(
        Obj({**_USE_FIELD, "pattern": Str("wildcard / prefix characters")}, ("pattern",), "wildcard"),
        _INTERVAL_EXPANSION,
    ),
    "fuzzy": Limited(
        Obj(
            {
                **_USE_FIELD,
                "term": Str("wildcard / prefix characters"),
                "prefix_length": Int(0, 1_000),
                "transpositions": Bool(),
                "fuzziness": FUZZINESS,
            },
            ("term",),
            "fuzzy",
        ),
        _INTERVAL_EXPANSION,
    ),
    "all_of": Obj(
        {**_GAPS, "intervals": ListOf(INTERVALS_RULE, 64), "filter": _INTERVAL_FILTER},
        ("intervals",),
        "all_of",
    ),
    "any_of": Obj(
        {"intervals": ListOf(INTERVALS_RULE, 64), "filter": _INTERVAL_FILTER}, ("intervals",), "any_of"
    ),
}


def _fuzzy_limited(short: Rule, params: dict[str, Rule], name: str) -> Rule:
    """``short_or_full``, whose full form a limited key may use fuzzily only with a safe rewrite."""
    full = Limited(with_name(params, name, ("query",)), fuzziness_refused)
    return FieldKeyed(OneOf(short, full), name=name)


FULL_TEXT_QUERIES: dict[str, Rule] = {
    "match": _fuzzy_limited(Scalar(), _MATCH, "match"),
    "match_phrase": short_or_full(TEXT, _PHRASE, "match_phrase", "query"),
    # Its last term expands to the first max_expansions terms of the whole index with that prefix.
    "match_phrase_prefix": Limited(
        short_or_full(TEXT, {**_PHRASE, "max_expansions": EXPANSIONS}, "match_phrase_prefix", "query"),
        always(EXPANSION_REASON),
    ),
    "match_bool_prefix": _fuzzy_limited(TEXT, {**_MATCH, "query": TEXT}, "match_bool_prefix"),
    "multi_match": Limited(with_name(_MULTI, "multi_match", ("query",)), fuzziness_refused),
    "combined_fields": with_name(
        {key: _MULTI[key] for key in ("query", "fields", "operator", "minimum_should_match")}
        | {"zero_terms_query": ZERO_TERMS, "auto_generate_synonyms_phrase_query": Bool()},
        "combined_fields",
        ("query", "fields"),
    ),
    "query_string": Limited(with_name(_QUERY_STRING, "query_string", ("query",)), query_string_refused),
    "simple_query_string": Limited(
        with_name(_SIMPLE_QUERY_STRING, "simple_query_string", ("query",)), simple_query_string_refused
    ),
    # It keeps the terms of the liked text by how frequent they are in the whole index.
    "more_like_this": Limited(
        with_name(
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
        always("it picks its terms by how frequent they are in every data source's documents"),
    ),
    "intervals": FieldKeyed(INTERVALS_RULE, name="intervals"),
}
