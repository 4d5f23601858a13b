"""API keys: generation, keyed hashing, expiration rules, and their records in ``gateway-api-keys``.

A key is a random UUID, shown once. Only ``HMAC-SHA-256(server secret, key)`` is stored, and it doubles as
the record's document id, so verification is one real-time GET by id. Records carry a separate random,
non-secret ``id`` and a 4-character ``hint`` for lists and the UI.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import uuid
from dataclasses import asdict, dataclass, replace
from typing import Any

from elasticsearch import AsyncElasticsearch, NotFoundError

from gateway.auth.scopes import DEFAULT_SCOPES, Scope, stored_scopes
from gateway.ids import KEY_DIGEST

API_KEYS_INDEX = "gateway-api-keys"
STATE_INDEX = "gateway-state"
REVOCATIONS_DOC = "api-key-revocations"


STATUSES = ("active", "expired", "revoked")


# Retries of a partial update that lost a race with another one on the same key (revoke vs last use).
RETRY_ON_CONFLICT = 3


class InvalidExpiration(ValueError):
    """An expiration that is malformed or not in the future."""


def generate_key() -> str:
    return str(uuid.uuid4())


def key_digest(secret: bytes, key: str) -> str:
    # hmac.digest is the one-shot C implementation: several times cheaper than hmac.new(...).hexdigest().
    return hmac.digest(secret, key.strip().encode(), "sha256").hex()


# The furthest a key's expiration may lie ahead: longer than any real use, and far inside what dates hold.
MAX_EXPIRATION_YEARS = 100
MAX_EXPIRATION = dt.timedelta(days=36_525)


# What an expiration may look like (Python's fromisoformat alone also takes week dates like 2099-W01-1,
# non-ASCII digits and more): a calendar date in either ISO form, or a date-time with an optional offset.
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{8}"
_DATE_TIME = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?"
)
EXPIRATION_FORMAT = re.compile(f"{_DATE}|{_DATE_TIME}")


def parse_expiration(value: str, now: dt.datetime) -> dt.datetime:
    """When a key stops working (exclusive). A date, in either ISO-8601 form (``2027-01-02``, ``20270102``),
    is valid through the end of that day, UTC; a date-time until that instant (UTC unless it has an offset).
    """
    text = value.strip()
    try:
        if not EXPIRATION_FORMAT.fullmatch(text):
            raise ValueError(text)
        expires = _end_of(text)
    except ValueError as exc:
        raise InvalidExpiration(
            f"expiration {value!r} is not a date (YYYY-MM-DD) or an ISO-8601 date-time"
        ) from exc
    except OverflowError:  # the day after 9999-12-31, or an offset past it
        expires = dt.datetime.max.replace(tzinfo=dt.UTC)
    if expires <= now:
        raise InvalidExpiration(f"expiration {value!r} is in the past")
    if expires - now > MAX_EXPIRATION:
        raise InvalidExpiration(f"expiration {value!r} is more than {MAX_EXPIRATION_YEARS} years ahead")
    return expires


def _end_of(text: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        parsed = dt.datetime.fromisoformat(text)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


@dataclass(frozen=True)
class ApiKeyRecord:
    id: str
    digest: str
    tenant_id: str
    name: str
    description: str
    expiration: str
    expires_at: str
    revoked: bool
    creator: str
    modifier: str
    created: str
    modified: str
    hint: str
    last_used: str | None = None
    scopes: list[str] | None = None  # None: stored before scopes existed (see ``granted``)

    @property
    def granted(self) -> tuple[Scope, ...]:
        """What the key may do: its scopes, or all of them for a record stored before scopes."""
        return stored_scopes(self.scopes)

    def is_valid(self, now: dt.datetime) -> bool:
        return not self.revoked and dt.datetime.fromisoformat(self.expires_at) > now

    def status(self, now: dt.datetime) -> str:
        """One of ``STATUSES``: revoked wins over expired."""
        if self.revoked:
            return "revoked"
        return "active" if self.is_valid(now) else "expired"

    def verify_view(self, now: dt.datetime) -> dict[str, Any]:
        """The body of ``verifyApiToken``, as the original returns it."""
        return {
            "name": self.name,
            "description": self.description,
            "expiration": self.expiration,
            "is_valid": self.is_valid(now),
            "creator": self.creator,
            "modifier": self.modifier,
            "scopes": list(self.granted),
        }

    def list_view(self, now: dt.datetime) -> dict[str, Any]:
        """A ``getTokens`` entry: everything but the digest; the key itself is never retrievable."""
        return {
            "id": self.id,
            "hint": self.hint,
            **self.verify_view(now),
            "revoked": self.revoked,
            "tenant_id": self.tenant_id,
            "created": self.created,
            "modified": self.modified,
            "expires_at": self.expires_at,
            "last_used": self.last_used,
        }

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ApiKeyRecord:
        values: dict[str, Any] = {name: doc.get(name) for name in cls.__dataclass_fields__}
        return cls(**values)


def new_record(
    key: str,
    secret: bytes,
    tenant_id: str,
    name: str,
    description: str,
    expiration: str,
    expires: dt.datetime,
    creator: str,
    now: dt.datetime,
    scopes: tuple[Scope, ...] = DEFAULT_SCOPES,
) -> ApiKeyRecord:
    stamp = now.isoformat()
    return ApiKeyRecord(
        id=uuid.uuid4().hex,
        digest=key_digest(secret, key),
        tenant_id=tenant_id,
        name=name,
        description=description,
        expiration=expiration,
        expires_at=expires.isoformat(),
        revoked=False,
        creator=creator,
        modifier=creator,
        created=stamp,
        modified=stamp,
        hint=key[-4:],
        scopes=list(scopes),
    )


def status_filters(
    status: str | None, now: dt.datetime, expires_before: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Query filters for records of ``status`` (one of ``STATUSES``) expiring before a time."""
    filters: list[dict[str, Any]] = []
    if status == "revoked":
        filters.append({"term": {"revoked": True}})
    elif status in ("active", "expired"):
        bound = "gt" if status == "active" else "lte"
        filters += [{"term": {"revoked": False}}, {"range": {"expires_at": {bound: now.isoformat()}}}]
    if expires_before is not None:
        filters.append({"range": {"expires_at": {"lt": expires_before.isoformat()}}})
    return filters


