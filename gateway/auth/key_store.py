"""API keys: generation, keyed hashing, expiration rules, and their records in ``gateway-api-keys``.

A key is a random UUID, shown once. Only ``HMAC-SHA-256(server secret, key)`` is stored, and it doubles as
the record's document id, so verification is one real-time GET by id. Records carry a separate random,
non-secret ``id`` and a 4-character ``hint`` for lists and the UI.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import uuid
from dataclasses import asdict, dataclass, replace
from typing import Any

from elasticsearch import AsyncElasticsearch, ConflictError, NotFoundError

from gateway.auth.restrictions import NO_LIMITS, KeyLimits, NetworkList, networks_of, rate_view
from gateway.auth.scopes import DEFAULT_SCOPES, Scope, stored_scopes
from gateway.errors import Conflict
from gateway.ids import KEY_DIGEST

API_KEYS_INDEX = "gateway-api-keys"
STATE_INDEX = "gateway-state"
REVOCATIONS_DOC = "api-key-revocations"


CHANGED_MEANWHILE = "The key's record changed while this change was being made; read it again and retry."


# Retries of a partial update that lost a race with another one on the same key (revoke vs last use).
RETRY_ON_CONFLICT = 3


def generate_key() -> str:
    return str(uuid.uuid4())


def key_digest(secret: bytes, key: str) -> str:
    # hmac.digest is the one-shot C implementation: several times cheaper than hmac.new(...).hexdigest().
    return hmac.digest(secret, key.strip().encode(), "sha256").hex()


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
    # Restrictions (gateway.auth.restrictions); None is "no limit" (rate_limit: the deployment's default).
    datasources: list[str] | None = None
    allowed_networks: list[str] | None = None
    rate_limit: str | None = None
    rotated_from: str | None = None  # record id of the key this one replaced (rotateApiToken)
    rotated_to: str | None = None  # record id of the key that replaced this one
    last_used_address: str | None = None

    # Read on every use of the key: worked out once per record (a changed record is a new object).
    @functools.cached_property
    def networks(self) -> NetworkList | None:
        """The allowed networks, parsed (once per distinct list), or None when every address may call."""
        return None if self.allowed_networks is None else networks_of(tuple(self.allowed_networks))

    @property
    def limits(self) -> KeyLimits:
        return KeyLimits(
            datasources=None if self.datasources is None else tuple(self.datasources),
            allowed_networks=None if self.allowed_networks is None else tuple(self.allowed_networks),
            rate_limit=self.rate_limit,
        )

    @property
    def limited(self) -> bool:
        """Narrower than a key of the defaults: fewer scopes, or limited data sources or networks."""
        return (
            set(self.granted) < set(DEFAULT_SCOPES)
            or self.datasources is not None
            or (self.allowed_networks is not None)
        )

    @functools.cached_property
    def granted(self) -> tuple[Scope, ...]:
        """What the key may do: its scopes, or all of them for a record stored before scopes."""
        return stored_scopes(self.scopes)

    @functools.cached_property
    def expires(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.expires_at)

    def is_valid(self, now: dt.datetime) -> bool:
        return not self.revoked and self.expires > now

    def status(self, now: dt.datetime) -> str:
        """active, expired or revoked: revoked wins over expired."""
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
            "datasources": self.datasources,
            "allowedNetworks": self.allowed_networks,
            "rateLimit": rate_view(self.rate_limit),
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
            "last_used_address": self.last_used_address,
            "rotated_from": self.rotated_from,
            "rotated_to": self.rotated_to,
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
    limits: KeyLimits = NO_LIMITS,
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
        datasources=None if limits.datasources is None else list(limits.datasources),
        allowed_networks=None if limits.allowed_networks is None else list(limits.allowed_networks),
        rate_limit=limits.rate_limit,
    )


@dataclass(frozen=True)
class Versioned:
    """A record as read, with the version (sequence number, primary term) a conditional write names."""

    record: ApiKeyRecord
    seq_no: int
    primary_term: int


class ApiKeyStore:
    def __init__(self, es: AsyncElasticsearch) -> None:
        self._es = es

    async def create(self, record: ApiKeyRecord) -> None:
        await self._es.create(index=API_KEYS_INDEX, id=record.digest, document=record.to_doc(), refresh=True)

    async def get(self, digest: str) -> ApiKeyRecord | None:
        found = await self.get_versioned(digest)
        return None if found is None else found.record

    async def get_versioned(self, digest: str) -> Versioned | None:
        """The record with the version an optimistic ``replace`` of it names (a real-time read)."""
        if not KEY_DIGEST.valid(digest):  # what key_digest makes; anything else names no record
            return None
        try:
            found = await self._es.get(index=API_KEYS_INDEX, id=digest)
        except NotFoundError:
            return None
        record = ApiKeyRecord.from_doc(found["_source"])
        return Versioned(record, found["_seq_no"], found["_primary_term"])

    async def replace(self, read: Versioned, record: ApiKeyRecord) -> None:
        """Store ``record`` over ``read``'s version only: ``Conflict`` when it changed (or went) since."""
        try:
            await self._es.index(
                index=API_KEYS_INDEX,
                id=read.record.digest,
                document=record.to_doc(),
                if_seq_no=read.seq_no,
                if_primary_term=read.primary_term,
                refresh=True,
            )
        except (ConflictError, NotFoundError):
            raise Conflict(CHANGED_MEANWHILE) from None

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

    async def touch(self, digest: str, now: dt.datetime, address: str | None = None) -> None:
        doc = {"last_used": now.isoformat()}
        if address is not None:
            doc["last_used_address"] = address
        await self._es.update(
            index=API_KEYS_INDEX,
            id=digest,
            doc=doc,
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
