"""The search guard: what a body sent to the data-source index may contain, as an allow-listed grammar.

``check_search_body`` accepts a body only if every member, at every depth, is in the grammar: the top-level
options below, the query clauses of ``queries.py`` and the aggregations of ``aggregations.py``, each with
the parameters it may carry, every number within the bounds of ``limits.py``. Anything else is refused
with a ``SearchRejected`` (400 ``search_rejected``) naming the construct and its path. The grammar has no
construct that names another index or document, runs a script or calls a model.
"""

from __future__ import annotations

import re
from typing import Any

from gateway.search.aggregations import AGGREGATIONS, AGGS
from gateway.search.limits import limit
from gateway.search.queries import (
    ANALYZER,
    DATE_FORMAT,
    FUZZINESS,
    GEO_POINT,
    QUERIES,
    QUERY,
    TEXT,
    nested_query,
)
from gateway.search.rules import (
    FIELD,
    Bool,
    Data,
    Enum,
    FieldKeyed,
    Int,
    ListOf,
    MapOf,
    Never,
    Num,
    Obj,
    Path,
    Rule,
    Scalar,
    SearchRejected,
    Str,
    Tagged,
    one_or_many,
    reject,
)
from gateway.search.text import Regexp

SCRIPTS = "scripts are not allowed"

# --- hits: sort, source filtering, highlight, inner hits ------------------------------------------------

_ORDER = Enum("asc", "desc")
_SORT_OPTIONS: dict[str, Rule] = {
    "order": _ORDER,
    "mode": Enum("min", "max", "sum", "avg", "median"),
    "missing": Scalar(),
    "unmapped_type": Str(pattern=r"[a-z_]{1,32}"),
    "numeric_type": Enum("double", "long", "date", "date_nanos"),
    "format": DATE_FORMAT,
}
_NESTED_SORT = Obj({"path": FIELD, "filter": QUERY, "max_children": Int(1, 2**31 - 1)}, ("path",))
_NESTED_SORT.params["nested"] = _NESTED_SORT
_SORT_OPTIONS["nested"] = _NESTED_SORT
_GEO_SORT = FieldKeyed(
    one_or_many(GEO_POINT, 100),
    {
        "order": _ORDER,
        "unit": Str(pattern=r"[a-z]{1,16}"),
        "mode": Enum("min", "max", "avg", "median"),
        "distance_type": Enum("arc", "plane"),
        "ignore_unmapped": Bool(),
        "nested": _NESTED_SORT,
    },
    "_geo_distance",
)


class SortItem(Rule):
    """``"field"``, ``{"field": "asc"}``, ``{"field": {...options}}`` or ``{"_geo_distance": ...}``."""

    expects = "a string or an object"
    types = frozenset({"string", "object"})
    by_field = _ORDER | Obj(_SORT_OPTIONS, name="a sort")

    def check(self, value: Any, path: Path) -> None:
        if isinstance(value, str):
            FIELD.check(value, path)
            return
        if len(value) != 1:
            raise reject(path, "must name exactly one field to sort on")
        [(key, options)] = value.items()
        if key == "_script":
            raise reject((*path, key), f"is refused: {SCRIPTS}")
        FIELD.check(key, (*path, key))
        (_GEO_SORT if key == "_geo_distance" else self.by_field).check(options, (*path, key))


SORT = one_or_many(SortItem(), 32)
_FIELDS = one_or_many(FIELD)
SOURCE = (
    Bool()
    | FIELD
    | ListOf(FIELD)
    | Obj({name: _FIELDS for name in ("includes", "excludes", "include", "exclude")}, name="_source")
)
FETCH_FIELDS = ListOf(FIELD | Obj({"field": FIELD, "format": DATE_FORMAT, "include_unmapped": Bool()}))
DOCVALUE_FIELDS = ListOf(FIELD | Obj({"field": FIELD, "format": DATE_FORMAT}, ("field",)))

