"""What a search returns and how: sorts, source filtering, fetched fields, highlighting, inner hits, collapse.

These options are shared by the body, ``top_hits`` aggregations, nested queries' and collapse's inner hits;
the queries they contain (``highlight_query``, nested sort filters) go through the query rule given to
``hit_rules``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.search.keyed import FieldKeyed, MapOf
from gateway.search.params import DATE_FORMAT, GEO_POINT
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
from gateway.search.scoping import Limited

SCRIPTS = "scripts are not allowed"
_EXPLAIN = "explanations show statistics of every data source's documents"

_ORDER = Enum("asc", "desc")
_SORT_OPTIONS: dict[str, Rule] = {
    "order": _ORDER,
    "mode": Enum("min", "max", "sum", "avg", "median"),
    "missing": Scalar(),
    "unmapped_type": Str(pattern=r"[a-z_]{1,32}"),
    "numeric_type": Enum("double", "long", "date", "date_nanos"),
    "format": DATE_FORMAT,
}
_GEO_SORT_OPTIONS: dict[str, Rule] = {
    "order": _ORDER,
    "unit": Str(pattern=r"[a-z]{1,16}"),
    "mode": Enum("min", "max", "avg", "median"),
    "distance_type": Enum("arc", "plane"),
    "ignore_unmapped": Bool(),
}


class SortItem(Rule):
    """``"field"``, ``{"field": "asc"}``, ``{"field": {...options}}`` or ``{"_geo_distance": ...}``."""

    expects = "a string or an object"
    types = frozenset({"string", "object"})

    def __init__(self, nested: Rule) -> None:
        self.by_field = _ORDER | Obj({**_SORT_OPTIONS, "nested": nested}, name="a sort")
        self.geo = FieldKeyed(
            one_or_many(GEO_POINT, 100), {**_GEO_SORT_OPTIONS, "nested": nested}, "_geo_distance"
        )

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
        (self.geo if key == "_geo_distance" else self.by_field).check(options, (*path, key))


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
    "matched_fields": ListOf(FIELD, 64),
    "phrase_limit": Int(1, "highlight phrase_limit"),
    "max_analyzed_offset": Int(1, "highlight max_analyzed_offset"),
}
_HIT_SIZE = Int(0, "top_hits / inner_hits from + size")


@dataclass(frozen=True)
class HitRules:
    """The hit options, built around the query rule they contain."""

    sort: Rule
    highlight: Rule
    inner_hits: Rule
    top_hits: Rule
    collapse: Rule


def hit_rules(query: Rule) -> HitRules:
    """Sorts, highlighting, inner hits, top hits and collapse, for queries checked by ``query``.

    Built once by ``queries.py``: queries hold these options (a nested query's inner hits) and these hold
    queries (``highlight_query``, nested sort filters), so the query rule is passed in rather than imported.
    """
    nested_sort = Obj({"path": FIELD, "filter": query, "max_children": Int(1, 2**31 - 1)}, ("path",))
    nested_sort.params["nested"] = nested_sort  # a nested sort may name a deeper nested path
    sort = one_or_many(SortItem(nested_sort), 32)
    highlight_options = {**_HIGHLIGHT_OPTIONS, "highlight_query": query}
    field_highlight = Obj(highlight_options, name="a highlighted field")
    highlight = Obj(
        {
            **highlight_options,
            "fields": MapOf(field_highlight, 256) | ListOf(MapOf(field_highlight, 1), 256),
        },
        name="highlight",
    )
    hit_options: dict[str, Rule] = {
        "from": _HIT_SIZE,
        "size": _HIT_SIZE,
        "sort": sort,
        "_source": SOURCE,
        "fields": FETCH_FIELDS,
        "docvalue_fields": DOCVALUE_FIELDS,
        "stored_fields": STORED_FIELDS,
        "highlight": highlight,
        "explain": Limited(Bool(), lambda on: _EXPLAIN if on else None),
        "version": Bool(),
        "seq_no_primary_term": Bool(),
        "track_scores": Bool(),
        "script_fields": Never(SCRIPTS),
    }
    top_hits = Obj(hit_options, name="top_hits")
    inner_hits = Obj(
        {
            **hit_options,
            "name": Str(),
            "ignore_unmapped": Bool(),
            "collapse": Obj({"field": FIELD}, ("field",), "collapse"),
        },
        name="inner_hits",
    )
    collapse = Obj(
        {
            "field": FIELD,
            "inner_hits": one_or_many(inner_hits, 16),
            "max_concurrent_group_searches": Int(1, "collapse max_concurrent_group_searches"),
        },
        ("field",),
        "collapse",
    )
    return HitRules(sort, highlight, inner_hits, top_hits, collapse)
