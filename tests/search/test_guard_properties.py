"""Property-based tests of the guard: no crash on any body, valid bodies pass, a forbidden construct put
anywhere a query may stand is refused at that place. Run longer with ``HYPOTHESIS_PROFILE=fuzz``
(``make fuzz``)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import InvalidInput
from gateway.search import SearchRejected, check_search_body, prepare_search
from gateway.search.rules import Path, where
from tests.search.strategies import (
    ARBITRARY_BODIES,
    ARBITRARY_JSON,
    FORBIDDEN_QUERIES,
    QUERY_NAMES,
    VALID_BODIES,
)


@given(ARBITRARY_BODIES)
def test_any_body_is_accepted_or_refused_never_an_exception(body: dict[str, Any]) -> None:
    try:
        check_search_body(body)
    except SearchRejected as exc:
        assert exc.message.startswith(("'", "the ")), exc.message


@given(ARBITRARY_JSON)
def test_any_request_is_prepared_or_a_400(envelope: Any) -> None:
    for raw in (orjson.dumps(envelope), orjson.dumps({"query": envelope})):
        try:
            prepared = orjson.loads(prepare_search(raw))
        except InvalidInput:
            continue
        assert isinstance(prepared, dict) and "timeout" in prepared


@given(VALID_BODIES)
def test_bodies_built_from_the_grammar_are_accepted_unchanged(body: dict[str, Any]) -> None:
    original = copy.deepcopy(body)
    assert check_search_body(body) == original


def _query_places(node: Any, path: Path = ()) -> Iterator[Path]:
    """Where a query stands: objects whose one member is a query clause the strategies build."""
    if isinstance(node, dict):
        if len(node) == 1 and next(iter(node)) in QUERY_NAMES:
            yield path
        for key, value in node.items():
            yield from _query_places(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _query_places(item, (*path, str(index)))


def _replace(body: Any, path: Path, value: Any) -> None:
    *parents, last = path
    for key in parents:
        body = body[int(key)] if isinstance(body, list) else body[key]
    body[int(last) if isinstance(body, list) else last] = value


@given(VALID_BODIES, FORBIDDEN_QUERIES, st.data())
def test_a_forbidden_construct_anywhere_a_query_stands_is_refused_there(
    body: dict[str, Any], forbidden: dict[str, Any], data: st.DataObject
) -> None:
    places = list(_query_places(body))
    if not places:
        body["query"] = {"match_all": {}}
        places = [("query",)]
    place = data.draw(st.sampled_from(places))
    _replace(body, place, forbidden)
    try:
        check_search_body(body)
    except SearchRejected as exc:
        assert exc.message.startswith(f"'{where(place)}."), (exc.message, place)
    else:
        raise AssertionError(f"accepted {forbidden} at {where(place)}")
