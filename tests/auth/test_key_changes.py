"""What updating and rotating do to a key's record (pure), and the conditional write on a real node."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch

from gateway.auth.key_changes import KeyUpdate, changes, rotation, updated
from gateway.auth.key_store import ApiKeyRecord, ApiKeyStore, key_digest, new_record
from gateway.auth.restrictions import parse_limits
from gateway.errors import Conflict, InvalidInput
from gateway.settings import Settings
from tests.helpers import with_es

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
SECRET = b"s" * 32
KEY = "0a1b2c3d-0000-4000-8000-00000000abcd"


def _record(**fields: Any) -> ApiKeyRecord:
    record = new_record(
        KEY, SECRET, "tenant", "Nightly", "nightly job", "2027-01-02", dt.datetime(2027, 1, 3, tzinfo=dt.UTC),
        "ann", NOW - dt.timedelta(days=1), limits=parse_limits(["ds-a"], ["10.0.0.0/8"]),
    )  # fmt: skip
    return dataclasses.replace(record, **fields)


def test_an_update_changes_only_what_it_names_and_says_what_changed() -> None:
    old = _record()
    update = KeyUpdate(
        scopes=["search"], limits=parse_limits(None, ["192.0.2.0/24"]), given=frozenset({"allowed_networks"})
    )
    new = updated(old, update, "bob", NOW)
    assert new.scopes == ["search"] and new.allowed_networks == ["192.0.2.0/24"]
    assert new.datasources == ["ds-a"] and new.description == "nightly job"  # not named: kept
    assert new.modifier == "bob" and new.modified == NOW.isoformat()
    assert changes(old, new) == {
        "scopes": {"old": ["search", "write"], "new": ["search"]},
        "allowedNetworks": {"old": ["10.0.0.0/8"], "new": ["192.0.2.0/24"]},
    }


def test_null_restrictions_remove_the_limit_and_an_empty_update_changes_nothing() -> None:
    old = _record(rate_limit="5/60")
    cleared = updated(old, KeyUpdate(given=frozenset({"datasources", "rate_limit"})), "bob", NOW)
    assert cleared.datasources is None and cleared.rate_limit is None and cleared.allowed_networks is not None
    assert updated(old, KeyUpdate(), "bob", NOW) is old
    assert updated(old, KeyUpdate(description="nightly job"), "bob", NOW) is old  # same value: no change


def test_expirations_are_parsed_and_revoked_keys_refused() -> None:
    new = updated(_record(), KeyUpdate(expiration=" 2028-05-01 "), "bob", NOW)
    assert new.expiration == "2028-05-01" and new.expires_at == "2028-05-02T00:00:00+00:00"
    with pytest.raises(InvalidInput):
        updated(_record(), KeyUpdate(expiration="2001-01-01"), "bob", NOW)
    with pytest.raises(Conflict, match="revoked"):
        updated(_record(revoked=True), KeyUpdate(description="x"), "bob", NOW)


def test_a_rotation_copies_the_settings_and_ends_the_old_key_with_the_overlap() -> None:
    old = _record(scopes=None, rate_limit="off")  # from before scopes: all three, now written out
    done = rotation(old, "new-key-0000", SECRET, 6, "bob", NOW)
    assert done.new.digest == key_digest(SECRET, "new-key-0000") and done.new.hint == "0000"
    assert (done.new.name, done.new.description, done.new.expires_at) == (
        old.name,
        old.description,
        old.expires_at,
    )
    assert done.new.scopes == ["search", "write", "delete"]
    assert done.new.limits == old.limits and done.new.creator == "bob"
    assert done.new.rotated_from == old.id and done.old.rotated_to == done.new.id
    assert done.old.expires_at == (NOW + dt.timedelta(hours=6)).isoformat() == done.old.expiration
    soon = _record(expires_at=(NOW + dt.timedelta(hours=1)).isoformat())
    assert rotation(soon, "k", SECRET, 24, "bob", NOW).old.expires_at == soon.expires_at  # never extended


@pytest.mark.parametrize(
    "record",
    [
        _record(revoked=True),
        _record(expires_at=NOW.isoformat()),
        _record(rotated_to="f" * 32),
    ],
    ids=["revoked", "expired", "rotated"],
)
def test_only_a_live_key_is_rotated_once(record: ApiKeyRecord) -> None:
    with pytest.raises(Conflict):
        rotation(record, "k", SECRET, 24, "bob", NOW)


def test_a_write_over_a_version_that_changed_meanwhile_is_a_conflict(settings: Settings) -> None:
    async def work(es: AsyncElasticsearch) -> ApiKeyRecord | None:
        store = ApiKeyStore(es)
        await store.create(_record())
        first = await store.get_versioned(_record().digest)
        second = await store.get_versioned(_record().digest)
        assert first is not None and second is not None
        await store.replace(first, dataclasses.replace(first.record, description="by Ann"))
        with pytest.raises(Conflict):  # Bob read the same version: his write would undo Ann's
            await store.replace(second, dataclasses.replace(second.record, description="by Bob"))
        return await store.get(_record().digest)

    stored = with_es(settings, work)
    assert stored is not None and stored.description == "by Ann"