class ApiKeyStore:
    def __init__(self, es: AsyncElasticsearch) -> None:
        self._es = es

    async def create(self, record: ApiKeyRecord) -> None:
        await self._es.create(index=API_KEYS_INDEX, id=record.digest, document=record.to_doc(), refresh=True)

    async def get(self, digest: str) -> ApiKeyRecord | None:
        if not KEY_DIGEST.valid(digest):  # what key_digest makes; anything else names no record
            return None
        try:
            found = await self._es.get(index=API_KEYS_INDEX, id=digest)
        except NotFoundError:
            return None
        return ApiKeyRecord.from_doc(found["_source"])

    async def find_by_id(self, tenant_id: str, key_id: str) -> ApiKeyRecord | None:
        found = await self._es.search(
            index=API_KEYS_INDEX,
            query={"bool": {"filter": [{"term": {"id": key_id}}, {"term": {"tenant_id": tenant_id}}]}},
            size=1,
        )
        hits = found["hits"]["hits"]
        return ApiKeyRecord.from_doc(hits[0]["_source"]) if hits else None

    async def list(
        self, tenant_id: str, name: str | None, offset: int, size: int, filters: list[dict[str, Any]]
    ) -> list[ApiKeyRecord]:
        filters = [{"term": {"tenant_id": tenant_id}}, *filters]
        must: list[dict[str, Any]] = (
            [{"match": {"name.text": {"query": name, "operator": "and"}}}] if name else []
        )
        found = await self._es.search(
            index=API_KEYS_INDEX,
            query={"bool": {"filter": filters, "must": must}},
            sort=[{"created": "desc"}, {"id": "asc"}],
            from_=offset,
            size=size,
        )
        return [ApiKeyRecord.from_doc(hit["_source"]) for hit in found["hits"]["hits"]]

    async def revoke(self, record: ApiKeyRecord, modifier: str, now: dt.datetime) -> ApiKeyRecord:
        updated = replace(record, revoked=True, modifier=modifier, modified=now.isoformat())
        await self._es.update(
            index=API_KEYS_INDEX,
            id=record.digest,
            doc={"revoked": True, "modifier": modifier, "modified": updated.modified},
            refresh=True,
            # A replica may be recording the key's last use at the same moment: the two partial updates
            # touch different fields, so Elasticsearch applies this one again on the newer version.
            retry_on_conflict=RETRY_ON_CONFLICT,
        )
        await self.bump_revocations(now)
        return updated

    async def delete(self, record: ApiKeyRecord, now: dt.datetime) -> None:
        await self._es.delete(index=API_KEYS_INDEX, id=record.digest, refresh=True)
        await self.bump_revocations(now)

    async def touch(self, digest: str, now: dt.datetime) -> None:
        await self._es.update(
            index=API_KEYS_INDEX,
            id=digest,
            doc={"last_used": now.isoformat()},
            retry_on_conflict=RETRY_ON_CONFLICT,
        )

    async def bump_revocations(self, now: dt.datetime) -> None:
        """Every replica polls this document; a new generation drops their cached keys.

        The generation is random rather than a counter, so a recreated index can never repeat an old value.
        """
        document = {"generation": uuid.uuid4().hex, "changed": now.isoformat()}
        await self._es.index(index=STATE_INDEX, id=REVOCATIONS_DOC, document=document)

    async def revocation_generation(self) -> str:
        try:
            found = await self._es.get(index=STATE_INDEX, id=REVOCATIONS_DOC)
        except NotFoundError:
            return ""
        return str(found["_source"]["generation"])
