"""Every bound the search guard puts on a number or a string, in one table.

docs/security.md shows this table; a test checks that the two agree. Where Elasticsearch has a default
cluster or index limit for the same thing, the bound is that default or lower, so a body the guard accepts
never depends on the cluster's own settings to stay cheap.
"""

from __future__ import annotations

from typing import Final

LIMITS: Final[dict[str, int]] = {
    # Hits
    "from + size": 10_000,  # index.max_result_window
    "terminate_after": 10_000_000,
    "track_total_hits": 2_147_483_647,
    "search_after values": 32,
    # Aggregations
    "aggregation size, shard_size": 10_000,
    "composite size": 10_000,
    "top_hits / inner_hits from + size": 100,  # index.max_inner_result_window
    "top_hits hits across all buckets": 100_000,
    "auto_date_histogram buckets": 10_000,
    "rare_terms max_doc_count": 100,
    "cardinality precision_threshold": 40_000,
    "percentiles tdigest compression": 10_000,
    "percentiles percents / values": 100,
    "sampler shard_size": 10_000,
    "ranges per range aggregation": 1_000,
    "filters per filters / adjacency_matrix": 100,  # indices.query.bool.max_clause_count is far higher
    "serial_diff lag": 1_000,
    # Queries
    "clauses per bool occurrence / dis_max / list": 1_024,
    "terms / ids values": 10_000,
    "max_expansions (fuzzy, match, phrase prefix, query_string)": 1_024,
    "max_determinized_states": 10_000,
    "more_like_this max_query_terms": 1_024,
    "more_like_this like / unlike items": 100,
    "geo_bounding_box wkt characters": 10_000,
    "rescore window_size": 10_000,  # index.max_rescore_window
    "collapse max_concurrent_group_searches": 64,
    "collapse searches (size times inner_hits entries)": 1_000,
    # Highlighting
    "highlight number_of_fragments": 100,
    "highlight fragment_size, no_match_size": 10_000,
    "highlight boundary_max_scan": 1_000,
    "highlight phrase_limit": 256,
    "highlight max_analyzed_offset": 1_000_000,  # index.highlight.max_analyzed_offset
    # Suggesters
    "suggester size": 100,
    "suggester shard_size": 1_000,
    "suggester max_inspections": 10,
    "phrase suggester gram_size, max_errors, token_limit": 10,
    # Strings
    "query text characters": 10_000,
    "query_string / simple_query_string characters": 4_096,
    "query_string parenthesis nesting": 32,
    "regexp characters": 1_000,  # index.max_regex_length
    "regexp repetition count": 100,
    "regexp repetition product": 10_000,
    "wildcard / prefix characters": 1_000,
    "field name characters": 512,
    "other string characters": 1_024,
    # Structure
    "nesting depth": 32,
    "request body bytes": 256 * 1024,
    "timeout milliseconds": 10_000,
    "timeout digits": 9,
}


def limit(name: str) -> int:
    return LIMITS[name]
