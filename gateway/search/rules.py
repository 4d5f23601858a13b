"""The building blocks of the search grammar: small rules that accept a JSON value or say why not.

A rule checks one JSON value at a path in the body and raises ``SearchRejected`` naming that path. Objects
accept only the parameters they list; every number has bounds and every string a length limit, taken from
``gateway.search.limits``. Nothing here knows Elasticsearch: ``keyed.py`` adds objects keyed by a name, and
``queries.py``, ``aggregations.py``, ``hits.py`` and ``guard.py`` compose them into the allow-list.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from gateway.errors import InvalidInput
from gateway.search.limits import limit

Path = tuple[str, ...]


class SearchRejected(InvalidInput):
    code = "search_rejected"


def where(path: Path) -> str:
    return ".".join(path) or "<body>"


def reject(path: Path, problem: str) -> SearchRejected:
    return SearchRejected(f"'{where(path)}' {problem}")


def check_depth(path: Path) -> None:
    """Every container rule calls this, so no recursion in the grammar can nest past the limit."""
    if len(path) > limit("nesting depth"):
        raise SearchRejected(f"the body nests deeper than {limit('nesting depth')} levels")


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def type_name(value: Any) -> str:
    kind = json_type(value)
    return kind if kind == "null" else f"an {kind}" if kind[0] in "ao" else f"a {kind}"


ANY_TYPE = frozenset({"null", "boolean", "number", "string", "array", "object"})


class Rule:
    """Accepts a JSON value at ``path`` or raises ``SearchRejected``."""

    expects = "a valid value"
    types: frozenset[str] = ANY_TYPE  # the JSON types this rule takes, for OneOf

    def check(self, value: Any, path: Path) -> None:
        raise NotImplementedError

    def __or__(self, other: Rule) -> Rule:
        return OneOf(self, other)


class Never(Rule):
    """A parameter that is known and refused on purpose, with the reason."""

    def __init__(self, reason: str, types: frozenset[str] = ANY_TYPE) -> None:
        self.reason = reason
        self.types = types

    def check(self, value: Any, path: Path) -> None:
        raise reject(path, f"is refused: {self.reason}")


class Bool(Rule):
    expects = "a boolean"
    types = frozenset({"boolean"})

    def check(self, value: Any, path: Path) -> None:
        if not isinstance(value, bool):
            raise reject(path, f"must be a boolean, not {type_name(value)}")


class Int(Rule):
    expects = "an integer"
    types = frozenset({"number"})

    def __init__(self, low: int, high: int | str) -> None:
        self.low = low
        self.high = limit(high) if isinstance(high, str) else high

    def check(self, value: Any, path: Path) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise reject(path, f"must be an integer, not {type_name(value)}")
        if not self.low <= value <= self.high:
            raise reject(path, f"must be between {self.low} and {self.high}")


class Num(Rule):
    expects = "a number"
    types = frozenset({"number"})

    def __init__(self, low: float, high: float | str) -> None:
        self.low = low
        self.high = float(limit(high)) if isinstance(high, str) else high

    def check(self, value: Any, path: Path) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise reject(path, f"must be a number, not {type_name(value)}")
        if not (math.isfinite(value) and self.low <= value <= self.high):
            raise reject(path, f"must be between {self.low:g} and {self.high:g}")


class Str(Rule):
    expects = "a string"
    types = frozenset({"string"})

    def __init__(self, max_chars: str = "other string characters", pattern: str | None = None) -> None:
        self.max_chars = limit(max_chars)
        self.pattern = re.compile(pattern, re.ASCII) if pattern else None

    def check(self, value: Any, path: Path) -> None:
        if not isinstance(value, str):
            raise reject(path, f"must be a string, not {type_name(value)}")
        if len(value) > self.max_chars:
            raise reject(path, f"must be at most {self.max_chars} characters")
        if self.pattern is not None and not self.pattern.fullmatch(value):
            raise reject(path, "is not in an accepted form")


class Enum(Rule):
    expects = "a string"
    types = frozenset({"string"})

    def __init__(self, *values: str) -> None:
        self.values = frozenset(values)

    def check(self, value: Any, path: Path) -> None:
        if not isinstance(value, str) or value.lower() not in self.values:
            raise reject(path, f"must be one of {', '.join(sorted(self.values))}")


class Scalar(Rule):
    """A term, a bound of a range, a missing value: a string, number, boolean or null."""

    expects = "a string, number, boolean or null"
    types = frozenset({"null", "boolean", "number", "string"})

    def __init__(self, max_chars: str = "query text characters") -> None:
        self.text = Str(max_chars)

    def check(self, value: Any, path: Path) -> None:
        if isinstance(value, str):
            self.text.check(value, path)
        elif value is not None and not isinstance(value, bool | int | float):
            raise reject(path, f"must be a string, number, boolean or null, not {type_name(value)}")


class Data(Rule):
    """Caller data that Elasticsearch only stores or echoes (aggregation ``meta``, artificial documents)."""

    expects = "JSON data"

    def check(self, value: Any, path: Path) -> None:
        check_depth(path)
        if isinstance(value, dict):
            for key, item in value.items():
                self.check(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.check(item, (*path, str(index)))
        else:
            Scalar().check(value, path)


class ListOf(Rule):
    expects = "an array"
    types = frozenset({"array"})

    def __init__(self, item: Rule, max_items: int | str = "clauses per bool occurrence / dis_max / list"):
        self.item = item
        self.max_items = limit(max_items) if isinstance(max_items, str) else max_items

    def check(self, value: Any, path: Path) -> None:
        check_depth(path)
        if not isinstance(value, list):
            raise reject(path, f"must be an array, not {type_name(value)}")
        if len(value) > self.max_items:
            raise reject(path, f"must have at most {self.max_items} items")
        for index, item in enumerate(value):
            self.item.check(item, (*path, str(index)))


def one_or_many(item: Rule, max_items: int | str = "clauses per bool occurrence / dis_max / list") -> Rule:
    return OneOf(item, ListOf(item, max_items))


class OneOf(Rule):
    """The first alternative whose JSON type fits decides; alternatives must differ in the type they take."""

    def __init__(self, *alternatives: Rule) -> None:
        self.alternatives = alternatives
        self.expects = " or ".join(a.expects for a in alternatives)
        self.types = frozenset().union(*(a.types for a in alternatives))

    def check(self, value: Any, path: Path) -> None:
        kind = json_type(value)
        for alternative in self.alternatives:
            if kind in alternative.types:
                alternative.check(value, path)
                return
        raise reject(path, f"must be {self.expects}, not {type_name(value)}")


class Obj(Rule):
    """An object whose keys all come from ``params``; ``name`` is the construct named in messages."""

    expects = "an object"
    types = frozenset({"object"})

    def __init__(self, params: Mapping[str, Rule], required: Iterable[str] = (), name: str = "") -> None:
        self.params = dict(params)
        self.required = tuple(required)
        self.name = name

    def check(self, value: Any, path: Path) -> None:
        check_depth(path)
        if not isinstance(value, dict):
            raise reject(path, f"must be an object, not {type_name(value)}")
        for key, item in value.items():
            rule = self.params.get(key)
            if rule is None:
                construct = f" of {self.name}" if self.name else ""
                raise reject((*path, key), f"is not a supported parameter{construct}")
            rule.check(item, (*path, key))
        for key in self.required:
            if key not in value:
                raise reject(path, f"needs '{key}'")

    def extend(self, params: Mapping[str, Rule], name: str = "") -> Obj:
        return Obj({**self.params, **params}, self.required, name or self.name)


FIELD = Str("field name characters")
