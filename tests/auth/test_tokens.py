"""Admin JWTs: the algorithm is pinned and every registered claim is checked."""

from __future__ import annotations

import base64
import datetime as dt
import json

import jwt
import pytest

from gateway.auth.tokens import AUDIENCE, ISSUER, SessionClaims, decode_token, issue_token
from gateway.errors import NotAuthenticated

KEY = b"k" * 32
NOW = dt.datetime.now(dt.UTC)
SID = "s" * 32
SESSION = SessionClaims(SID, int(NOW.timestamp()), NOW + dt.timedelta(hours=12))
TTL = dt.timedelta(minutes=30)


def _claims(**changes: object) -> dict[str, object]:
    """Valid claims of a token of SESSION, changed as given (None: left out)."""
    claims: dict[str, object] = {
        "sub": "bob",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(NOW.timestamp()),
        "exp": 2**40,
        "sid": SID,
        "auth_time": SESSION.auth_time,
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_round_trip_keeps_profile_and_times() -> None:
    token = issue_token(KEY, "bob", {"uid": "bob"}, TTL, NOW, SESSION)
    claims = decode_token(KEY, token, NOW)
    assert claims["sub"] == "bob" and claims["uid"] == "bob"
    assert claims["exp"] - claims["iat"] == 1800


def test_alg_none_is_refused() -> None:
    claims = _claims()
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    with pytest.raises(NotAuthenticated):
        decode_token(KEY, unsigned, NOW)


def test_wrong_signature_is_refused() -> None:
    token = issue_token(b"x" * 32, "bob", {}, TTL, NOW, SESSION)
    with pytest.raises(NotAuthenticated):
        decode_token(KEY, token, NOW)


def test_expired_token_is_refused() -> None:
    token = issue_token(KEY, "bob", {}, TTL, NOW - dt.timedelta(hours=1), SESSION)
    with pytest.raises(NotAuthenticated):
        decode_token(KEY, token, NOW)


@pytest.mark.parametrize("claim", ["iss", "aud"])
def test_foreign_issuer_or_audience_is_refused(claim: str) -> None:
    claims = _claims(**{claim: "someone-else"})
    with pytest.raises(NotAuthenticated):
        decode_token(KEY, jwt.encode(claims, KEY, algorithm="HS256"), NOW)


def test_missing_expiry_is_refused() -> None:
    claims = _claims(exp=None)
    with pytest.raises(NotAuthenticated):
        decode_token(KEY, jwt.encode(claims, KEY, algorithm="HS256"), NOW)


def test_times_are_checked_against_the_given_clock() -> None:
    token = issue_token(KEY, "bob", {}, TTL, NOW, SESSION)
    assert decode_token(KEY, token, NOW + dt.timedelta(minutes=30, seconds=4))["sub"] == "bob"  # leeway
    with pytest.raises(NotAuthenticated):
        decode_token(KEY, token, NOW + dt.timedelta(minutes=30, seconds=5))  # expired, leeway used up
    with pytest.raises(NotAuthenticated):
        decode_token(KEY, token, NOW - dt.timedelta(seconds=10))  # issued in the future


@pytest.mark.parametrize("bad", ["1700000000", True, None, [1]])
def test_malformed_times_are_refused(bad: object) -> None:
    claims = _claims(iat=bad)
    with pytest.raises(NotAuthenticated):
        decode_token(KEY, jwt.encode(claims, KEY, algorithm="HS256"), NOW)


def test_a_token_names_its_session_and_login_time() -> None:
    claims = decode_token(KEY, issue_token(KEY, "bob", {}, TTL, NOW, SESSION), NOW)
    assert claims["sid"] == SID and claims["auth_time"] == SESSION.auth_time


def test_a_token_never_outlives_its_session() -> None:
    late = NOW + dt.timedelta(hours=11, minutes=50)  # a renewal 10 minutes before the session ends
    claims = decode_token(KEY, issue_token(KEY, "bob", {}, TTL, late, SESSION), late)
    assert claims["exp"] == int(SESSION.ends.timestamp())
    assert claims["exp"] - claims["iat"] < TTL.total_seconds()


@pytest.mark.parametrize(
    "changes",
    [{"sid": None}, {"auth_time": None}, {"sid": 12}, {"auth_time": "1700000000"}, {"auth_time": True}],
    ids=["no sid (a token from before sessions)", "no auth_time", "sid not text", "auth_time text", "bool"],
)
def test_tokens_without_a_session_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(NotAuthenticated):
        decode_token(KEY, jwt.encode(_claims(**changes), KEY, algorithm="HS256"), NOW)
