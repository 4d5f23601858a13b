"""The API-key lifecycle of the tenant: create (the key is returned once), find, list, update, rotate,
revoke, delete.

What the admin routes do, without HTTP: they parse a request, call one method here and shape the answer.
Every change is written to the audit trail (who, from where, what changed; never a key). Updating,
rotating, revoking or deleting also drops this replica's verified-key cache at once, and the others' within
the revocation window (``verifier``): a narrowed or shortened key is refused everywhere within it.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from collections.abc import Sequence
from typing import Any

from gateway.audit.trail import AuditTrail
from gateway.auth.expiration import InvalidExpiration, parse_expiration
from gateway.auth.key_changes import KeyUpdate, Rotation, changes, rotation, updated
from gateway.auth.key_store import ApiKeyRecord, ApiKeyStore, generate_key, key_digest, new_record
from gateway.auth.restrictions import NO_LIMITS, KeyLimits, rate_view
from gateway.auth.scopes import parse_scopes
from gateway.auth.verifier import ApiKeyVerifier
from gateway.clock import Clock
from gateway.errors import Conflict, InvalidInput, NotFound

MAX_WINDOW = 10_000  # Elasticsearch's default max_result_window
UPDATE_ATTEMPTS = 3  # an update that lost a race with a last-use write only is made again
NO_SUCH_KEY = "No such API key."
# Controls (NUL, CR, LF...), format characters (the bidi overrides U+202A-202E and isolates U+2066-2069,
# zero-width ones), line and paragraph separators, surrogates, private-use and unassigned code points: a
# key's name reaches log lines and the page's list, where these would forge or hide text.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def check_text(field: str, value: str) -> str:
    """``value`` when every character is printable (spaces included); 400 naming the first other one."""
    for char in value:
        if unicodedata.category(char) in REFUSED_CATEGORIES:
            raise InvalidInput(
                f"{field} may hold printable characters only, not U+{ord(char):04X} "
                "(control, format, bidi or line-separator characters are refused)"
            )
    return value


class ApiKeys:
    def __init__(
        self,
        store: ApiKeyStore,
        secret: bytes,
        tenant_id: str,
        verifier: ApiKeyVerifier,
        clock: Clock,
        audit: AuditTrail,
    ) -> None:
        self._store = store
        self._secret = secret
        self._tenant_id = tenant_id
        self._verifier = verifier
        self._clock = clock
        self._audit = audit

    async def create(
        self,
        *,
        name: str,
        description: str,
        expiration: str,
        creator: str,
        scopes: Sequence[str] | None = None,
        limits: KeyLimits = NO_LIMITS,
        address: str | None = None,
    ) -> str:
        """Store a new key's record and return the key itself: the only time it is ever seen.

        ``scopes`` defaults to ``search`` and ``write`` (``gateway.auth.scopes``); ``limits`` (parsed by
        ``gateway.auth.restrictions.parse_limits``) limit nothing by default.
        """
        granted = parse_scopes(scopes)
        check_text("name", name)
        check_text("description", description)
        now = self._clock.now()
        try:
            expires = parse_expiration(expiration, now)
        except InvalidExpiration as exc:
            raise InvalidInput(str(exc)) from exc
        key = generate_key()
        record = new_record(
            key,
            self._secret,
            tenant_id=self._tenant_id,
            name=name,
            description=description,
            expiration=expiration.strip(),
            expires=expires,
            creator=creator,
            now=now,
            scopes=granted,
            limits=limits,
        )
        await self._store.create(record)
        settings = {
            "expiration": record.expiration,
            "scopes": list(record.granted),
            "datasources": record.datasources,
            "allowedNetworks": record.allowed_networks,
            "rateLimit": rate_view(record.rate_limit),
        }
        await self._report("key.create", record, creator, address, settings)
        return key

    async def _report(
        self, action: Any, record: ApiKeyRecord, actor: str, address: str | None, details: Any = None
    ) -> None:
        await self._audit.record(
            action, actor=actor, address=address, key_id=record.id, key_name=record.name, details=details
        )

    async def _changed(self) -> None:
        """Every replica drops its cached records (this one at once): narrowing is seen within 1 s."""
        await self._store.bump_revocations(self._clock.now())
        self._verifier.forget_all()

    async def update(
        self, record: ApiKeyRecord, update: KeyUpdate, by: str, address: str | None = None
    ) -> ApiKeyRecord:
        """The record with ``update`` applied, written only over the version read (Conflict otherwise).

        A concurrent write of the key's last use alone is no conflict: the update is made again on it.
        """
        if update.description is not None:
            check_text("description", update.description)
        for attempt in range(UPDATE_ATTEMPTS):
            read = await self._store.get_versioned(record.digest)
            if read is None:
                raise NotFound(NO_SUCH_KEY)
            if attempt and changes(record, read.record):  # an admin-visible change came in between
                raise Conflict("The key was changed by someone else meanwhile; read it again and retry.")
            record = read.record
            new = updated(record, update, by, self._clock.now())
            if new is record:
                return record
            try:
                await self._store.replace(read, new)
            except Conflict:
                continue
            await self._changed()
            await self._report("key.update", new, by, address, {"changed": changes(record, new)})
            return new
        raise Conflict("The key kept changing meanwhile; read it again and retry.")

    async def rotate(
        self, record: ApiKeyRecord, overlap_hours: float, by: str, address: str | None = None
    ) -> tuple[str, Rotation]:
        """A new key replacing ``record``'s, and both records; the old key ends with the overlap."""
        read = await self._store.get_versioned(record.digest)
        if read is None:
            raise NotFound(NO_SUCH_KEY)
        key = generate_key()
        done = rotation(read.record, key, self._secret, overlap_hours, by, self._clock.now())
        await self._store.create(done.new)
        try:  # only over the version read: of two rotations at once, one wins
            await self._store.replace(read, done.old)
        except Conflict:
            await self._store.delete(done.new, self._clock.now())
            raise
        await self._changed()
        details = {
            "newKeyId": done.new.id,
            "overlapHours": overlap_hours,
            "previousExpires": done.old.expires_at,
        }
        await self._report("key.rotate", done.old, by, address, details)
        return key, done

    async def find(self, *, key: str | None = None, key_id: str | None = None) -> ApiKeyRecord:
        """The record of a key, named by its value or by its record id; NotFound for other tenants' keys."""
        if key is not None and key.strip():
            record = await self._store.get(key_digest(self._secret, key))
        elif key_id is not None:
            record = await self._store.find_by_id(self._tenant_id, key_id)
        else:
            record = None
        if record is None or record.tenant_id != self._tenant_id:
            raise NotFound(NO_SUCH_KEY)
        return record

    async def revoke(self, record: ApiKeyRecord, by: str, address: str | None = None) -> None:
        await self._store.revoke(record, by, self._clock.now())
        self._verifier.forget_all()
        await self._report("key.revoke", record, by, address)

    async def delete(self, record: ApiKeyRecord, by: str, address: str | None = None) -> None:
        await self._store.delete(record, self._clock.now())
        self._verifier.forget_all()
        await self._report("key.delete", record, by, address)

    def view(self, record: ApiKeyRecord) -> dict[str, Any]:
        """A record as ``getTokens`` lists it."""
        return record.list_view(self._clock.now())

    def describe(self, record: ApiKeyRecord) -> dict[str, Any]:
        """A record as ``verifyApiToken`` shows it: with whether it is valid now."""
        return record.verify_view(self._clock.now())

    async def list(
        self,
        search: str | None,
        offset: int,
        size: int,
        status: str | None = None,
        expires_before: dt.datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Records newest first, as ``getTokens`` lists them; ``search`` is a name (words) or a full key.

        ``status`` keeps the active, expired or revoked ones; ``expires_before`` those ending before then.
        """
        if offset + size > MAX_WINDOW:
            raise InvalidInput(f"offset + maxResults may not exceed {MAX_WINDOW}")
        now = self._clock.now()
        term = search.strip() if search else None
        if term and _is_uuid(term):
            try:
                record = await self.find(key=term)
            except NotFound:
                return []
            wanted = status in (None, record.status(now)) and (
                expires_before is None or dt.datetime.fromisoformat(record.expires_at) < expires_before
            )
            return [record.list_view(now)] if wanted and offset == 0 else []
        filters = status_filters(status, now, expires_before)
        records = await self._store.list(self._tenant_id, term or None, offset, size, filters)
        return [record.list_view(now) for record in records]


def status_filters(
    status: str | None, now: dt.datetime, expires_before: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Query filters for records of ``status`` (active, expired or revoked) expiring before a time."""
    filters: list[dict[str, Any]] = []
    if status == "revoked":
        filters.append({"term": {"revoked": True}})
    elif status in ("active", "expired"):
        bound = "gt" if status == "active" else "lte"
        filters += [{"term": {"revoked": False}}, {"range": {"expires_at": {bound: now.isoformat()}}}]
    if expires_before is not None:
        filters.append({"range": {"expires_at": {"lt": expires_before.isoformat()}}})
    return filters


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
