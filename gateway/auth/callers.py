"""Who is calling an API-key endpoint: one check shared by every route and the search fast path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from gateway.auth.credentials import credentials_from_headers
from gateway.auth.key_store import ApiKeyRecord
from gateway.auth.login import Authenticator
from gateway.auth.ratelimit import KeyRateLimiter, Quota, RateLimited
from gateway.auth.scopes import SCOPES, Scope, require
from gateway.auth.verifier import ApiKeyVerifier, invalid_key
from gateway.errors import NotPermitted

MAX_REMEMBERED_CALLERS = 10_000


@dataclass(frozen=True)
class Caller:
    """An ingestion client's key, or an administrator's bearer token."""

    kind: Literal["api_key", "admin"]
    name: str
    tenant_id: str
    scopes: tuple[Scope, ...] = SCOPES  # an administrator may do everything a key may
    record: ApiKeyRecord | None = None  # the key's record; None for an administrator (no restrictions)
    address: str | None = None  # the client's address, resolved through GATEWAY_TRUSTED_PROXIES
    quota: Quota | None = None  # what this request left of the key's rate limit (None: not limited)

    @property
    def datasources(self) -> tuple[str, ...] | None:
        """The data sources this caller is limited to; None when it may use every one."""
        if self.record is None or self.record.datasources is None:
            return None
        return tuple(self.record.datasources)

    def require(self, scope: Scope, what: str) -> None:
        """403 ``forbidden`` naming ``scope`` when the caller's key lacks it (reported as a refusal)."""
        try:
            require(self.scopes, scope, what)
        except NotPermitted as exc:
            if self.record is not None:
                exc.refusing(self.record.id, self.record.name, "scope")
            raise


class CallerCheck:
    """Accepts the tenant's API keys, and admin bearer tokens for the same tenant."""

    def __init__(
        self,
        verifier: ApiKeyVerifier,
        authenticator: Authenticator,
        tenant_id: str,
        limiter: KeyRateLimiter | None = None,
    ) -> None:
        self._verifier = verifier
        self._authenticator = authenticator
        self._tenant_id = tenant_id
        self._limiter = limiter
        # The Caller of a key without a rate limit is the same for every request from one address.
        self._callers: dict[tuple[str, str | None], Caller] = {}

    async def authenticate(self, headers: Mapping[str, str], address: str | None = None) -> Caller:
        """Unknown, expired, revoked or other-tenant keys and mismatched tenant headers all look the same.

        ``address`` is the client's (``scope["client"]``, already resolved through trusted proxies). A key
        used from outside its allowed networks is a 403, one over its rate limit a 429 (admin bearer
        tokens have neither).
        """
        credentials = credentials_from_headers(headers)
        tenant_header = headers.get("x-tenant-id")
        if credentials is None:
            raise invalid_key()
        if credentials.scheme == "api_key":
            record = await self._verifier.verify(credentials.value, tenant_header, address)
            return self._key_caller(record, address)
        user, _ = await self._authenticator.user_for_token(credentials.value)
        self._authenticator.require_admin(user)
        if tenant_header is not None and tenant_header.strip().lower() != self._tenant_id:
            raise invalid_key()
        return Caller("admin", user.username, self._tenant_id, address=address)

    def authenticate_cached(self, headers: Mapping[str, str], address: str | None = None) -> Caller | None:
        """``authenticate`` without I/O, for a key whose record is cached; None when it needs
        ``authenticate`` (a key to fetch, an admin token). Refusals are the same."""
        credentials = credentials_from_headers(headers)
        if credentials is None:
            raise invalid_key()
        if credentials.scheme != "api_key":
            return None
        record = self._verifier.verify_cached(credentials.value, headers.get("x-tenant-id"), address)
        return None if record is None else self._key_caller(record, address)

    def recheck(self, caller: Caller) -> Caller | None:
        """``authenticate_cached`` for a request with exactly the credentials and tenant headers, and the
        address, that gave ``caller``: the network and rate limit are applied again, the key is not looked
        up again. None when it must be (its record changed, is no longer trusted, or is no longer valid)."""
        record = caller.record
        if record is None or not self._verifier.still_valid(record, caller.address):
            return None
        return self._key_caller(record, caller.address)

    def _key_caller(self, record: ApiKeyRecord, address: str | None) -> Caller:
        networks = record.networks
        if networks is not None and not networks.allows(address):
            where = (address or "an unknown address")[:64]
            raise NotPermitted(
                f"This API key may not be used from {where}: it is outside the key's allowed networks."
            ).refusing(record.id, record.name, "network")
        quota = None
        if self._limiter is not None:
            try:
                # A key replaced by a rotation shares its successor's bucket: during the overlap the two
                # keys together get the limit once, not twice.
                quota = self._limiter.take(record.rotated_to or record.id, record.rate_limit)
            except RateLimited as exc:
                raise exc.refusing(record.id, record.name, "rate") from None
        if quota is not None:
            return Caller("api_key", record.name, record.tenant_id, record.granted, record, address, quota)
        caller = self._callers.get((record.digest, address))
        if caller is None or caller.record is not record:  # a record fetched again is a new object
            caller = Caller("api_key", record.name, record.tenant_id, record.granted, record, address)
            # An address is at most 45 characters (IPv6); anything longer (an X-Forwarded-For a trusted
            # proxy passed on as sent) is not remembered.
            if address is None or len(address) <= 45:
                if len(self._callers) >= MAX_REMEMBERED_CALLERS:
                    self._callers.clear()
                self._callers[(record.digest, address)] = caller
        return caller
