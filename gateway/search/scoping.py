"""Searches of a key limited to data sources: what the grammar refuses them, and how their body is scoped.

The data-source index holds every data source's document; a key limited to some of them must get nothing
of the others: no document, no term, no count. The gateway wraps the caller's query so that only those
data sources' documents match, and deals with every construct that reads outside the query:

- ``global`` aggregations become ``filter`` aggregations on the same scope (same answer shape);
- ``significant_terms`` get the scope as (or inside) their ``background_filter``;
- the caller's query runs in filter context, so hits are not scored: scores use statistics of the whole
  index (how many documents hold a term), which would tell how common a term is in other data sources;
- what cannot be scoped is refused with 400 ``search_rejected`` naming it (``Limited`` rules in the
  grammar, checked while ``limited_check`` is on): suggesters (they read the index's terms), ``explain``,
  ``rescore`` and ``function_score``'s ``min_score`` (scores), ``min_doc_count: 0`` on terms-like
  aggregations (they list terms of unmatched documents), ``more_like_this`` (it picks terms by their
  frequency in the index), and expansions that pick a limited number of terms from the whole index
  (fuzzy matching without a ``constant_score`` rewrite, phrase prefixes, interval prefixes, wildcards and
  fuzzy rules, ``top_terms_*`` and boolean rewrites).

docs/api-keys.md ("Data-source limits") gives each choice. Keys without a limit never come here: their
body goes to Elasticsearch exactly as before.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any

from gateway.search.rules import Path, Rule, reject

DATASOURCE_FIELD = "datasource_id.keyword"
LIMITED = "for a key limited to data sources"
_checking_limited: ContextVar[bool] = ContextVar("checking_limited", default=False)


@contextlib.contextmanager
def limited_check() -> Iterator[None]:
    """While this is on, ``Limited`` rules refuse what they guard (the check of a limited key's body)."""
    token = _checking_limited.set(True)
    try:
        yield
    finally:
        _checking_limited.reset(token)


class Limited(Rule):
    """``rule``, and for a key limited to data sources, refused where ``refused(value)`` gives a reason."""

    def __init__(self, rule: Rule, refused: Callable[[Any], str | None]) -> None:
        self.rule = rule
        self.refused = refused
        self.expects = rule.expects
        self.types = rule.types

    def check(self, value: Any, path: Path) -> None:
        self.rule.check(value, path)
        if _checking_limited.get() and (reason := self.refused(value)):
            raise reject(path, f"is refused {LIMITED}: {reason}")


def always(reason: str) -> Callable[[Any], str]:
    return lambda _: reason


# Rewrites that match every term of the expansion, however many: nothing depends on other documents' terms.
SAFE_REWRITES = frozenset({"constant_score", "constant_score_blended"})
# A tilde after a term (not after a closing quote, where it is a phrase's slop) asks for fuzzy matching.
_FUZZY_TILDE = re.compile(r'(?:^|[^\\"])~')


def fuzzy_text(text: Any) -> bool:
    return isinstance(text, str) and bool(_FUZZY_TILDE.search(text.replace("\\\\", "")))


FUZZY_REASON = (
    "fuzzy matching picks its terms among every data source's terms; "
    'add "fuzzy_rewrite": "constant_score" (or "rewrite" for a fuzzy query)'
)
EXPANSION_REASON = "it expands to a limited number of terms picked among every data source's terms"
REWRITE_REASON = 'only the "constant_score" rewrites match terms whatever other documents hold'


def _fuzzy(params: dict[str, Any]) -> bool:
    fuzziness = params.get("fuzziness")
    return fuzziness is not None and str(fuzziness).strip() not in ("0", "0.0")


def fuzziness_refused(params: Any) -> str | None:
    """Fuzzy matching whose expansions are the top terms of the whole index (no constant_score rewrite),
    or a phrase prefix (``multi_match`` and ``query_string`` ``type``)."""
    if not isinstance(params, dict):
        return None
    if str(params.get("type", "")).lower() == "phrase_prefix":
        return EXPANSION_REASON
    return FUZZY_REASON if _fuzzy(params) and params.get("fuzzy_rewrite") not in SAFE_REWRITES else None


QUERY_STRING_FUZZY_REASON = (
    "fuzzy matching (~) picks its terms among every data source's terms (its fuzzy_rewrite does not apply); "
    'use a match query with "fuzziness" and "fuzzy_rewrite": "constant_score"'
)


def query_string_refused(params: Any) -> str | None:
    if isinstance(params, dict) and fuzzy_text(params.get("query")):
        return QUERY_STRING_FUZZY_REASON
    return fuzziness_refused(params)


SQS_FUZZY_REASON = (
    "fuzzy matching (~) picks its terms among every data source's terms; leave FUZZY out of flags"
)
_SQS_FUZZY_BIT = 256  # SimpleQueryStringFlag.FUZZY; ALL is -1


def simple_query_string_refused(params: Any) -> str | None:
    """Fuzzy ``~`` with the FUZZY flag on (the default): that query has no rewrite option."""
    if not isinstance(params, dict) or not fuzzy_text(params.get("query")):
        return None
    flags = params.get("flags", "ALL")
    if isinstance(flags, int):
        on = bool(flags & _SQS_FUZZY_BIT)
    else:
        on = bool({"ALL", "FUZZY"} & {flag.strip().upper() for flag in str(flags).split("|")})
    return SQS_FUZZY_REASON if on else None


def rewrite_refused(value: Any) -> str | None:
    return None if value in SAFE_REWRITES else REWRITE_REASON


# --- the body -------------------------------------------------------------------------------------------

_REFUSED_MEMBERS = {
    "suggest": "suggesters read the terms of every data source's documents",
    "rescore": "rescoring scores with statistics of every data source's documents",
}


def scope_body(body: dict[str, Any], datasources: Sequence[str]) -> dict[str, Any]:
    """A checked body (checked with ``limited_check`` on), scoped to ``datasources``; raises
    ``SearchRejected`` for the top-level members that cannot be scoped."""
    for member, reason in _REFUSED_MEMBERS.items():
        if member in body:
            raise reject((member,), f"is refused {LIMITED}: {reason}")
    if body.get("explain") is True:
        raise reject(
            ("explain",),
            f"is refused {LIMITED}: explanations show statistics of every data source's documents",
        )
    scope = {"terms": {DATASOURCE_FIELD: sorted(set(datasources))}}
    scoped = dict(body)
    # Filter context: the hits match the caller's query and the scope, unscored (see the module's text).
    scoped["query"] = {"bool": {"filter": [scope, *([body["query"]] if "query" in body else [])]}}
    for key in ("aggs", "aggregations"):
        if key in body:
            scoped[key] = _scope_aggs(body[key], scope)
    return scoped


def _scope_aggs(aggs: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
    scoped: dict[str, Any] = {}
    for name, node in aggs.items():
        node = dict(node)
        if "global" in node:  # every document of the index → every document the key may see
            del node["global"]
            node["filter"] = scope
        if "significant_terms" in node:
            params = dict(node["significant_terms"])
            given = params.get("background_filter")
            params["background_filter"] = {"bool": {"filter": [scope, *([given] if given else [])]}}
            node["significant_terms"] = params
        for key in ("aggs", "aggregations"):
            if key in node:
                node[key] = _scope_aggs(node[key], scope)
        scoped[name] = node
    return scoped
