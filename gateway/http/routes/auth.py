"""``/api/authentication/*``: admin login, token verification, renewal (original response shapes), logout."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from gateway.http.bodies import SMALL_BODY_BYTES, read_model
from gateway.http.deps import ServicesDep, SessionDep
from gateway.http.openapi import SESSION_SECURITY, errors, request_body, secured, too_large

router = APIRouter(prefix="/api/authentication", tags=["admin authentication"])

LOGIN_ERRORS = errors(
    400,
    401,
    413,
    429,
    503,
    described={
        400: "Malformed request body",
        401: "Unknown user or wrong password (one generic message)",
        413: too_large(SMALL_BODY_BYTES),
        429: "Too many failed attempts from this client, or for this account; see Retry-After",
    },
)
TOKEN_ERRORS = errors(401, 503, described={401: "Missing, invalid or expired token, or an ended session"})


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=256, examples=["bob.rodgers@forgerock.com"])
    password: str = Field(min_length=1, max_length=1024)


@router.post(
    "/login",
    summary="Log in; returns the user and a bearer token",
    responses=LOGIN_ERRORS,
    openapi_extra=request_body(LoginRequest),
)
async def login(request: Request, services: ServicesDep) -> dict[str, Any]:
    body = await read_model(request, LoginRequest)
    client = request.client.host if request.client else "unknown"
    result = await services.authenticator.login(body.username, body.password, client)
    return result.body()


@router.get(
    "/verify",
    summary="The token's user, with its issue (iat) and expiry (exp) times",
    responses=TOKEN_ERRORS,
    openapi_extra=secured(SESSION_SECURITY),
)
async def verify(session: SessionDep) -> dict[str, Any]:
    return {"user": {**session.user.profile(), "iat": session.claims["iat"], "exp": session.claims["exp"]}}


@router.post(
    "/renewToken",
    summary="A fresh token of the same session (same shape as login); never valid past the session's end",
    responses=TOKEN_ERRORS,
    openapi_extra=secured(SESSION_SECURITY),
)
async def renew_token(session: SessionDep, services: ServicesDep) -> dict[str, Any]:
    return services.authenticator.renew(session.user, session.claims).body()


@router.post(
    "/logout",
    summary="End the token's session: every token of it is refused from now on, by every replica",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "The session has ended"}, **TOKEN_ERRORS},
    openapi_extra=secured(SESSION_SECURITY),
)
async def logout(request: Request, session: SessionDep, services: ServicesDep) -> Response:
    await services.authenticator.logout(session.claims, request.client.host if request.client else None)
    return Response(status_code=204)
