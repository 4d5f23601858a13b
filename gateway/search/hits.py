"""What a search returns and how: sorts, source filtering, fetched fields, highlighting, inner hits, collapse.

These options are shared by the body, ``top_hits`` aggregations, nested queries' and collapse's inner hits;
the queries they contain (``highlight_query``, nested sort filters) go through the query grammar.
"""

from __future__ import annotations

from typing import Any

from gateway.search.aggregations import AGGREGATIONS
from gateway.search.keyed import FieldKeyed, MapOf
from gateway.search.params import DATE_FORMAT, GEO_POINT
from gateway.search.queries import QUERIES, QUERY, nested_query
from gateway.search.rules import (
    FIELD,
    Bool,
    Enum,
    Int,
    ListOf,
    Never,
    Obj,
    Path,
    Rule,
    Scalar,
    Str,
    one_or_many,
    reject,
    type_name,
)

SCRIPTS = "scripts are not allowed"

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
        if not isinstance(value, dict):
            raise reject(path, f"must be a field name or an object, not {type_name(value)}")
        if len(value) != 1:
            raise reject(path, "must name exactly one field to sort on")
        [(key, options)] = value.items()
        if key == "_script":
            raise reject((*path, key), f"is refused: {SCRIPTS}")
        FIELD.check(key, (*path, key))
        (_GEO_SORT if key == "_geo_distance" else self.by_field).check(options, (*path, key))


SORT = one_or_many(SortItem(), 32)
STORED_FIELDS = one_or_many(FIELD)
SOURCE = (
    Bool()
    | FIELD
    | ListOf(FIELD)
    | Obj({name: STORED_FIELDS for name in ("includes", "excludes", "include", "exclude")}, name="_source")
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
    "stored_fields": STORED_FIELDS,
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
