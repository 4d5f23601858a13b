"""The OpenAPI schema of ``POST /jas/datasource/search``, derived from the search guard itself.

The top level of the search body is the guard's: every member it accepts is listed, those it refuses on
purpose are ``false``, and the plain options (sizes, ``_source``, ``timeout``, ...) are converted from the
guard's own rules, so their bounds are those of ``gateway.search.limits`` and nowhere else. The nested
grammars (queries, aggregations, highlight, ...) are too large to spell out: the schema describes the
common query clauses and takes any object for the rest, which the guard then checks (docs/security.md).
"""

from __future__ import annotations

from typing import Any

from gateway.search.guard import BODY, Timeout
from gateway.search.limits import limit
from gateway.search.rules import Bool, Enum, Int, ListOf, Never, Num, Obj, OneOf, Rule, Scalar, Str

NESTED = frozenset(
    {"query", "post_filter", "aggs", "aggregations", "sort", "highlight", "collapse", "rescore", "suggest"}
)


def _padded(bound: str) -> str:
    """Digit strings as long as ``bound`` (leading zeros allowed) whose value is at most ``bound``."""
    if not bound:
        return ""
    head, rest = int(bound[0]), bound[1:]
    lower = [f"[0-{head - 1}]" + (f"[0-9]{{{len(rest)}}}" if rest else "")] if head else []
    return "(?:" + "|".join([*lower, bound[0] + _padded(rest)]) + ")"


def positive_up_to(most: int, width: int) -> str:
    """A regex for 1 to ``width`` ASCII digits (leading zeros allowed) whose value is in ``[1, most]``."""
    top = str(most)
    forms = []
    for length in range(1, min(len(top), width) + 1):
        tail = f"[0-9]{{{length - 1}}}" if length > 1 else ""
        if length < len(top):
            number = "[1-9]" + tail
        else:
            first = int(top[0])
            below = [f"[1-{first - 1}]" + tail] if first > 1 else []
            number = "(?:" + "|".join([*below, top[0] + _padded(top[1:])]) + ")"
        forms.append(f"0{{0,{width - length}}}" + number)
    return "(?:" + "|".join(forms) + ")"


def timeout_pattern() -> str:
    """What ``Timeout`` accepts: milliseconds or seconds, above zero and at most the limit."""
    most, width = limit("timeout milliseconds"), limit("timeout digits")
    return f"^(?:{positive_up_to(most, width)}ms|{positive_up_to(most // 1000, width)}s)$"


def rule_schema(rule: Rule) -> dict[str, Any]:
    """The JSON schema of the values a guard rule accepts."""
    if isinstance(rule, Bool):
        return {"type": "boolean"}
    if isinstance(rule, Int):
        return {"type": "integer", "minimum": rule.low, "maximum": rule.high}
    if isinstance(rule, Num):
        return {"type": "number", "minimum": rule.low, "maximum": rule.high}
    if isinstance(rule, Str):
        pattern = {"pattern": f"^(?:{rule.pattern.pattern})$"} if rule.pattern else {}
        return {"type": "string", "maxLength": rule.max_chars, **pattern}
    if isinstance(rule, Scalar):
        return {"anyOf": [{"type": ["null", "boolean", "number"]}, rule_schema(rule.text)]}
    if isinstance(rule, Enum):
        return {"enum": sorted(rule.values)}
    if isinstance(rule, Timeout):
        return {"type": "string", "pattern": timeout_pattern()}
    if isinstance(rule, ListOf):
        return {"type": "array", "maxItems": rule.max_items, "items": rule_schema(rule.item)}
    if isinstance(rule, OneOf):
        return {"anyOf": [rule_schema(alternative) for alternative in rule.alternatives]}
    if isinstance(rule, Obj):
        schema = {
            "type": "object",
            "properties": {name: rule_schema(param) for name, param in rule.params.items()},
            "additionalProperties": False,
        }
        return {**schema, "required": list(rule.required)} if rule.required else schema
    raise TypeError(f"no schema for {type(rule).__name__}")


WINDOW = {"type": "integer", "minimum": 0, "maximum": limit("from + size")}
FIELD_VALUE = {"type": ["string", "number", "boolean"]}
ONE_FIELD = {"type": "object", "minProperties": 1, "maxProperties": 1}

# A few common query clauses, so generated bodies reach Elasticsearch; any other clause the guard allows is
# accepted too (the clause object is not closed).
QUERY_CLAUSE: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "properties": {
        "match_all": {"type": "object", "maxProperties": 0},
        "match": {**ONE_FIELD, "additionalProperties": {"type": "string"}},
        "term": {**ONE_FIELD, "additionalProperties": FIELD_VALUE},
        "terms": {**ONE_FIELD, "additionalProperties": {"type": "array", "items": FIELD_VALUE}},
        "prefix": {**ONE_FIELD, "additionalProperties": {"type": "string"}},
        "exists": {
            "type": "object",
            "required": ["field"],
            "properties": {"field": {"type": "string"}},
            "additionalProperties": False,
        },
        "range": {
            **ONE_FIELD,
            "additionalProperties": {
                "type": "object",
                "properties": {op: FIELD_VALUE for op in ("gt", "gte", "lt", "lte")},
                "additionalProperties": False,
            },
        },
    },
}
SORT: dict[str, Any] = {
    "type": "array",
    "items": {
        "oneOf": [
            {"type": "string"},
            {
                **ONE_FIELD,
                "additionalProperties": {
                    "type": "object",
                    "properties": {"order": {"enum": ["asc", "desc"]}},
                    "additionalProperties": False,
                },
            },
        ]
    },
}


def _member(name: str, rule: Rule) -> dict[str, Any] | bool:
    if isinstance(rule, Never):
        return False
    if name in ("query", "post_filter"):
        return QUERY_CLAUSE
    if name == "sort":
        return SORT
    return {"type": "object"} if name in NESTED else rule_schema(rule)


SEARCH_BODY: dict[str, Any] = {
    "type": "object",
    "description": (
        f"An Elasticsearch search body: the members the gateway's search grammar takes. `from` + `size` "
        f"may not exceed {limit('from + size')}; queries, aggregations and the other nested members are "
        "checked by the grammar (docs/security.md) and by Elasticsearch against the index's mapping."
    ),
    "properties": {name: _member(name, rule) for name, rule in BODY.params.items()},
    "additionalProperties": False,
}

REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["query"],
    "additionalProperties": False,
    "properties": {"query": SEARCH_BODY},
}