_TAGS = ListOf(Str(), 16)
_HIGHLIGHT_OPTIONS: dict[str, Rule] = {
    "pre_tags": _TAGS,
    "post_tags": _TAGS,
    "tags_schema": Enum("styled"),
    "type": Enum("unified", "plain", "fvh"),
    "number_of_fragments": Int(0, "highlight number_of_fragments"),
    "fragment_size": Int(0, "highlight fragment_size, no_match_size"),
    "no_match_size": Int(0, "highlight fragment_size, no_match_size"),
    "fragment_offset": Int(0, "highlight fragment_size, no_match_size"),
    "fragmenter": Enum("simple", "span"),
    "order": Enum("score", "none"),
    "require_field_match": Bool(),
    "boundary_scanner": Enum("chars", "sentence", "word"),
    "boundary_chars": Str(pattern=r".{0,64}"),
    "boundary_max_scan": Int(0, "highlight boundary_max_scan"),
    "boundary_scanner_locale": Str(pattern=r"[A-Za-z0-9_\-]{1,32}"),
    "encoder": Enum("default", "html"),
    "force_source": Bool(),
    "highlight_filter": Bool(),
    "highlight_query": QUERY,
    "matched_fields": ListOf(FIELD, 64),
    "phrase_limit": Int(1, "highlight phrase_limit"),
    "max_analyzed_offset": Int(1, "highlight max_analyzed_offset"),
}
_FIELD_HIGHLIGHT = Obj(_HIGHLIGHT_OPTIONS, name="a highlighted field")
HIGHLIGHT = Obj(
    {
        **_HIGHLIGHT_OPTIONS,
        "fields": MapOf(_FIELD_HIGHLIGHT, 256) | ListOf(MapOf(_FIELD_HIGHLIGHT, 1), 256),
    },
    name="highlight",
)

_HIT_SIZE = Int(0, "top_hits / inner_hits from + size")
HIT_OPTIONS: dict[str, Rule] = {
    "from": _HIT_SIZE,
    "size": _HIT_SIZE,
    "sort": SORT,
    "_source": SOURCE,
    "fields": FETCH_FIELDS,
    "docvalue_fields": DOCVALUE_FIELDS,
    "stored_fields": _FIELDS,
    "highlight": HIGHLIGHT,
    "explain": Bool(),
    "version": Bool(),
    "seq_no_primary_term": Bool(),
    "track_scores": Bool(),
    "script_fields": Never(SCRIPTS),
}
INNER_HITS = Obj({**HIT_OPTIONS, "name": Str(), "ignore_unmapped": Bool()}, name="inner_hits")
QUERIES["nested"] = nested_query(INNER_HITS)
AGGREGATIONS["top_hits"] = Obj(HIT_OPTIONS, name="top_hits")
bucket_sort = AGGREGATIONS["bucket_sort"]
assert isinstance(bucket_sort, Obj)
bucket_sort.params["sort"] = SORT

COLLAPSE = Obj(
    {
        "field": FIELD,
        "inner_hits": one_or_many(INNER_HITS, 16),
        "max_concurrent_group_searches": Int(1, "collapse max_concurrent_group_searches"),
    },
    ("field",),
    "collapse",
)
INNER_HITS.params["collapse"] = Obj({"field": FIELD}, ("field",), "collapse")

# --- rescore and suggest --------------------------------------------------------------------------------

RESCORE = one_or_many(
    Obj(
        {
            "window_size": Int(1, "rescore window_size"),
            "query": Obj(
                {
                    "rescore_query": QUERY,
                    "query_weight": Num(-1e9, 1e9),
                    "rescore_query_weight": Num(-1e9, 1e9),
                    "score_mode": Enum("total", "multiply", "avg", "max", "min"),
                },
                ("rescore_query",),
                "a query rescorer",
            ),
            "learning_to_rank": Never("learning_to_rank rescorers call a model"),
        },
        ("query",),
        "rescore",
    ),
    16,
)

