"""What updating and rotating do to a key's record (pure), and their conditional writes on a real node."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch

from gateway.audit.store import AuditStore
from gateway.audit.trail import AuditTrail
from gateway.auth.key_changes import KeyUpdate, changes, rotation, updated
from gateway.auth.key_lifecycle import ApiKeys
from gateway.auth.key_store import (
    API_KEYS_INDEX,
    ApiKeyRecord,
    ApiKeyStore,
    Versioned,
    key_digest,
    new_record,
)
from gateway.auth.restrictions import parse_limits
from gateway.auth.verifier import ApiKeyVerifier
from gateway.errors import Conflict, InvalidInput
from gateway.settings import Settings
from tests.helpers import FrozenClock, with_es

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


def test_a_replaced_key_can_be_ended_sooner_but_never_later() -> None:
    replaced = _record(rotated_to="f" * 32, expires_at=(NOW + dt.timedelta(hours=6)).isoformat())
    sooner = updated(replaced, KeyUpdate(expiration="2026-11-26T13:00:00Z"), "bob", NOW)
    assert sooner.expires_at == "2026-11-26T13:00:00+00:00"
    with pytest.raises(Conflict, match="replaced"):
        updated(replaced, KeyUpdate(expiration="2027-01-02"), "bob", NOW)


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


class RacingStore(ApiKeyStore):
    """The real store, where another write lands on the record right after the first versioned read."""

    def __init__(self, es: AsyncElasticsearch, meanwhile: dict[str, Any]) -> None:
        super().__init__(es)
        self.meanwhile: dict[str, Any] | None = meanwhile

    async def get_versioned(self, digest: str) -> Versioned | None:
        read = await super().get_versioned(digest)
        if self.meanwhile is not None:
            await self._es.update(index=API_KEYS_INDEX, id=digest, doc=self.meanwhile, refresh=True)
            self.meanwhile = None
        return read


def _keys(es: AsyncElasticsearch, store: ApiKeyStore) -> ApiKeys:
    clock = FrozenClock()
    verifier = ApiKeyVerifier(store, SECRET, "tenant", cache_ttl=60, revocation_window=1, clock=clock)
    audit = AuditTrail(AuditStore(es), clock, 90)  # not ready (no templates here): events wait in memory
    return ApiKeys(store, SECRET, "tenant", verifier, clock, audit)


@pytest.mark.parametrize("action", ["update", "rotate"])
def test_a_last_use_written_meanwhile_is_no_conflict(settings: Settings, action: str) -> None:
    used = {"last_used": NOW.isoformat(), "last_used_address": "10.9.9.9"}

    async def work(es: AsyncElasticsearch) -> ApiKeyRecord | None:
        store = RacingStore(es, used)
        await ApiKeyStore(es).create(_record())
        keys = _keys(es, store)
        if action == "update":
            await keys.update(_record(), KeyUpdate(description="changed"), "bob")
        else:
            await keys.rotate(_record(), 1, "bob")
        return await store.get(_record().digest)

    stored = with_es(settings, work)
    assert stored is not None and stored.last_used_address == "10.9.9.9"
    assert stored.description == "changed" if action == "update" else stored.rotated_to is not None


@pytest.mark.parametrize("action", ["update", "rotate"])
def test_an_admin_change_meanwhile_is_a_conflict(settings: Settings, action: str) -> None:
    async def work(es: AsyncElasticsearch) -> tuple[ApiKeyRecord | None, int]:
        store = RacingStore(es, {"description": "by Ann"})
        await ApiKeyStore(es).create(_record())
        keys = _keys(es, store)
        with pytest.raises(Conflict):
            if action == "update":
                await keys.update(_record(), KeyUpdate(scopes=["search"]), "bob")
            else:
                await keys.rotate(_record(), 1, "bob")
        await es.indices.refresh(index=API_KEYS_INDEX)
        return await store.get(_record().digest), (await es.count(index=API_KEYS_INDEX))["count"]

    stored, records = with_es(settings, work)
    assert stored is not None and stored.description == "by Ann" and stored.scopes == ["search", "write"]
    assert stored.rotated_to is None and records == 1  # a rotation that lost leaves no new key behind
