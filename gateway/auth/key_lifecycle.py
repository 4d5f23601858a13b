"""The API-key lifecycle of the tenant: create (the key is returned once), find, list, revoke, delete.

What the admin routes do, without HTTP: they parse a request, call one method here and shape the answer.
Revoking or deleting also drops this replica's verified-key cache at once (the others follow within the
revocation window, see ``verifier``).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from collections.abc import Sequence
from typing import Any

from gateway.auth.expiration import InvalidExpiration, parse_expiration
from gateway.auth.key_store import (
    ApiKeyRecord,
    ApiKeyStore,
    generate_key,
    key_digest,
    new_record,
    status_filters,
)
from gateway.auth.restrictions import NO_LIMITS, KeyLimits
from gateway.auth.scopes import parse_scopes
from gateway.auth.verifier import ApiKeyVerifier
from gateway.clock import Clock
from gateway.errors import InvalidInput, NotFound

MAX_WINDOW = 10_000  # Elasticsearch's default max_result_window
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
        self, store: ApiKeyStore, secret: bytes, tenant_id: str, verifier: ApiKeyVerifier, clock: Clock
    ) -> None:
        self._store = store
        self._secret = secret
        self._tenant_id = tenant_id
        self._verifier = verifier
        self._clock = clock

    async def create(
        self,
        *,
        name: str,
        description: str,
        expiration: str,
        creator: str,
        scopes: Sequence[str] | None = None,
        limits: KeyLimits = NO_LIMITS,
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
        return key

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

    async def revoke(self, record: ApiKeyRecord, by: str) -> None:
        await self._store.revoke(record, by, self._clock.now())
        self._verifier.forget_all()

    async def delete(self, record: ApiKeyRecord) -> None:
        await self._store.delete(record, self._clock.now())
        self._verifier.forget_all()

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


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
