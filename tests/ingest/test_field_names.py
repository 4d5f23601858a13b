"""Item field names: an allow-listed grammar at every depth, so no item can reach a gateway-owned field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.ingest.entities import IDENTITIES, MAX_DEPTH, MAX_FIELDS, InvalidItem, item_ids


def refused(item: dict[str, Any]) -> str | None:
    try:
        item_ids(IDENTITIES, item)
    except InvalidItem as exc:
        return str(exc)
    return None


@pytest.mark.parametrize(
    "name",
    [
        "metadata.tenantId",
        ".metadata",
        "metadata.",
        "a..b",
        "",
        ".",
        "..",
        "_id",
        "_source",
        "_routing",
        "_anything",
        "-leading-dash",
        "with space",
        "tab\t",
        "nul\u0000",
        "bidi\u202e",
        "métadata",
        "*",
        "x" * 129,
    ],
)
def test_names_outside_the_grammar_are_refused_at_every_depth(name: str) -> None:
    assert refused({"usr_id": "u", name: "v"}) is not None
    assert refused({"usr_id": "u", "profile": {name: "v"}}) is not None
    assert refused({"usr_id": "u", "roles": [{"ok": 1}, {name: "v"}]}) is not None


@pytest.mark.parametrize(
    "item",
    [
        {"usr_id": "u", "department": "R&D", "job_title": "x", "city": None, "email": "a@b"},
        {"usr_id": "u", "Cost-Center": 12, "2fa": True, "x" * 128: 1},
        {"usr_id": "u", "profile": {"address": {"city": "Paris"}}, "roles": [["a"], {"name": "b"}]},
        {"usr_id": "u", "hr": {"metadata": "a nested metadata field is hr.metadata, not the gateway's"}},
    ],
)
def test_seed_like_and_nested_attributes_are_accepted(item: dict[str, Any]) -> None:
    assert refused(item) is None


def test_depth_and_size_are_bounded() -> None:
    deep: Any = "leaf"
    for _ in range(MAX_DEPTH):  # with the item: one level too many
        deep = {"a": deep}
    assert (
        refused({"usr_id": "u", "a": deep}) == f"items nest at most {MAX_DEPTH} levels of objects and arrays"
    )
    assert refused({"usr_id": "u", "a": deep["a"]}) is None
    assert refused({"usr_id": "u", "a": [[[[[[[["x"]]]]]]]]}) is not None  # arrays count as levels too
    wide = {f"f{n}": n for n in range(MAX_FIELDS)}
    assert refused({"usr_id": "u", **wide}) == f"an item has at most {MAX_FIELDS} field names"
    assert refused({"usr_id": "u", "a": {f"f{n}": n for n in range(MAX_FIELDS - 2)}}) is None


def test_a_refusal_names_where_never_what() -> None:
    message = refused({"usr_id": "u", "hr": {"org": {"secret\u202evalue.x": 1}}})
    assert message is not None and message.startswith("a field name under hr.org is refused")
    assert "secret" not in message


# --- property: no accepted item sets a reserved path ----------------------------------------------------

# Names from an alphabet rich in what matters (dots, underscores, look-alikes of reserved names), plus any.
NAME_PARTS = st.sampled_from(
    ["metadata", "_id", "_source", "tenantId", ".", "_", "-", "a", "Z", "9", "é", " "]
)
NAMES = st.one_of(
    st.lists(NAME_PARTS, max_size=4).map("".join),
    st.text(max_size=6),
    st.sampled_from(["metadata.tenantId", "metadata", ".metadata", "_id", "usr_name"]),
)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=3),
    max_leaves=12,
)


def es_paths(value: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The field paths Elasticsearch indexes ``value`` under: names split at dots, arrays transparent."""
    if isinstance(value, dict):
        for name, inner in value.items():
            path = (*prefix, *str(name).split("."))
            yield path
            yield from es_paths(inner, path)
    elif isinstance(value, list):
        for inner in value:
            yield from es_paths(inner, prefix)


@given(st.dictionaries(NAMES, VALUES, max_size=5))
def test_no_accepted_item_reaches_a_reserved_path(extra: dict[str, Any]) -> None:
    item = {**extra, "usr_id": "u1"}
    if refused(item) is not None:
        return
    for path in es_paths(item):
        assert path[0] != "metadata", path
        assert all(part and not part.startswith("_") for part in path), path


@given(st.dictionaries(st.sampled_from(["metadata", "_id"]), VALUES, min_size=1) | st.just({"a.b": 1}))
def test_items_with_reserved_or_dotted_names_are_always_refused(extra: dict[str, Any]) -> None:
    assert refused({"usr_id": "u1", **extra}) is not None
