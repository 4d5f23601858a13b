"""Who is calling an API-key endpoint: one function shared by the FastAPI dependency and the fast path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from gateway.auth.credentials import credentials_from_headers
from gateway.auth.verifier import invalid_key
from gateway.state import GatewayState


@dataclass(frozen=True)
class Caller:
    """An ingestion client's key, or an administrator's bearer token."""

    kind: Literal["api_key", "admin"]
    name: str
    tenant_id: str


async def authenticate_caller(state: GatewayState, headers: Mapping[str, str]) -> Caller:
    """Unknown, expired, revoked or other-tenant keys and mismatched tenant headers all look the same."""
    credentials = credentials_from_headers(headers)
    tenant_header = headers.get("x-tenant-id")
    if credentials is None:
        raise invalid_key()
    if credentials.scheme == "api_key":
        record = await state.verifier.verify(credentials.value, tenant_header)
        return Caller("api_key", record.name, record.tenant_id)
    user, _ = await state.authenticator.user_for_token(credentials.value)
    state.authenticator.require_admin(user)
    tenant_id = str(state.settings.tenant_id)
    if tenant_header is not None and tenant_header.strip().lower() != tenant_id:
        raise invalid_key()
    return Caller("admin", user.username, tenant_id)
