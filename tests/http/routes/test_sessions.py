"""Admin sessions: logout ends every token of a session, renewals cannot pass the absolute lifetime, and
tokens from before sessions existed are refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.auth.server_secrets import load_secrets
from gateway.auth.sessions import SESSIONS_INDEX
from gateway.auth.tokens import ALGORITHM, AUDIENCE, ISSUER
from gateway.settings import Settings
from tests.conftest import ES_TEST_TIMEOUT
from tests.helpers import ADMIN_PASSWORD, ADMIN_USER, ManualClock, bearer, login, make_settings

VERIFY = "/api/authentication/verify"
RENEW = "/api/authentication/renewToken"
LOGOUT = "/api/authentication/logout"


def claims_of(token: str) -> dict[str, Any]:
    """What a token says (its signature is the gateway's business, not this test's)."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def renew(client: TestClient, token: str) -> str:
    response = client.post(RENEW, headers=bearer(token))
    assert response.status_code == 200, response.text
    renewed: str = response.json()["token"]
    return renewed


def accepted(client: TestClient, token: str) -> bool:
    status = client.get(VERIFY, headers=bearer(token)).status_code
    assert status in (200, 401)
    return status == 200


def test_logout_ends_every_token_of_the_session(client: TestClient, clock: ManualClock) -> None:
    token = login(client)
    clock.advance(2)
    renewed = renew(client, token)
    other = login(client)  # another session of the same user (another browser)
    assert accepted(client, token) and accepted(client, renewed)

    response = client.post(LOGOUT, headers=bearer(renewed))
    assert response.status_code == 204 and response.content == b""

    for ended in (token, renewed):
        assert not accepted(client, ended)
        assert client.post(RENEW, headers=bearer(ended)).status_code == 401
        assert client.get("/api/admin/getTokens", headers=bearer(ended)).status_code == 401
        assert client.post(LOGOUT, headers=bearer(ended)).status_code == 401
    assert accepted(client, other)  # the other session goes on


def test_logout_needs_a_token(client: TestClient) -> None:
    for headers in ({}, bearer("garbage"), {"Authorization": "Basic abc"}):
        response = client.post(LOGOUT, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"


@pytest.fixture
def short_sessions(
    es: Elasticsearch, es_url: str, tmp_path: Path, clock: ManualClock
) -> Iterator[TestClient]:
    settings = make_settings(
        es_url=es_url,
        state_dir=tmp_path,
        token_ttl_minutes=30,
        session_lifetime_hours=1,
        es_request_timeout=ES_TEST_TIMEOUT,
    )
    with TestClient(create_app(settings, clock=clock)) as client:
        yield client


def test_renewals_keep_the_session_and_cannot_pass_its_end(
    short_sessions: TestClient, clock: ManualClock
) -> None:
    token = login(short_sessions)
    first = claims_of(token)
    assert first["auth_time"] == first["iat"] and first["exp"] - first["iat"] == 30 * 60
    for _ in range(2):  # renewed every 20 minutes, as a page in use does
        clock.advance(20 * 60)
        token = renew(short_sessions, token)
        claims = claims_of(token)
        assert (claims["sid"], claims["auth_time"]) == (first["sid"], first["auth_time"])
    # at 40 minutes, the renewed token ends with the session (1 h after the login), not 30 minutes later
    assert claims["exp"] == first["auth_time"] + 3600
    clock.advance(20 * 60 + 6)  # past the session's end (and the 5 s leeway)
    assert not accepted(short_sessions, token)
    assert short_sessions.post(RENEW, headers=bearer(token)).status_code == 401
    assert login(short_sessions)  # a new login starts a new session


def test_a_session_past_its_end_is_refused_whatever_its_token_says(
    short_sessions: TestClient, clock: ManualClock, tmp_path: Path
) -> None:
    """The stored end is checked too: a token signed to outlive its session (e.g. with a longer
    GATEWAY_SESSION_LIFETIME_HOURS, since shortened) is refused when the session ends."""
    claims = claims_of(login(short_sessions))
    key = load_secrets(make_settings(state_dir=tmp_path)).jwt_key
    forged = jwt.encode({**claims, "exp": claims["exp"] + 24 * 3600}, key, algorithm=ALGORITHM)
    assert accepted(short_sessions, forged)
    clock.advance(3600 + 1)
    assert not accepted(short_sessions, forged)


def test_tokens_from_before_sessions_are_refused(client: TestClient, settings: Settings) -> None:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    old = {"sub": ADMIN_USER, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 1800, "uid": "admin"}
    key = load_secrets(settings).jwt_key
    assert not accepted(client, jwt.encode(old, key, algorithm=ALGORITHM))
    unknown = {**old, "sid": "x" * 32, "auth_time": now}  # well-formed, but no such session
    assert not accepted(client, jwt.encode(unknown, key, algorithm=ALGORITHM))


def test_the_session_document_holds_no_secret(client: TestClient, es: Elasticsearch) -> None:
    token = login(client)
    stored = es.get(index=SESSIONS_INDEX, id=claims_of(token)["sid"])["_source"]
    assert set(stored) == {"kind", "username", "epoch", "created", "expires"}
    assert stored["username"] == ADMIN_USER
    assert token not in str(stored) and ADMIN_PASSWORD not in str(stored)
