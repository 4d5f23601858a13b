"""What changing or rotating a key does to its record, as pure functions (``updateApiToken``,
``rotateApiToken``); ``key_lifecycle`` reads, writes and reports around them.

An update changes only what it names; a revoked key cannot be changed (revocation is final: create a new
key instead). An expired key may be changed, a new expiration bringing it back, except a key a rotation
replaced: its expiration can only be brought forward. A rotation gives a new key
the old one's name, description, scopes, restrictions and expiration; the old one then expires at the end
of the overlap (or keeps its own expiry when that comes first), and each record names the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from gateway.auth.expiration import InvalidExpiration, parse_expiration
from gateway.auth.key_store import ApiKeyRecord, new_record
from gateway.auth.restrictions import NO_LIMITS, KeyLimits, rate_view
from gateway.auth.scopes import parse_scopes
from gateway.errors import Conflict, InvalidInput

MAX_OVERLAP_HOURS = 168
DEFAULT_OVERLAP_HOURS = 24
# Record fields an update may change, with the names the API shows them by (the audit trail's too).
CHANGEABLE = {
    "description": "description",
    "expiration": "expiration",
    "expires_at": "expires_at",
    "scopes": "scopes",
    "datasources": "datasources",
    "allowed_networks": "allowedNetworks",
    "rate_limit": "rateLimit",
}


@dataclass(frozen=True)
class KeyUpdate:
    """What an update names. ``limits`` holds the parsed restrictions; only those in ``given`` (stored
    names: datasources, allowed_networks, rate_limit) change, None there meaning no limit / the default."""

    description: str | None = None
    expiration: str | None = None
    scopes: Sequence[str] | None = None
    limits: KeyLimits = NO_LIMITS
    given: frozenset[str] = frozenset()


def updated(record: ApiKeyRecord, update: KeyUpdate, actor: str, now: dt.datetime) -> ApiKeyRecord:
    """The record with the update applied (unchanged when it changes nothing); Conflict when revoked."""
    if record.revoked:
        raise Conflict("A revoked key cannot be changed; create a new key instead.")
    values: dict[str, Any] = {}
    if update.description is not None:
        values["description"] = update.description
    if update.expiration is not None:
        try:
            values["expires_at"] = parse_expiration(update.expiration, now).isoformat()
        except InvalidExpiration as exc:
            raise InvalidInput(str(exc)) from exc
        values["expiration"] = update.expiration.strip()
        later = dt.datetime.fromisoformat(values["expires_at"]) > dt.datetime.fromisoformat(record.expires_at)
        if record.rotated_to is not None and later:
            # the overlap a rotation granted is its end: a replaced key can be shortened, never extended
            raise Conflict(
                f"This key was replaced by the key with id {record.rotated_to}: its expiration can be "
                "brought forward, not moved later."
            )
    if update.scopes is not None:
        values["scopes"] = list(parse_scopes(update.scopes))
    for name in ("datasources", "allowed_networks", "rate_limit"):
        if name in update.given:
            value = getattr(update.limits, name)
            values[name] = list(value) if isinstance(value, tuple) else value
    changed = replace(record, **values)
    if not changes(record, changed):
        return record
    return replace(changed, modifier=actor, modified=now.isoformat())


def _shown(name: str, record: ApiKeyRecord) -> Any:
    value = getattr(record, name)
    if name == "scopes":
        return list(record.granted)
    return rate_view(value) if name == "rate_limit" else value


def changes(old: ApiKeyRecord, new: ApiKeyRecord) -> dict[str, dict[str, Any]]:
    """``{field: {"old": ..., "new": ...}}`` for each changed field, by its API name (never a key)."""
    return {
        shown: {"old": _shown(name, old), "new": _shown(name, new)}
        for name, shown in CHANGEABLE.items()
        if _shown(name, old) != _shown(name, new)
    }


@dataclass(frozen=True)
class Rotation:
    new: ApiKeyRecord  # the new key's record
    old: ApiKeyRecord  # the old key's record, ending with the overlap and naming the new one


def rotation(
    old: ApiKeyRecord, key: str, secret: bytes, overlap_hours: float, actor: str, now: dt.datetime
) -> Rotation:
    """The records of a rotation to ``key``; Conflict for a revoked, expired or already rotated key."""
    if old.revoked or not old.is_valid(now):
        raise Conflict(f"A {old.status(now)} key cannot be rotated; create a new key instead.")
    if old.rotated_to is not None:
        raise Conflict(f"This key was already rotated (to the key with id {old.rotated_to}).")
    expires = dt.datetime.fromisoformat(old.expires_at)
    fresh = new_record(
        key,
        secret,
        tenant_id=old.tenant_id,
        name=old.name,
        description=old.description,
        expiration=old.expiration,
        expires=expires,
        creator=actor,
        now=now,
        scopes=old.granted,  # a record from before scopes keeps all three, explicitly now
        limits=old.limits,
    )
    fresh = replace(fresh, rotated_from=old.id)
    ends = min(expires, now + dt.timedelta(hours=overlap_hours))
    stamp = now.isoformat()
    ending = replace(old, rotated_to=fresh.id, modifier=actor, modified=stamp)
    if ends < expires:
        ending = replace(ending, expires_at=ends.isoformat(), expiration=ends.isoformat())
    return Rotation(fresh, ending)
