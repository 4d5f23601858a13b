"""The aggregations a passthrough search may use, each with its parameters (Elasticsearch 8.x).

Queries inside aggregations (``filter``, ``filters``, ``adjacency_matrix``, ``significant_terms``'
``background_filter``, ``top_hits``' sorts and highlights) go through the same query grammar as the top
level, so a terms lookup or any other read of another document is refused here exactly as there.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.search.keyed import MapOf, Tagged
from gateway.search.params import DATE_FORMAT, TIME_ZONE
from gateway.search.queries import HITS, QUERY
from gateway.search.rules import (
    FIELD,
    Bool,
    Data,
    Enum,
    Int,
    ListOf,
    Num,
    Obj,
    Rule,
    Scalar,
    Str,
    one_or_many,
)
from gateway.search.scoping import Limited
from gateway.search.text import Regexp

REFUSED_AGGREGATIONS = {
    "scripted_metric": "scripts are not allowed",
    "bucket_script": "scripts are not allowed",
    "bucket_selector": "scripts are not allowed",
    "moving_fn": "scripts are not allowed",
    "inference": "model inference is not allowed",
    "significant_text": "it re-analyses source text of many documents (not accepted)",
}


def aggregation_types() -> Mapping[str, Rule]:
    return AGGREGATIONS


AGG_NAME = Str(pattern=r"[^\[\]>]{1,128}")
AGGREGATION: Rule = Tagged(
    "aggregation",
    aggregation_types,
    REFUSED_AGGREGATIONS,
    extra={},  # completed below: sub-aggregations and meta
)
AGGS = MapOf(AGGREGATION, 1_024, key=AGG_NAME)
assert isinstance(AGGREGATION, Tagged)
AGGREGATION.extra.update({"aggs": AGGS, "aggregations": AGGS, "meta": Data()})

SIZE = Int(0, "aggregation size, shard_size")
MISSING = Scalar()
ORDER = one_or_many(MapOf(Enum("asc", "desc"), 16, key=Str()), 16)
GAP_POLICY = Enum("skip", "insert_zeros", "keep_values")
BUCKETS_PATH = Str() | MapOf(Str(), 64, key=Str())
INCLUDE = (
    Regexp()
    | ListOf(Scalar(), "terms / ids values")
    | Obj({"partition": Int(0, 10_000), "num_partitions": Int(1, 10_000)}, ("partition", "num_partitions"))
)
_VALUE_SOURCE: dict[str, Rule] = {"field": FIELD, "missing": MISSING, "format": DATE_FORMAT}
_METRIC = Obj(_VALUE_SOURCE, ("field",), "a metric aggregation")
_UNMATCHED_TERMS = "it lists terms of documents the search does not match"
_TERMS = {
    **_VALUE_SOURCE,
    "size": SIZE,
    "shard_size": SIZE,
    # 0 lists the field's terms of documents the query did not match: refused to limited keys.
    "min_doc_count": Limited(Int(0, 2**31 - 1), lambda n: _UNMATCHED_TERMS if n == 0 else None),
    "shard_min_doc_count": Int(0, 2**31 - 1),
    "show_term_doc_count_error": Bool(),
    "order": ORDER,
    "include": INCLUDE,
    "exclude": INCLUDE,
    "execution_hint": Enum(
        "map", "global_ordinals", "global_ordinals_hash", "global_ordinals_low_cardinality"
    ),
    "collect_mode": Enum("depth_first", "breadth_first"),
    "value_type": Enum("string", "long", "double", "number", "date", "ip", "boolean"),
}
_HEURISTIC = Obj({"include_negatives": Bool(), "background_is_superset": Bool()})
_BOUNDS = Obj({"min": Scalar(), "max": Scalar()})
_HISTOGRAM = {
    **_VALUE_SOURCE,
    "interval": Num(1e-9, 1e18),
    "offset": Num(-1e18, 1e18),
    "min_doc_count": Int(0, 2**31 - 1),
    "order": ORDER,
    "keyed": Bool(),
    "extended_bounds": _BOUNDS,
    "hard_bounds": _BOUNDS,
}
_DURATION = Str(pattern=r"[0-9]{0,9}[a-zA-Z]{1,8}")
_DATE_HISTOGRAM = {
    **_HISTOGRAM,
    "interval": _DURATION,
    "calendar_interval": _DURATION,
    "fixed_interval": _DURATION,
    "offset": Str(pattern=r"[+\-]?[0-9]{1,9}[a-zA-Z]{1,8}"),
    "time_zone": TIME_ZONE,
}
_RANGE_ITEM = Obj({"from": Scalar(), "to": Scalar(), "key": Str(), "mask": Str()})
_RANGES = {
    **_VALUE_SOURCE,
    "ranges": ListOf(_RANGE_ITEM, "ranges per range aggregation"),
    "keyed": Bool(),
    "time_zone": TIME_ZONE,
}
_FILTERS = MapOf(QUERY, "filters per filters / adjacency_matrix", key=AGG_NAME)
_COMPOSITE_SOURCE = Tagged(
    "composite source",
    lambda: {
        "terms": Obj({**_VALUE_SOURCE, "order": Enum("asc", "desc"), "missing_bucket": Bool()}),
        "histogram": Obj(
            {
                **_VALUE_SOURCE,
                "interval": Num(1e-9, 1e18),
                "order": Enum("asc", "desc"),
                "missing_bucket": Bool(),
            }
        ),
        "date_histogram": Obj(
            {
                **{k: _DATE_HISTOGRAM[k] for k in ("field", "format", "calendar_interval", "fixed_interval")},
                **{k: _DATE_HISTOGRAM[k] for k in ("interval", "offset", "time_zone", "missing")},
                "order": Enum("asc", "desc"),
                "missing_bucket": Bool(),
            }
        ),
    },
)
_PIPELINE = {"buckets_path": BUCKETS_PATH, "gap_policy": GAP_POLICY, "format": DATE_FORMAT}
_BUCKET_METRIC = Obj(_PIPELINE, ("buckets_path",), "a bucket metric aggregation")
_PERCENTS = ListOf(Num(0, 100), "percentiles percents / values")


def _percentiles(values_key: str) -> Obj:
    return Obj(
        {
            **_VALUE_SOURCE,
            values_key: ListOf(Num(-1e300, 1e300), "percentiles percents / values"),
            "keyed": Bool(),
            "tdigest": Obj(
                {
                    "compression": Num(1, "percentiles tdigest compression"),
                    "execution_hint": Enum("default", "high_accuracy"),
                }
            ),
            "hdr": Obj({"number_of_significant_value_digits": Int(0, 5)}),
        },
        name=values_key,
    )


AGGREGATIONS: dict[str, Rule] = {
    # Buckets
    "terms": Obj(_TERMS, name="terms"),
    "significant_terms": Obj(
        {
            **{k: _TERMS[k] for k in ("field", "size", "shard_size", "min_doc_count", "shard_min_doc_count")},
            **{k: _TERMS[k] for k in ("include", "exclude", "execution_hint")},
            "background_filter": QUERY,
            "mutual_information": _HEURISTIC,
            "chi_square": _HEURISTIC,
            "gnd": Obj({"background_is_superset": Bool()}),
            "jlh": Obj({}),
            "percentage": Obj({}),
        },
        ("field",),
        "significant_terms",
    ),
    "rare_terms": Obj(
        {
            **{k: _TERMS[k] for k in ("field", "missing", "include", "exclude")},
            "max_doc_count": Int(1, "rare_terms max_doc_count"),
            "precision": Num(0.00001, 1),
        },
        ("field",),
        "rare_terms",
    ),
    "multi_terms": Obj(
        {
            **{k: _TERMS[k] for k in ("size", "shard_size", "min_doc_count", "shard_min_doc_count", "order")},
            **{k: _TERMS[k] for k in ("show_term_doc_count_error", "collect_mode")},
            "terms": ListOf(Obj(_VALUE_SOURCE, ("field",)), 16),
        },
        ("terms",),
        "multi_terms",
    ),
    "histogram": Obj(_HISTOGRAM, name="histogram"),
    "date_histogram": Obj(_DATE_HISTOGRAM, name="date_histogram"),
    "auto_date_histogram": Obj(
        {
            **_VALUE_SOURCE,
            "buckets": Int(1, "auto_date_histogram buckets"),
            "time_zone": TIME_ZONE,
            "minimum_interval": Enum("second", "minute", "hour", "day", "month", "year"),
        },
        name="auto_date_histogram",
    ),
    "range": Obj(_RANGES, ("ranges",), "range"),
    "date_range": Obj(_RANGES, ("ranges",), "date_range"),
    "ip_range": Obj(_RANGES, ("ranges",), "ip_range"),
    "filter": QUERY,
    "filters": Obj(
        {
            "filters": _FILTERS | ListOf(QUERY, "filters per filters / adjacency_matrix"),
            "other_bucket": Bool(),
            "other_bucket_key": AGG_NAME,
            "keyed": Bool(),
        },
        ("filters",),
        "filters",
    ),
    "adjacency_matrix": Obj({"filters": _FILTERS, "separator": Str()}, ("filters",), "adjacency_matrix"),
    "missing": Obj({"field": FIELD}, ("field",), "missing"),
    "nested": Obj({"path": FIELD}, ("path",), "nested"),
    "reverse_nested": Obj({"path": FIELD}, name="reverse_nested"),
    "global": Obj({}, name="global"),
    "composite": Obj(
        {
            "sources": ListOf(MapOf(_COMPOSITE_SOURCE, 1, key=AGG_NAME), 16),
            "size": Int(1, "composite size"),
            "after": MapOf(Scalar(), 16, key=AGG_NAME),
        },
        ("sources",),
        "composite",
    ),
    "sampler": Obj({"shard_size": Int(1, "sampler shard_size")}, name="sampler"),
    "diversified_sampler": Obj(
        {
            "field": FIELD,
            "shard_size": Int(1, "sampler shard_size"),
            "max_docs_per_value": Int(1, 10_000),
            "execution_hint": Enum("map", "global_ordinals", "bytes_hash"),
        },
        ("field",),
        "diversified_sampler",
    ),
    # Metrics
    **{name: _METRIC for name in ("avg", "sum", "min", "max", "value_count", "stats")},
    "extended_stats": _METRIC.extend({"sigma": Num(0, 1e6)}, "extended_stats"),
    "cardinality": _METRIC.extend(
        {
            "precision_threshold": Int(0, "cardinality precision_threshold"),
            "execution_hint": Enum("global_ordinals", "segment_ordinals", "direct", "save_memory_heuristic"),
        },
        "cardinality",
    ),
    "percentiles": _percentiles("percents"),
    "percentile_ranks": _percentiles("values"),
    "median_absolute_deviation": _METRIC.extend(
        {"compression": Num(1, "percentiles tdigest compression")}, "median_absolute_deviation"
    ),
    "weighted_avg": Obj(
        {
            "value": Obj({"field": FIELD, "missing": MISSING}, ("field",)),
            "weight": Obj({"field": FIELD, "missing": MISSING}, ("field",)),
            "format": DATE_FORMAT,
            "value_type": _TERMS["value_type"],
        },
        ("value", "weight"),
        "weighted_avg",
    ),
    # top_hits takes the hit options (sort, _source, highlight, ...): see the end of this table.
    # Pipelines
    **{
        name: _BUCKET_METRIC
        for name in ("avg_bucket", "sum_bucket", "min_bucket", "max_bucket", "stats_bucket")
    },
    "extended_stats_bucket": _BUCKET_METRIC.extend({"sigma": Num(0, 1e6)}, "extended_stats_bucket"),
    "percentiles_bucket": _BUCKET_METRIC.extend(
        {"percents": _PERCENTS, "keyed": Bool()}, "percentiles_bucket"
    ),
    "derivative": _BUCKET_METRIC.extend({"unit": _DURATION}, "derivative"),
    "cumulative_sum": Obj({"buckets_path": BUCKETS_PATH, "format": DATE_FORMAT}, ("buckets_path",)),
    "serial_diff": _BUCKET_METRIC.extend({"lag": Int(1, "serial_diff lag")}, "serial_diff"),
    "bucket_sort": Obj(
        {"from": Int(0, 10_000), "size": SIZE, "gap_policy": GAP_POLICY, "sort": HITS.sort},
        name="bucket_sort",
    ),
    "top_hits": HITS.top_hits,
}
