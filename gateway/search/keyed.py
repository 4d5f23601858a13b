"""Objects keyed by a name: a field (``{"<field>": ...}``), caller-chosen names (aggregations, highlighted
fields), or a construct from an allow-list (a query clause, an aggregation type, a suggester)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gateway.search.limits import limit
from gateway.search.rules import FIELD, Path, Rule, check_depth, reject, type_name


class FieldKeyed(Rule):
    """``{"<field>": <value>, ...options}``: exactly one key that is not an option names a field."""

    expects = "an object"
    types = frozenset({"object"})

    def __init__(self, value: Rule, options: Mapping[str, Rule] | None = None, name: str = "") -> None:
        self.value = value
        self.options = dict(options or {})
        self.name = name

    def check(self, value: Any, path: Path) -> None:
        check_depth(path)
        if not isinstance(value, dict):
            raise reject(path, f"must be an object, not {type_name(value)}")
        fields = [key for key in value if key not in self.options]
        if len(fields) != 1:
            raise reject(path, "must name exactly one field")
        for key, item in value.items():
            if key in self.options:
                self.options[key].check(item, (*path, key))
            else:
                FIELD.check(key, (*path, key))
                self.value.check(item, (*path, key))


class MapOf(Rule):
    """An object of caller-chosen names (aggregation names, highlighted fields) to values."""

    expects = "an object"
    types = frozenset({"object"})

    def __init__(self, value: Rule, max_items: int | str = 1_024, key: Rule | None = None) -> None:
        self.value = value
        self.max_items = limit(max_items) if isinstance(max_items, str) else max_items
        self.key = key or FIELD

    def check(self, value: Any, path: Path) -> None:
        check_depth(path)
        if not isinstance(value, dict):
            raise reject(path, f"must be an object, not {type_name(value)}")
        if len(value) > self.max_items:
            raise reject(path, f"must have at most {self.max_items} members")
        for key, item in value.items():
            self.key.check(key, (*path, key))
            self.value.check(item, (*path, key))


class Tagged(Rule):
    """``{"<kind>": {...}}`` with the kind from an allow-list: a query clause, an aggregation type, ..."""

    expects = "an object"
    types = frozenset({"object"})

    def __init__(
        self,
        what: str,
        kinds: Callable[[], Mapping[str, Rule]],
        refused: Mapping[str, str] | None = None,
        extra: Mapping[str, Rule] | None = None,
    ) -> None:
        self.what = what
        self.kinds = kinds
        self.refused = dict(refused or {})
        self.extra = dict(extra or {})

    def check(self, value: Any, path: Path) -> None:
        check_depth(path)
        if not isinstance(value, dict):
            raise reject(path, f"must be {self.what} object, not {type_name(value)}")
        kinds = self.kinds()
        found = [key for key in value if key not in self.extra]
        for key in found:
            if key not in kinds:
                reason = self.refused.get(key) or f"'{key}' is not an accepted {self.what}"
                raise reject((*path, key), f"is refused: {reason}")
        if len(found) != 1:
            raise reject(path, f"must hold exactly one {self.what}")
        for key, item in value.items():
            rule = self.extra[key] if key in self.extra else kinds[key]
            rule.check(item, (*path, key))
