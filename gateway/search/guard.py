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

from gateway.search.aggregations import AGGS
from gateway.search.budget import check_budgets
from gateway.search.hits import DOCVALUE_FIELDS, FETCH_FIELDS, SCRIPTS, SOURCE, STORED_FIELDS
from gateway.search.keyed import MapOf, Tagged
from gateway.search.limits import limit
from gateway.search.params import ANALYZER, FUZZINESS, GEO_POINT, TEXT
from gateway.search.queries import HITS, QUERY
from gateway.search.rules import (
    FIELD,
    Bool,
    Enum,
    Int,
    ListOf,
    Never,
    Num,
    Obj,
    Path,
    Rule,
    Scalar,
    SearchRejected,
    Str,
    one_or_many,
    reject,
)
from gateway.search.text import Regexp

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
    "contexts": MapOf(
        one_or_many(
            Scalar()
            | Obj(
                {
                    "context": Scalar() | GEO_POINT,
                    "boost": Num(0, 1e9),
                    "prefix": Bool(),
                    "precision": Int(1, 12) | Str(pattern=r"[0-9.]{1,12}[a-z]{0,4}"),
                    "neighbours": ListOf(Int(1, 12) | Str(pattern=r"[0-9.]{1,12}[a-z]{0,4}"), 12),
                },
                ("context",),
                "a completion context",
            ),
            64,
        ),
        16,
    ),
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
    _FORM = re.compile(rf"([0-9]{{1,{limit('timeout digits')}}})(ms|s)", re.ASCII)

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
        "sort": HITS.sort,
        "search_after": ListOf(Scalar(), "search_after values"),
        "_source": SOURCE,
        "fields": FETCH_FIELDS,
        "docvalue_fields": DOCVALUE_FIELDS,
        "stored_fields": STORED_FIELDS,
        "highlight": HITS.highlight,
        "collapse": HITS.collapse,
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
    check_budgets(body)
    return body
