"""FastAPI dependencies, declared once as Annotated aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from gateway.auth.callers import Caller, authenticate_caller
from gateway.auth.credentials import credentials_from_headers
from gateway.auth.tokens import INVALID_TOKEN
from gateway.auth.users import User
from gateway.errors import NotAuthenticated
from gateway.state import GatewayState


# Dependencies are async on purpose: FastAPI runs plain ``def`` dependencies in a worker thread, which
# costs more than everything else a request does.
def _state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


async def get_state(request: Request) -> GatewayState:
    return _state(request)


StateDep = Annotated[GatewayState, Depends(get_state)]


# --- admin bearer tokens --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    user: User
    claims: dict[str, Any]


async def current_session(request: Request, state: StateDep) -> Session:
    credentials = credentials_from_headers(request.headers)
    if credentials is None or credentials.scheme != "bearer":
        raise NotAuthenticated(INVALID_TOKEN, headers={"WWW-Authenticate": "Bearer"})
    user, claims = await state.authenticator.user_for_token(credentials.value)
    return Session(user, claims)


SessionDep = Annotated[Session, Depends(current_session)]


async def current_admin(session: SessionDep, state: StateDep) -> User:
    return state.authenticator.require_admin(session.user)


AdminDep = Annotated[User, Depends(current_admin)]


# --- API-key callers ------------------------------------------------------------------------------------


async def api_caller(request: Request, state: StateDep) -> Caller:
    return await authenticate_caller(state, request.headers)


CallerDep = Annotated[Caller, Depends(api_caller)]
