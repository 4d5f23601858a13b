"""``/api/admin/*``: the API-key lifecycle. Every route needs an admin bearer token."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from gateway.auth.key_lifecycle import MAX_WINDOW
from gateway.auth.restrictions import (
    MAX_DATASOURCES,
    MAX_NETWORKS,
    MAX_RATE_REQUESTS,
    MAX_RATE_SECONDS,
    KeyLimits,
    RateLimit,
    parse_limits,
)
from gateway.auth.scopes import SCOPES, WHAT_EACH_ALLOWS, Scope
from gateway.errors import InvalidInput
from gateway.http.bodies import SMALL_BODY_BYTES, read_model
from gateway.http.deps import AdminDep, ServicesDep
from gateway.http.openapi import SESSION_SECURITY, errors, request_body, secured, too_large


def key_admin_router() -> APIRouter:
    """A router for ``/api/admin`` key routes: their prefix, tag and common error answers."""
    return APIRouter(
        prefix="/api/admin",
        tags=["API keys"],
        responses=errors(400, 401, 403, 503, described={401: "Missing, invalid or expired admin token"}),
    )


router = key_admin_router()
NO_SUCH_KEY = errors(404, described={404: "No such key"})
BODY_TOO_LARGE = errors(413, described={413: too_large(SMALL_BODY_BYTES)})
ADMIN_ONLY = secured(SESSION_SECURITY)

MAX_PAGE = 1000
KEY_MAX_LENGTH = 256


def _stripped(max_length: int) -> StringConstraints:
    # Surrounding whitespace is dropped, so a value needs one other character (the pattern says so).
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length, pattern=r"\S")


Name = Annotated[str, _stripped(256)]
KeyValue = Annotated[str, _stripped(KEY_MAX_LENGTH)]
RecordId = Annotated[str, _stripped(64)]


def _one_of(given: str, other: str) -> dict[str, Any]:
    # null counts as absent, as in _exactly_one
    return {"required": [given], "properties": {given: {"type": "string"}, other: {"type": "null"}}}


class RateLimitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requests: int = Field(ge=1, le=MAX_RATE_REQUESTS, examples=[600])
    perSeconds: int = Field(ge=1, le=MAX_RATE_SECONDS, examples=[60])


class Restrictions(BaseModel):
    """What a key is limited to beyond its scopes (docs/api-keys.md); absent or null limits nothing."""

    datasources: list[Annotated[str, StringConstraints(max_length=256)]] | None = Field(
        None,
        min_length=1,
        max_length=MAX_DATASOURCES,
        description="Data-source ids: the key's searches see only their documents, its reads list only "
        "them, and it writes only within sync runs of them. Absent or null: every data source.",
        examples=[["ds-hr-nightly"]],
    )
    allowedNetworks: list[Annotated[str, StringConstraints(max_length=64)]] | None = Field(
        None,
        min_length=1,
        max_length=MAX_NETWORKS,
        description="CIDRs (IPv4 or IPv6) the caller's address must be in, as resolved through "
        "GATEWAY_TRUSTED_PROXIES; anything else is 403. Absent or null: every address.",
        examples=[["10.20.0.0/16", "2001:db8::/32"]],
    )
    rateLimit: RateLimitBody | Literal[False] | None = Field(
        None,
        description="At most `requests` per `perSeconds` seconds, per replica (429 with Retry-After, "
        "RateLimit-Policy and RateLimit over it); false: no limit; absent or null: the deployment's "
        "default (GATEWAY_KEY_RATE_LIMIT).",
        examples=[{"requests": 600, "perSeconds": 60}],
    )

    def limits(self) -> KeyLimits:
        rate = self.rateLimit
        return parse_limits(
            self.datasources,
            self.allowedNetworks,
            RateLimit(rate.requests, rate.perSeconds) if isinstance(rate, RateLimitBody) else rate,
        )


class CreateApiTokenRequest(Restrictions):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field(
        examples=["Ingest Key"],
        description="Printable characters only: control, format and bidi characters are refused (400).",
    )
    description: Annotated[str, StringConstraints(max_length=2048)] = Field(
        "", examples=["API key for ingestion endpoints"], description="Printable characters only, as `name`."
    )
    expiration: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="A date, YYYY-MM-DD or YYYYMMDD (valid through its end, UTC), or an ISO-8601 date-time "
        "(UTC without an offset); in the future, at most 100 years ahead.",
        examples=["2027-01-02", "2027-01-02T12:00:00Z"],
        json_schema_extra={"anyOf": [{"format": "date"}, {"format": "date-time"}]},
    )
    scopes: list[Scope] | None = Field(
        None,
        min_length=1,
        max_length=len(SCOPES),
        description="What the key may do (docs/api-keys.md, Scopes): "
        + "; ".join(f"`{scope}`: {text}" for scope, text in WHAT_EACH_ALLOWS.items())
        + ". Default: `search` and `write`.",
        examples=[["search", "write"]],
    )


class KeyReference(BaseModel):
    """Names one key: by its value (as the original) or by the record id from ``getTokens``."""

    # The schema says what _exactly_one checks, so clients (and the fuzzer) can send valid references.
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"oneOf": [_one_of("token", "id"), _one_of("id", "token")]}
    )

    token: KeyValue | None = None
    id: RecordId | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> KeyReference:
        if (self.token is None) == (self.id is None):
            raise ValueError("give exactly one of 'token' or 'id'")
        return self


@router.post(
    "/createApiToken",
    summary="Create an API key; the key is in this response and nowhere else",
    responses=BODY_TOO_LARGE,
    openapi_extra={**ADMIN_ONLY, **request_body(CreateApiTokenRequest)},
)
async def create_api_token(request: Request, admin: AdminDep, services: ServicesDep) -> dict[str, str]:
    body = await read_model(request, CreateApiTokenRequest)
    key = await services.keys.create(
        name=body.name,
        description=body.description,
        expiration=body.expiration,
        creator=admin.username,
        scopes=body.scopes,
        limits=body.limits(),
        address=client_address(request),
    )
    return {"token": key}


def client_address(request: Request) -> str | None:
    """The client's address (resolved through GATEWAY_TRUSTED_PROXIES), for the audit trail."""
    return request.client.host if request.client else None


