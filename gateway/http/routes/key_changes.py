"""``/api/admin/updateApiToken`` and ``/api/admin/rotateApiToken``: change a key, or replace it with an
overlap (docs/api-keys.md, "Changing and rotating a key"). Every route needs an admin bearer token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Request
from pydantic import ConfigDict, Field, StringConstraints

from gateway.auth.key_changes import DEFAULT_OVERLAP_HOURS, MAX_OVERLAP_HOURS, KeyUpdate
from gateway.auth.scopes import SCOPES, Scope
from gateway.errors import InvalidInput
from gateway.http.bodies import read_model
from gateway.http.deps import AdminDep, ServicesDep
from gateway.http.openapi import errors, request_body
from gateway.http.routes.admin import (
    ADMIN_ONLY,
    BODY_TOO_LARGE,
    NO_SUCH_KEY,
    CreateApiTokenRequest,
    KeyReference,
    Restrictions,
    client_address,
    key_admin_router,
)

router = key_admin_router()
CONFLICT = errors(
    409,
    described={
        409: "The key is revoked (or, to rotate, expired or already rotated), "
        "or it changed while this change was made"
    },
)
# Record fields of the restrictions, by the names the body gives them.
LIMIT_FIELDS = {
    "datasources": "datasources",
    "allowedNetworks": "allowed_networks",
    "rateLimit": "rate_limit",
}
NOT_NULL = ("description", "expiration", "scopes")


class UpdateApiTokenRequest(KeyReference, Restrictions):
    """The key (``id`` or ``token``) and what changes: an absent member stays as it is; ``null`` for
    ``datasources``, ``allowedNetworks`` or ``rateLimit`` removes that limit (the default rate limit)."""

    model_config = ConfigDict(extra="forbid")

    description: Annotated[str, StringConstraints(max_length=2048)] | None = Field(
        None, description=CreateApiTokenRequest.model_fields["description"].description
    )
    expiration: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        None,
        description=CreateApiTokenRequest.model_fields["expiration"].description,
        examples=["2027-01-02"],
    )
    scopes: list[Scope] | None = Field(
        None,
        min_length=1,
        max_length=len(SCOPES),
        description="The key's scopes from now on (docs/api-keys.md, Scopes).",
        examples=[["search"]],
    )

    def update(self) -> KeyUpdate:
        given = self.model_fields_set
        for name in NOT_NULL:
            if name in given and getattr(self, name) is None:
                raise InvalidInput(f"{name} may not be null: leave it out to keep it")
        return KeyUpdate(
            description=self.description,
            expiration=self.expiration,
            scopes=self.scopes,
            limits=self.limits(),
            given=frozenset(stored for sent, stored in LIMIT_FIELDS.items() if sent in given),
        )


class RotateApiTokenRequest(KeyReference):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=KeyReference.model_config["json_schema_extra"]
    )

    overlapHours: float = Field(
        DEFAULT_OVERLAP_HOURS,
        ge=0,
        le=MAX_OVERLAP_HOURS,
        description="Hours the old key keeps working (never past its own expiry); 0 ends it at once.",
        examples=[24],
    )


@router.post(
    "/updateApiToken",
    summary="Change a key's description, expiration, scopes or restrictions; every replica sees it within "
    "the revocation window (1 s by default)",
    responses={**NO_SUCH_KEY, **BODY_TOO_LARGE, **CONFLICT},
    openapi_extra={**ADMIN_ONLY, **request_body(UpdateApiTokenRequest)},
)
async def update_api_token(request: Request, admin: AdminDep, services: ServicesDep) -> dict[str, Any]:
    body = await read_model(request, UpdateApiTokenRequest)
    update = body.update()
    record = await services.keys.find(key=body.token, key_id=body.id)
    changed = await services.keys.update(record, update, admin.username, client_address(request))
    return services.keys.view(changed)


@router.post(
    "/rotateApiToken",
    summary="Replace a key: a new key with the same settings (shown once), the old one ending after an "
    "overlap",
    responses={**NO_SUCH_KEY, **BODY_TOO_LARGE, **CONFLICT},
    openapi_extra={**ADMIN_ONLY, **request_body(RotateApiTokenRequest)},
)
async def rotate_api_token(request: Request, admin: AdminDep, services: ServicesDep) -> dict[str, str]:
    body = await read_model(request, RotateApiTokenRequest)
    record = await services.keys.find(key=body.token, key_id=body.id)
    key, done = await services.keys.rotate(record, body.overlapHours, admin.username, client_address(request))
    return {"token": key, "id": done.new.id, "previousExpires": done.old.expires_at}
