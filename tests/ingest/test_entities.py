"""Entity ids and document shapes (pure functions)."""

from __future__ import annotations

import hashlib

import pytest

from gateway.ingest.entities import (
    ASSIGNMENTS,
    ENTITY_KINDS,
    IDENTITIES,
    InvalidItem,
    entity_id,
    item_ids,
    primary_key,
)
from gateway.ingest.writer import IngestReport, ItemFailure


def test_ids_follow_the_originals_rule() -> None:
    expected = hashlib.sha512(b"actual_u-42").hexdigest()
    assert entity_id(IDENTITIES, {"usr_id": "u-42"}) == expected


def test_assignment_keys_are_unambiguous() -> None:
    assert primary_key(ASSIGNMENTS, {"usr_id": "u1", "ent_id": "e1"}) == "u1:e1"
    first = primary_key(ASSIGNMENTS, {"usr_id": "a:b", "ent_id": "c"})
    second = primary_key(ASSIGNMENTS, {"usr_id": "a", "ent_id": "b:c"})
    assert first != second and first == "a%3Ab:c"


def test_entities_are_listed_in_dependency_order() -> None:
    assert list(ENTITY_KINDS) == ["applications", "entitlements", "identities", "assignments"]
    assert ENTITY_KINDS["applications"].list_key == "apps"
    assert IDENTITIES.index("acme") == "acme_autoid_base_identities_latest"


def test_report_is_the_originals_ok_or_lists_every_failure() -> None:
    assert IngestReport(received=3).as_json() == {"message": "ok"}
    failure = ItemFailure(2, {"usr_id": "u"}, 404, "not_found", "no such entity")
    body = IngestReport(received=3, failures=[failure]).as_json()
    assert body == {
        "message": "1 of 3 items failed",
        "succeeded": 2,
        "failed": 1,
        "errors": [
            {"item": 2, "id": {"usr_id": "u"}, "status": 404, "code": "not_found", "reason": "no such entity"}
        ],
    }


@pytest.mark.parametrize("bad", ["a\x00b", "line\nbreak", "tab\there", "\u202egnp.exe", "zero\u200bwidth"])
def test_ids_with_control_or_format_characters_are_refused(bad: str) -> None:
    with pytest.raises(InvalidItem, match="usr_id must hold printable characters only"):
        item_ids(IDENTITIES, {"usr_id": bad})
    assert item_ids(IDENTITIES, {"usr_id": "Ünïcode id with spaces"}) == {"usr_id": "Ünïcode id with spaces"}
