"""Budgets over a checked body: bounds on products that no single parameter shows.

Every size in the grammar is bounded on its own, but work multiplies: a ``top_hits`` of 100 under a ``terms``
aggregation of 10 000 buckets fetches a million hits, and each ``collapse.inner_hits`` entry runs one more
search per returned hit. These functions take a body the grammar has accepted.
"""

from __future__ import annotations

from typing import Any

from gateway.search.limits import limit
from gateway.search.rules import SearchRejected

# Buckets a multi-bucket aggregation makes, where its parameters say; otherwise (histograms, rare_terms)
# as many as Elasticsearch's search.max_buckets allows by default.
UNKNOWN_BUCKETS = 65_536
_SINGLE_BUCKET = frozenset({"filter", "nested", "reverse_nested", "global", "missing", "sampler"})
_SINGLE_BUCKET |= {"diversified_sampler"}


def _buckets(kind: str, params: dict[str, Any]) -> int:
    if kind in _SINGLE_BUCKET:
        return 1
    if kind in ("terms", "multi_terms", "significant_terms", "composite"):
        return int(params.get("size", 10))
    if kind in ("range", "date_range", "ip_range"):
        return len(params.get("ranges", []))
    if kind == "filters":
        return len(params.get("filters", [])) + (1 if params.get("other_bucket") else 0)
    if kind == "adjacency_matrix":
        count = len(params.get("filters", {}))
        return count * (count + 1) // 2
    if kind == "auto_date_histogram":
        return int(params.get("buckets", 10))
    return UNKNOWN_BUCKETS


def fetched_hits(aggs: dict[str, Any], buckets: int = 1) -> int:
    """Hits ``top_hits`` aggregations may fetch in all, multiplying by the buckets above each."""
    total = 0
    for node in aggs.values():
        kind = next(key for key in node if key not in ("aggs", "aggregations", "meta"))
        params = node[kind] if isinstance(node[kind], dict) else {}
        if kind == "top_hits":
            total += buckets * (params.get("from", 0) + params.get("size", 3))
        below = buckets * _buckets(kind, params)
        for sub in ("aggs", "aggregations"):
            if sub in node:
                total += fetched_hits(node[sub], below)
    return total


def check_budgets(body: dict[str, Any]) -> None:
    inner_hits = body.get("collapse", {}).get("inner_hits", [])
    expansions = body.get("size", 10) * (len(inner_hits) if isinstance(inner_hits, list) else 1)
    if expansions > (budget := limit("collapse searches (size times inner_hits entries)")):
        # Elasticsearch runs one more search per returned hit and inner_hits entry.
        raise SearchRejected(
            f"'collapse.inner_hits' with 'size' would run {expansions} searches (at most {budget})"
        )
    hits = sum(fetched_hits(body[key]) for key in ("aggs", "aggregations") if key in body)
    if hits > (budget := limit("top_hits hits across all buckets")):
        raise SearchRejected(
            f"'top_hits' under the buckets of 'aggs' may fetch {hits} hits (at most {budget}); "
            "lower the sizes, or the buckets above it"
        )
