"""``/api/admin/*``: the API-key lifecycle. Every route needs an admin bearer token."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from gateway.auth.keys import MAX_WINDOW
from gateway.http.deps import AdminDep, ServicesDep
from gateway.http.openapi import SESSION_SECURITY, errors, secured

router = APIRouter(
    prefix="/api/admin",
    tags=["API keys"],
    responses=errors(400, 401, 403, 503, described={401: "Missing, invalid or expired admin token"}),
)
NO_SUCH_KEY = errors(404, described={404: "No such key"})
ADMIN_ONLY = secured(SESSION_SECURITY)

MAX_PAGE = 1000
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


@router.post(
    "/createApiToken",
    summary="Create an API key; the key is in this response and nowhere else",
    openapi_extra=ADMIN_ONLY,
)
async def create_api_token(
    body: CreateApiTokenRequest, admin: AdminDep, services: ServicesDep
) -> dict[str, str]:
    key = await services.keys.create(
        name=body.name, description=body.description, expiration=body.expiration, creator=admin.username
    )
    return {"token": key}


@router.post(
    "/revokeApiToken",
    summary="Revoke a key; every replica refuses it within the revocation window (1 s by default)",
    responses=NO_SUCH_KEY,
    openapi_extra=ADMIN_ONLY,
)
async def revoke_api_token(body: KeyReference, admin: AdminDep, services: ServicesDep) -> dict[str, str]:
    record = await services.keys.find(key=body.token, key_id=body.id)
    await services.keys.revoke(record, by=admin.username)
    return {"message": "User token disabled"}


@router.post(
    "/deleteApiToken",
    summary="Delete a key record (revoked keys stay listed as invalid until deleted)",
    responses=NO_SUCH_KEY,
    openapi_extra=ADMIN_ONLY,
)
async def delete_api_token(body: KeyReference, _: AdminDep, services: ServicesDep) -> dict[str, str]:
    record = await services.keys.find(key=body.token, key_id=body.id)
    await services.keys.delete(record)
    return {"message": "User token deleted"}


@router.get(
    "/verifyApiToken/{token}",
    summary="A key's record and whether it is valid now",
    responses=NO_SUCH_KEY,
    openapi_extra=ADMIN_ONLY,
)
async def verify_api_token(
    token: Annotated[str, Path(min_length=1, max_length=KEY_MAX_LENGTH)], _: AdminDep, services: ServicesDep
) -> dict[str, Any]:
    return services.keys.describe(await services.keys.find(key=token))


@router.get(
    "/getTokens",
    summary="List key records, newest first; search by name or by the full key",
    openapi_extra=ADMIN_ONLY,
)
async def get_tokens(
    _: AdminDep,
    services: ServicesDep,
    max_results: Annotated[int, Query(alias="maxResults", ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_WINDOW - 1)] = 0,
    search: Annotated[
        str | None, Query(max_length=256, description="A name (words match) or a full API key")
    ] = None,
    status: Annotated[
        Literal["active", "expired", "revoked"] | None,
        Query(description="Only keys in this state (revoked wins over expired)"),
    ] = None,
    expires_before: Annotated[
        dt.datetime | None,
        Query(alias="expiresBefore", description="Only keys that stop working before this date-time"),
    ] = None,
) -> list[dict[str, Any]]:
    if expires_before is not None and expires_before.tzinfo is None:
        expires_before = expires_before.replace(tzinfo=dt.UTC)
    return await services.keys.list(search, offset, max_results, status, expires_before)


@router.get(
    "/tenant",
    summary="The tenant whose keys these are: a key is used with this tenant id (x-tenant-id)",
    openapi_extra=ADMIN_ONLY,
)
async def tenant(_: AdminDep, services: ServicesDep) -> dict[str, str]:
    settings = services.settings
    return {"tenantId": str(settings.tenant_id), "tenantName": settings.tenant_name}
