"""Admin bearer tokens: HS256 JWTs with issuer, audience, issue and expiry times, all checked.

Each token names its session (``sid``) and when that session's login happened (``auth_time``); a renewed
token keeps both. Tokens without them (issued before sessions existed) are refused. The algorithm is pinned
on decode, so ``alg: none`` and algorithm-confusion tokens are refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import jwt

from gateway.errors import NotAuthenticated

ALGORITHM = "HS256"
ISSUER = "ingest-gateway"
AUDIENCE = "ingest-gateway-admin"
LEEWAY = dt.timedelta(seconds=5)  # clock skew between replicas
REQUIRED = ("exp", "iat", "iss", "aud", "sub", "sid", "auth_time")
INVALID_TOKEN = "The bearer token is missing, invalid or expired."  # noqa: S105 (a message)


@dataclass(frozen=True)
class SessionClaims:
    """The session a token belongs to: its id, its login time and the latest a token of it may expire."""

    sid: str
    auth_time: int
    ends: dt.datetime


def issue_token(
    key: bytes,
    subject: str,
    profile: dict[str, Any],
    ttl: dt.timedelta,
    now: dt.datetime,
    session: SessionClaims,
) -> str:
    """A token valid for ``ttl`` from ``now``, but never past the end of its session."""
    claims = {
        **profile,
        "sub": subject,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(min(now + ttl, session.ends).timestamp()),
        "sid": session.sid,
        "auth_time": session.auth_time,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def decode_token(key: bytes, token: str, now: dt.datetime) -> dict[str, Any]:
    """The token's claims if it is ours and valid at ``now`` (the app's clock), else NotAuthenticated."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            # Times are checked below, against the app's clock rather than the system's.
            options={
                "require": list(REQUIRED),
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise NotAuthenticated(INVALID_TOKEN, scheme="Bearer") from exc
    issued, expires, moment = claims["iat"], claims["exp"], now.timestamp()
    leeway = LEEWAY.total_seconds()
    if not (_is_time(issued) and _is_time(expires)) or issued > moment + leeway or moment >= expires + leeway:
        raise NotAuthenticated(INVALID_TOKEN, scheme="Bearer")
    if not (isinstance(claims["sid"], str) and _is_time(claims["auth_time"])):
        raise NotAuthenticated(INVALID_TOKEN, scheme="Bearer")
    return claims


def _is_time(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