@router.post(
    "/revokeApiToken",
    summary="Revoke a key; every replica refuses it within the revocation window (1 s by default)",
    responses={**NO_SUCH_KEY, **BODY_TOO_LARGE},
    openapi_extra={**ADMIN_ONLY, **request_body(KeyReference)},
)
async def revoke_api_token(request: Request, admin: AdminDep, services: ServicesDep) -> dict[str, str]:
    body = await read_model(request, KeyReference)
    record = await services.keys.find(key=body.token, key_id=body.id)
    await services.keys.revoke(record, admin.username, client_address(request))
    return {"message": "User token disabled"}


@router.post(
    "/deleteApiToken",
    summary="Delete a key record (revoked keys stay listed as invalid until deleted)",
    responses={**NO_SUCH_KEY, **BODY_TOO_LARGE},
    openapi_extra={**ADMIN_ONLY, **request_body(KeyReference)},
)
async def delete_api_token(request: Request, admin: AdminDep, services: ServicesDep) -> dict[str, str]:
    body = await read_model(request, KeyReference)
    record = await services.keys.find(key=body.token, key_id=body.id)
    await services.keys.delete(record, admin.username, client_address(request))
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
    description=f"A page that would reach past the first {MAX_WINDOW} records stops there.",
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
        str | None,
        Query(
            alias="expiresBefore",
            description="Only keys that stop working before this ISO-8601 date-time (UTC without an offset)",
            json_schema_extra={"format": "date-time"},
        ),
    ] = None,
) -> list[dict[str, Any]]:
    before = None if expires_before is None else date_time(expires_before, "expiresBefore")
    page = min(max_results, MAX_WINDOW - offset)
    return await services.keys.list(search, offset, page, status, before)


def date_time(value: str, name: str) -> dt.datetime:
    """An ISO-8601 date-time (not a number of seconds, which a lax parse would take), UTC unless given."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO-8601 date-time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


@router.get(
    "/tenant",
    summary="The tenant whose keys these are: a key is used with this tenant id (x-tenant-id)",
    openapi_extra=ADMIN_ONLY,
)
async def tenant(_: AdminDep, services: ServicesDep) -> dict[str, str]:
    settings = services.settings
    return {"tenantId": str(settings.tenant_id), "tenantName": settings.tenant_name}
