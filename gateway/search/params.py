"""Parameters shared by many query clauses: names, boosts, texts, fuzziness, analyzers, dates, points."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.search.keyed import FieldKeyed
from gateway.search.rules import FIELD, Enum, Int, ListOf, Num, Obj, OneOf, Rule, Scalar, Str
from gateway.search.scoping import Limited, rewrite_refused

NAME = {"_name": Str(), "boost": Num(0, 1e9)}
TEXT = Str("query text characters")
MINIMUM_SHOULD_MATCH = Int(-1_024, 1_024) | Str(pattern=r"[0-9%<>\- ]{1,64}")
FUZZINESS = Num(0, 2) | Str(pattern=r"(?i)AUTO(:[0-9]{1,3},[0-9]{1,3})?|[0-2](\.0)?")
EXPANSIONS = Int(0, "max_expansions (fuzzy, match, phrase prefix, query_string)")
# top_terms_* and boolean rewrites pick or count terms of the whole index: refused to limited keys.
REWRITE = Limited(Str(pattern=r"[a-z_]{1,40}[0-9]{0,4}"), rewrite_refused)
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


def with_name(params: Mapping[str, Rule], name: str, required: tuple[str, ...] = ()) -> Obj:
    return Obj({**params, **NAME}, required, name)


def short_or_full(short: Rule, params: Mapping[str, Rule], name: str, required: str) -> Rule:
    """``{"field": "value"}`` or ``{"field": {"<required>": "value", ...params}}``."""
    return FieldKeyed(OneOf(short, with_name(params, name, (required,))), name=name)
