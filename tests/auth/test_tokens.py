"""Admin JWTs: the algorithm is pinned and every registered claim is checked."""

from __future__ import annotations

import base64
import datetime as dt
import json

import jwt
import pytest

from gateway.auth.tokens import AUDIENCE, ISSUER, decode_token, issue_token
from gateway.errors import NotAuthenticated

KEY = b"k" * 32
NOW = dt.datetime.now(dt.UTC)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_round_trip_keeps_profile_and_times() -> None:
    token = issue_token(KEY, "bob", {"uid": "bob"}, dt.timedelta(minutes=30), NOW)
    claims = decode_token(KEY, token, NOW)
    assert claims["sub"] == "bob" and claims["uid"] == "bob"
    assert claims["exp"] - claims["iat"] == 1800


def test_alg_none_is_refused() -> None:
    claims = {"sub": "bob", "iss": ISSUER, "aud": AUDIENCE, "iat": int(NOW.timestamp()), "exp": 2**40}
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    with pytest.raises(NotAuthenticated):
        decode_token(KEY, unsigned, NOW)


def test_wrong_signature_is_refused() -> None:
    token = issue_token(b"x" * 32, "bob", {}, dt.timedelta(minutes=30), NOW)
    with pytest.raises(NotAuthenticated):
        decode_token(KEY, token, NOW)


def test_expired_token_is_refused() -> None:
    token = issue_token(KEY, "bob", {}, dt.timedelta(minutes=30), NOW - dt.timedelta(hours=1))
    with pytest.raises(NotAuthenticated):
        decode_token(KEY, token, NOW)


@pytest.mark.parametrize("claim", ["iss", "aud"])
def test_foreign_issuer_or_audience_is_refused(claim: str) -> None:
    claims = {"sub": "bob", "iss": ISSUER, "aud": AUDIENCE, "iat": int(NOW.timestamp()), "exp": 2**40}
    claims[claim] = "someone-else"
    with pytest.raises(NotAuthenticated):
        decode_token(KEY, jwt.encode(claims, KEY, algorithm="HS256"), NOW)


def test_missing_expiry_is_refused() -> None:
    claims = {"sub": "bob", "iss": ISSUER, "aud": AUDIENCE, "iat": int(NOW.timestamp())}
    with pytest.raises(NotAuthenticated):
        decode_token(KEY, jwt.encode(claims, KEY, algorithm="HS256"), NOW)


def test_times_are_checked_against_the_given_clock() -> None:
    token = issue_token(KEY, "bob", {}, dt.timedelta(minutes=30), NOW)
    assert decode_token(KEY, token, NOW + dt.timedelta(minutes=30, seconds=4))["sub"] == "bob"  # leeway
    with pytest.raises(NotAuthenticated):
        decode_token(KEY, token, NOW + dt.timedelta(minutes=30, seconds=5))  # expired, leeway used up
    with pytest.raises(NotAuthenticated):
        decode_token(KEY, token, NOW - dt.timedelta(seconds=10))  # issued in the future


@pytest.mark.parametrize("bad", ["1700000000", True, None, [1]])
def test_malformed_times_are_refused(bad: object) -> None:
    claims = {"sub": "bob", "iss": ISSUER, "aud": AUDIENCE, "iat": bad, "exp": 2**40}
    with pytest.raises(NotAuthenticated):
        decode_token(KEY, jwt.encode(claims, KEY, algorithm="HS256"), NOW)
