"""Admin bearer tokens: HS256 JWTs with issuer, audience, issue and expiry times, all checked.

The algorithm is pinned on decode, so ``alg: none`` and algorithm-confusion tokens are refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import jwt

from gateway.errors import NotAuthenticated

ALGORITHM = "HS256"
ISSUER = "ingest-gateway"
AUDIENCE = "ingest-gateway-admin"
LEEWAY = dt.timedelta(seconds=5)  # clock skew between replicas
INVALID_TOKEN = "The bearer token is missing, invalid or expired."  # noqa: S105 (a message)


def issue_token(
    key: bytes, subject: str, profile: dict[str, Any], ttl: dt.timedelta, now: dt.datetime
) -> str:
    claims = {
        **profile,
        "sub": subject,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def decode_token(key: bytes, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise NotAuthenticated(INVALID_TOKEN, headers={"WWW-Authenticate": "Bearer"}) from exc
    return claims
