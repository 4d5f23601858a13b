"""Rules for the strings Elasticsearch parses as a language of their own: Lucene regexps and query strings.

A short string can still be expensive: ``(a{1,1000}){1,1000}`` builds a million automaton states before
Elasticsearch's own determinisation limit applies, and tens of thousands of nested parentheses in a
``query_string`` overflow the parser's stack. Both are bounded here, before Elasticsearch sees them.
"""

from __future__ import annotations

import re
from typing import Any

from gateway.search.limits import limit
from gateway.search.rules import Path, Rule, Str, reject

_REPETITION = re.compile(r"\{(\d*)(?:,(\d*))?\}", re.ASCII)


def _nesting(text: str) -> int:
    """Deepest unescaped parenthesis nesting (escapes with a backslash, as both syntaxes do)."""
    depth = deepest = 0
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth = max(depth - 1, 0)
    return deepest


class Regexp(Rule):
    """A Lucene regular expression: bounded length, repetition counts and group nesting."""

    expects = "a string"
    types = frozenset({"string"})

    def __init__(self) -> None:
        self.text = Str("regexp characters")

    def check(self, value: Any, path: Path) -> None:
        self.text.check(value, path)
        most = limit("regexp repetition count")
        for match in _REPETITION.finditer(value):
            if any(part and int(part) > most for part in match.groups()):
                raise reject(path, f"repeats more than {most} times ('{match.group(0)}')")
        if _nesting(value) > limit("query_string parenthesis nesting"):
            raise reject(path, f"nests groups deeper than {limit('query_string parenthesis nesting')}")


class QueryString(Rule):
    """The text of a ``query_string`` / ``simple_query_string``: bounded length and nesting.

    Regexps inside it (``/.../``) are bounded by the same length; ``max_determinized_states`` is bounded
    by the grammar.
    """

    expects = "a string"
    types = frozenset({"string"})

    def __init__(self) -> None:
        self.text = Str("query_string / simple_query_string characters")

    def check(self, value: Any, path: Path) -> None:
        self.text.check(value, path)
        deepest = limit("query_string parenthesis nesting")
        if _nesting(value) > deepest:
            raise reject(path, f"nests parentheses deeper than {deepest}")
