"""``/api/admin/*``: the API-key lifecycle. Every route needs an admin bearer token."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from gateway.auth.apikeys import (
    ApiKeyRecord,
    InvalidExpiration,
    generate_key,
    key_digest,
    new_record,
    parse_expiration,
)
from gateway.deps import AdminDep, StateDep
from gateway.errors import BadRequest, NotFound
from gateway.openapi import SESSION_SECURITY, errors, secured
from gateway.state import GatewayState

router = APIRouter(
    prefix="/api/admin",
    tags=["API keys"],
    responses=errors(400, 401, 403, 503, described={401: "Missing, invalid or expired admin token"}),
)
NO_SUCH_KEY = errors(404, described={404: "No such key"})
ADMIN_ONLY = secured(SESSION_SECURITY)

MAX_PAGE = 1000
MAX_WINDOW = 10_000  # Elasticsearch's default max_result_window
KEY_MAX_LENGTH = 256
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


class CreateApiTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field(examples=["Ingest Key"])
    description: Annotated[str, StringConstraints(max_length=2048)] = Field(
        "", examples=["API key for ingestion endpoints"]
    )
    expiration: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="A date (valid through its end, UTC) or an ISO-8601 date-time; must be in the future.",
        examples=["2027-01-02", "2027-01-02T12:00:00Z"],
    )


class KeyReference(BaseModel):
    """Names one key: by its value (as the original) or by the record id from ``getTokens``."""

    # The schema says what _exactly_one checks, so clients (and the fuzzer) can send valid references.
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"oneOf": [{"required": ["token"]}, {"required": ["id"]}]}
    )

    token: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=KEY_MAX_LENGTH)]
        | None
    ) = None
    id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> KeyReference:
        if (self.token is None) == (self.id is None):
            raise ValueError("give exactly one of 'token' or 'id'")
        return self


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _resolve(state: GatewayState, ref: KeyReference) -> ApiKeyRecord:
    tenant = str(state.settings.tenant_id)
    if ref.token is not None:
        record = await state.api_keys.get(key_digest(state.secrets.api_key_hmac_key, ref.token))
    else:
        record = await state.api_keys.find_by_id(tenant, ref.id or "")
    if record is None or record.tenant_id != tenant:
        raise NotFound("No such API key.")
    return record


@router.post(
    "/createApiToken",
    summary="Create an API key; the key is in this response and nowhere else",
    openapi_extra=ADMIN_ONLY,
)
async def create_api_token(body: CreateApiTokenRequest, admin: AdminDep, state: StateDep) -> dict[str, str]:
    now = _now()
    try:
        expires = parse_expiration(body.expiration, now)
    except InvalidExpiration as exc:
        raise BadRequest(str(exc)) from exc
    key = generate_key()
    record = new_record(
        key,
        state.secrets.api_key_hmac_key,
        tenant_id=str(state.settings.tenant_id),
        name=body.name,
        description=body.description,
        expiration=body.expiration.strip(),
        expires=expires,
        creator=admin.username,
        now=now,
    )
    await state.api_keys.create(record)
    return {"token": key}


@router.post(
    "/revokeApiToken",
    summary="Revoke a key; every replica refuses it within the revocation window (1 s by default)",
    responses=NO_SUCH_KEY,
    openapi_extra=ADMIN_ONLY,
)
async def revoke_api_token(body: KeyReference, admin: AdminDep, state: StateDep) -> dict[str, str]:
    record = await _resolve(state, body)
    await state.api_keys.revoke(record, admin.username, _now())
    state.verifier.forget_all()
    return {"message": "User token disabled"}


@router.post(
    "/deleteApiToken",
    summary="Delete a key record (revoked keys stay listed as invalid until deleted)",
    responses=NO_SUCH_KEY,
    openapi_extra=ADMIN_ONLY,
)
async def delete_api_token(body: KeyReference, _: AdminDep, state: StateDep) -> dict[str, str]:
    record = await _resolve(state, body)
    await state.api_keys.delete(record, _now())
    state.verifier.forget_all()
    return {"message": "User token deleted"}


@router.get(
    "/verifyApiToken/{token}",
    summary="A key's record and whether it is valid now",
    responses=NO_SUCH_KEY,
    openapi_extra=ADMIN_ONLY,
)
async def verify_api_token(
    token: Annotated[str, Path(min_length=1, max_length=KEY_MAX_LENGTH)], _: AdminDep, state: StateDep
) -> dict[str, Any]:
    if not token.strip():  # no key is blank; KeyReference would refuse it with an unhandled error
        raise NotFound("No such API key.")
    record = await _resolve(state, KeyReference(token=token))
    return record.verify_view(_now())


@router.get(
    "/getTokens",
    summary="List key records, newest first; search by name or by the full key",
    openapi_extra=ADMIN_ONLY,
)
async def get_tokens(
    _: AdminDep,
    state: StateDep,
    max_results: Annotated[int, Query(alias="maxResults", ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_WINDOW - 1)] = 0,
    search: Annotated[
        str | None, Query(max_length=256, description="A name (words match) or a full API key")
    ] = None,
) -> list[dict[str, Any]]:
    now = _now()
    if offset + max_results > MAX_WINDOW:
        raise BadRequest(f"offset + maxResults may not exceed {MAX_WINDOW}")
    term = search.strip() if search else None
    if term and _is_uuid(term):
        try:
            return [(await _resolve(state, KeyReference(token=term))).list_view(now)]
        except NotFound:
            return []
    records = await state.api_keys.list(str(state.settings.tenant_id), term or None, offset, max_results)
    return [record.list_view(now) for record in records]


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