_SUGGEST_SIZE = Int(1, "suggester size")
_SUGGEST_SHARD_SIZE = Int(1, "suggester shard_size")
_TERM_SUGGESTER: dict[str, Rule] = {
    "field": FIELD,
    "analyzer": ANALYZER,
    "size": _SUGGEST_SIZE,
    "shard_size": _SUGGEST_SHARD_SIZE,
    "sort": Enum("score", "frequency"),
    "suggest_mode": Enum("missing", "popular", "always"),
    "max_edits": Int(1, 2),
    "prefix_length": Int(0, 100),
    "min_word_length": Int(1, 1_000),
    "max_inspections": Int(1, "suggester max_inspections"),
    "min_doc_freq": Num(0, 1e9),
    "max_term_freq": Num(0, 1e9),
    "string_distance": Enum("internal", "damerau_levenshtein", "levenshtein", "jaro_winkler", "ngram"),
    "lowercase_terms": Bool(),
    "accuracy": Num(0, 1),
}
_SMALL = "phrase suggester gram_size, max_errors, token_limit"
_PHRASE_SUGGESTER: dict[str, Rule] = {
    **{key: _TERM_SUGGESTER[key] for key in ("field", "analyzer", "size", "shard_size")},
    "gram_size": Int(1, _SMALL),
    "real_word_error_likelihood": Num(0, 1),
    "confidence": Num(0, 1e9),
    "max_errors": Num(0, _SMALL),
    "separator": Str(),
    "token_limit": Int(1, _SMALL),
    "force_unigrams": Bool(),
    "highlight": Obj({"pre_tag": Str(), "post_tag": Str()}),
    "direct_generator": ListOf(
        Obj({**_TERM_SUGGESTER, "pre_filter": ANALYZER, "post_filter": ANALYZER}, ("field",)), 16
    ),
    "smoothing": Tagged(
        "smoothing model",
        lambda: {
            "stupid_backoff": Obj({"discount": Num(0, 1)}),
            "laplace": Obj({"alpha": Num(0, 1)}),
            "linear_interpolation": Obj(
                {key: Num(0, 1) for key in ("trigram_lambda", "bigram_lambda", "unigram_lambda")}
            ),
        },
    ),
    "collate": Never("collate runs a query template, which is a script"),
}
_COMPLETION_SUGGESTER: dict[str, Rule] = {
    "field": FIELD,
    "size": _SUGGEST_SIZE,
    "skip_duplicates": Bool(),
    "analyzer": ANALYZER,
    "fuzzy": Bool()
    | Obj(
        {
            "fuzziness": FUZZINESS,
            "transpositions": Bool(),
            "min_length": Int(0, 1_000),
            "prefix_length": Int(0, 1_000),
            "unicode_aware": Bool(),
        }
    ),
    "regex": Obj({"flags": Str(pattern=r"[A-Z_|]{1,200}"), "max_determinized_states": Int(0, 10_000)}),
    "contexts": MapOf(Data(), 16),
}
SUGGESTION = Tagged(
    "suggester",
    lambda: {
        "term": Obj(_TERM_SUGGESTER, ("field",), "the term suggester"),
        "phrase": Obj(_PHRASE_SUGGESTER, ("field",), "the phrase suggester"),
        "completion": Obj(_COMPLETION_SUGGESTER, ("field",), "the completion suggester"),
    },
    extra={"text": TEXT, "prefix": TEXT, "regex": Regexp()},
)
SUGGEST = MapOf(SUGGESTION, 64, key=Str(pattern=r"[^\[\]]{1,128}"))

# --- the body -------------------------------------------------------------------------------------------


class Timeout(Rule):
    """``"500ms"`` or ``"5s"`` with ASCII digits, above zero and at most the limit."""

    expects = "a string"
    types = frozenset({"string"})
    _FORM = re.compile(r"([0-9]{1,9})(ms|s)", re.ASCII)

    def check(self, value: Any, path: Path) -> None:
        most = limit("timeout milliseconds")
        match = self._FORM.fullmatch(value) if isinstance(value, str) else None
        millis = int(match.group(1)) * (1 if match.group(2) == "ms" else 1000) if match else 0
        if not 0 < millis <= most:
            raise reject(path, f'must be like "500ms" or "5s", at most {most // 1000}s')


_HITS = "from + size"
BODY = Obj(
    {
        "query": QUERY,
        "post_filter": QUERY,
        "aggs": AGGS,
        "aggregations": AGGS,
        "size": Int(0, _HITS),
        "from": Int(0, _HITS),
        "sort": SORT,
        "search_after": ListOf(Scalar(), "search_after values"),
        "_source": SOURCE,
        "fields": FETCH_FIELDS,
        "docvalue_fields": DOCVALUE_FIELDS,
        "stored_fields": _FIELDS,
        "highlight": HIGHLIGHT,
        "collapse": COLLAPSE,
        "rescore": RESCORE,
        "suggest": SUGGEST,
        "min_score": Num(-1e38, 1e38),
        "timeout": Timeout(),
        "terminate_after": Int(0, "terminate_after"),
        "track_total_hits": Bool() | Int(0, "track_total_hits"),
        "track_scores": Bool(),
        "explain": Bool(),
        "version": Bool(),
        "seq_no_primary_term": Bool(),
        # Refused on purpose; the reasons are in docs/security.md.
        "profile": Never("profiles expose cluster internals (nodes, shards, rewritten queries, timings)"),
        "script_fields": Never(SCRIPTS),
        "runtime_mappings": Never("runtime_mappings " + SCRIPTS),
        "indices_boost": Never("indices_boost names other indices"),
        "pit": Never("point-in-time ids may name other indices"),
        "knn": Never("vector search is not allowed (it can call a model)"),
        "rank": Never("rank is not supported"),
        "retriever": Never("retrievers are not supported"),
        "slice": Never("slices belong to scrolls and points in time, which are not supported"),
        "stats": Never("stats groups are not supported"),
        "ext": Never("search extensions are not supported"),
    },
    name="the search body",
)


def check_search_body(body: Any) -> dict[str, Any]:
    """Return the body, checked; raise SearchRejected naming the first construct outside the grammar."""
    if not isinstance(body, dict):
        raise SearchRejected("the search body must be a JSON object")
    BODY.check(body, ())
    most = limit(_HITS)
    if body.get("from", 0) + body.get("size", 10) > most:
        raise SearchRejected(f"'from' + 'size' must not exceed {most}")
    return body
