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


_STACKED = re.compile(r"(?:[*+?]|\{[0-9]*(?:,[0-9]*)?\}){3,}", re.ASCII)
_SLASHED = re.compile(r"/((?:\\.|[^/\\])*)/")


def _check_regexp(text: str, path: Path) -> None:
    """Repetition counts, their product (nested repeats multiply states) and group nesting."""
    most, budget = limit("regexp repetition count"), limit("regexp repetition product")
    product = 1
    for match in _REPETITION.finditer(text):
        counts = [int(part) for part in match.groups() if part]
        if any(count > most for count in counts):
            raise reject(path, f"repeats more than {most} times ('{match.group(0)}')")
        product *= max(counts, default=1) or 1
        if product > budget:
            raise reject(path, f"repeats more than {budget} times in all (the counts multiply)")
    if stacked := _STACKED.search(text):  # each stacked operator is one more level of recursion
        raise reject(path, f"stacks repetition operators ('{stacked.group(0)[:20]}')")
    if _nesting(text) > limit("query_string parenthesis nesting"):
        raise reject(path, f"nests groups deeper than {limit('query_string parenthesis nesting')}")


class Regexp(Rule):
    """A Lucene regular expression: bounded length, repetition counts and group nesting."""

    expects = "a string"
    types = frozenset({"string"})

    def __init__(self) -> None:
        self.text = Str("regexp characters")

    def check(self, value: Any, path: Path) -> None:
        self.text.check(value, path)
        _check_regexp(value, path)


class QueryString(Rule):
    """The text of a ``query_string`` / ``simple_query_string``: bounded length and nesting; each regexp
    inside it (``/.../``) bounded like a ``regexp`` query."""

    expects = "a string"
    types = frozenset({"string"})

    def __init__(self) -> None:
        self.text = Str("query_string / simple_query_string characters")

    def check(self, value: Any, path: Path) -> None:
        self.text.check(value, path)
        deepest = limit("query_string parenthesis nesting")
        if _nesting(value) > deepest:
            raise reject(path, f"nests parentheses deeper than {deepest}")
        for regexp in _SLASHED.finditer(value):
            if len(regexp.group(1)) > limit("regexp characters"):
                raise reject(path, f"holds a regexp longer than {limit('regexp characters')} characters")
            _check_regexp(regexp.group(1), path)
