"""FastAPI dependencies, declared once as Annotated aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from gateway.auth.callers import Caller
from gateway.auth.credentials import credentials_from_headers
from gateway.auth.tokens import INVALID_TOKEN
from gateway.auth.users import User
from gateway.errors import NotAuthenticated
from gateway.http.observability import RequestRecorder
from gateway.http.ratelimit import SCOPE_KEY
from gateway.http.scopes import check_route
from gateway.services import Services


# Dependencies are async on purpose: FastAPI runs plain ``def`` dependencies in a worker thread, which
# costs more than everything else a request does.
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_recorder(request: Request) -> RequestRecorder:
    recorder: RequestRecorder = request.app.state.recorder
    return recorder


ServicesDep = Annotated[Services, Depends(get_services)]
RecorderDep = Annotated[RequestRecorder, Depends(get_recorder)]


# --- admin bearer tokens --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    user: User
    claims: dict[str, Any]


async def current_session(request: Request, services: ServicesDep) -> Session:
    credentials = credentials_from_headers(request.headers)
    if credentials is None or credentials.scheme != "bearer":
        raise NotAuthenticated(INVALID_TOKEN, scheme="Bearer")
    user, claims = await services.authenticator.user_for_token(credentials.value)
    return Session(user, claims)


SessionDep = Annotated[Session, Depends(current_session)]


async def current_admin(session: SessionDep, services: ServicesDep) -> User:
    return services.authenticator.require_admin(session.user)


AdminDep = Annotated[User, Depends(current_admin)]


# --- API-key callers ------------------------------------------------------------------------------------


async def api_caller(request: Request, services: ServicesDep) -> Caller:
    """The caller, once its key holds the scope the route needs (``gateway.http.scopes``)."""
    address = request.client.host if request.client else None
    caller = await services.callers.authenticate(request.headers, address)
    if caller.quota is not None:  # the answer says what is left (gateway.http.ratelimit)
        request.scope[SCOPE_KEY] = caller.quota
    check_route(caller, request.method, request.scope["route"].path)
    return caller


CallerDep = Annotated[Caller, Depends(api_caller)]
