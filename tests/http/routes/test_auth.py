"""/api/authentication: login, verify, renewToken, throttling, hash upgrades, admin bootstrap."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.auth.login import Authenticator
from gateway.auth.passwords import Verification
from gateway.auth.users import USERS_INDEX
from tests.conftest import ES_TEST_TIMEOUT
from tests.helpers import ADMIN_PASSWORD, ADMIN_USER, ManualClock, bearer, login, make_settings

LOGIN = "/api/authentication/login"


def test_login_response_has_the_original_shape(client: TestClient) -> None:
    response = client.post(LOGIN, json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["user", "token"]
    assert list(body["user"]) == ["dn", "controls", "displayName", "gidNumber", "uid", "_groups"]
    assert body["user"] == {
        "dn": f"cn={ADMIN_USER},ou=People,dc=zoran,dc=com",
        "controls": [],
        "displayName": ADMIN_USER,
        "gidNumber": "999",
        "uid": "admin",
        "_groups": ["Zoran User", "Zoran Admin"],
    }
    assert body["token"].count(".") == 2


def test_usernames_are_case_insensitive(client: TestClient) -> None:
    assert login(client, ADMIN_USER.upper())


def test_unknown_user_and_wrong_password_get_the_same_401(client: TestClient) -> None:
    wrong = client.post(LOGIN, json={"username": ADMIN_USER, "password": "nope-nope-nope"})
    unknown = client.post(LOGIN, json={"username": "ghost@example.com", "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {"error": {"code": "not_authenticated", "message": "Invalid username or password."}}
    )


def test_malformed_login_bodies_are_400(client: TestClient) -> None:
    assert client.post(LOGIN, json={"username": ADMIN_USER}).status_code == 400
    assert (
        client.post(LOGIN, content=b"{not json", headers={"content-type": "application/json"}).status_code
        == 400
    )
    assert client.post(LOGIN, json=["a", "b"]).status_code == 400
    assert (
        client.post(LOGIN, json={"username": "", "password": "x"}).json()["error"]["code"]
        == "invalid_request"
    )


def test_verify_returns_the_user_with_iat_and_exp(client: TestClient) -> None:
    token = login(client)
    body = client.get("/api/authentication/verify", headers=bearer(token)).json()
    user = body["user"]
    assert user["uid"] == "admin" and user["_groups"] == ["Zoran User", "Zoran Admin"]
    assert user["exp"] - user["iat"] == 30 * 60


def test_renew_gives_a_fresh_token_of_the_login_shape(client: TestClient, clock: ManualClock) -> None:
    token = login(client)
    clock.advance(2)  # iat has one-second resolution
    renewed = client.post("/api/authentication/renewToken", headers=bearer(token)).json()
    assert list(renewed) == ["user", "token"]
    fresh = client.get("/api/authentication/verify", headers=bearer(renewed["token"])).json()["user"]
    old = client.get("/api/authentication/verify", headers=bearer(token)).json()["user"]
    assert fresh["exp"] > old["exp"]


def test_bad_tokens_are_401(client: TestClient) -> None:
    for headers in ({}, bearer("garbage"), bearer(login(client) + "x"), {"Authorization": "Basic abc"}):
        response = client.get("/api/authentication/verify", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"


def test_a_token_dies_with_its_user(client: TestClient, es: Elasticsearch) -> None:
    token = login(client)
    es.update(index=USERS_INDEX, id=ADMIN_USER, doc={"disabled": True}, refresh=True)
    assert client.get("/api/authentication/verify", headers=bearer(token)).status_code == 401
    assert client.post(LOGIN, json={"username": ADMIN_USER, "password": ADMIN_PASSWORD}).status_code == 401


class CountingHasher:
    """Wraps the real hasher of a running app to count verifications."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.calls = 0
        real = authenticator.hasher.verify_async

        async def counting(stored_hash: str | None, password: str) -> Verification:
            self.calls += 1
            return await real(stored_hash, password)

        authenticator.hasher.verify_async = counting  # type: ignore[method-assign]


def post_from(client: TestClient, address: str, path: str, body: dict[str, str]) -> httpx.Response:
    """A request to the running app from another client address than the TestClient's own."""

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=client.app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            return await http.post(path, json=body)

    return client.portal.call(post)  # type: ignore[union-attr]  # in the app's loop


def test_failed_logins_are_throttled_then_released(
    es: Elasticsearch, es_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    settings = make_settings(
        es_url=es_url,
        state_dir=tmp_path,
        login_max_failures_per_account_client=3,
        login_failure_window_seconds=4,  # attempts count from their start: room for three slow hashes
        es_request_timeout=ES_TEST_TIMEOUT,
    )
    with TestClient(create_app(settings, clock=clock)) as client:
        hasher = CountingHasher(client.app.state.services.authenticator)  # type: ignore[attr-defined]
        for _ in range(3):
            assert (
                client.post(LOGIN, json={"username": ADMIN_USER, "password": "wrong-wrong"}).status_code
                == 401
            )
        assert hasher.calls == 3
        blocked = client.post(LOGIN, json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
        assert blocked.status_code == 429
        assert blocked.json()["error"]["code"] == "too_many_requests"
        retry_after = int(blocked.headers["retry-after"])
        assert 1 <= retry_after <= 4
        assert hasher.calls == 3  # refused before any password hashing
        right = {"username": ADMIN_USER, "password": ADMIN_PASSWORD}
        assert post_from(client, "198.51.100.7", LOGIN, right).status_code == 200  # not locked for others
        clock.advance(retry_after + 0.1)
        assert (
            client.post(LOGIN, json={"username": ADMIN_USER, "password": ADMIN_PASSWORD}).status_code == 200
        )


def test_concurrent_wrong_guesses_cannot_exceed_the_limit(
    es: Elasticsearch, es_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        es_url=es_url,
        state_dir=tmp_path,
        login_max_failures_per_account_client=3,
        es_request_timeout=ES_TEST_TIMEOUT,
    )
    with TestClient(create_app(settings)) as client:
        hasher = CountingHasher(client.app.state.services.authenticator)  # type: ignore[attr-defined]

        async def guess_together() -> list[int]:
            transport = httpx.ASGITransport(app=client.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
                guesses = [
                    http.post(LOGIN, json={"username": ADMIN_USER, "password": f"guess-{i:04d}"})
                    for i in range(12)
                ]
                return [response.status_code for response in await asyncio.gather(*guesses)]

        statuses = client.portal.call(guess_together)  # type: ignore[union-attr]  # in the app's loop
        assert sorted(statuses) == [401] * 3 + [429] * 9
        assert hasher.calls == 3  # only the allowed guesses were checked at all
        right = {"username": ADMIN_USER, "password": ADMIN_PASSWORD}
        assert post_from(client, "127.0.0.1", LOGIN, right).status_code == 429  # refused for the window
        assert client.post(LOGIN, json=right).status_code == 200  # from another client: no lock


def test_a_distributed_attack_cannot_lock_the_administrator_out(
    es: Elasticsearch, es_url: str, tmp_path: Path
) -> None:
    """Issue #20's lockout: wrong passwords from anywhere used to lock the account for everyone."""
    settings = make_settings(
        es_url=es_url,
        state_dir=tmp_path,
        login_max_failures_per_account=4,  # the account-wide limit, reached by two attackers here
        login_max_failures_per_account_client=2,
        es_request_timeout=ES_TEST_TIMEOUT,
    )
    right = {"username": ADMIN_USER, "password": ADMIN_PASSWORD}
    with TestClient(create_app(settings)) as client:
        assert login(client)  # the administrator's usual client (the TestClient's address)
        hasher = CountingHasher(client.app.state.services.authenticator)  # type: ignore[attr-defined]
        statuses = [
            post_from(
                client, attacker, LOGIN, {"username": ADMIN_USER, "password": "wrong-wrong"}
            ).status_code
            for attacker in ("203.0.113.1", "203.0.113.1", "203.0.113.1", "203.0.113.2", "203.0.113.2")
        ]
        assert statuses == [401, 401, 429, 401, 401]  # two guesses per client, then its own 429
        assert hasher.calls == 4
        wrong = {"username": ADMIN_USER, "password": "wrong-wrong"}
        third = [post_from(client, "203.0.113.3", LOGIN, wrong).status_code for _ in range(2)]
        assert third == [401, 429]  # past the account-wide limit a new client gets one guess, then waits
        assert hasher.calls == 5
        assert client.post(LOGIN, json=right).status_code == 200  # the administrator is not locked out
        # nor is one at a client it never used, with no failures of its own
        assert post_from(client, "198.51.100.9", LOGIN, right).status_code == 200


def test_a_successful_login_does_not_count_against_the_client(
    es: Elasticsearch, es_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        es_url=es_url, state_dir=tmp_path, login_max_failures_per_client=2, es_request_timeout=ES_TEST_TIMEOUT
    )
    with TestClient(create_app(settings)) as client:
        for _ in range(4):
            assert login(client)  # never a 429: these attempts were not failures


def test_old_hash_parameters_are_upgraded_on_login(client: TestClient, es: Elasticsearch) -> None:
    import argon2

    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(ADMIN_PASSWORD)
    es.update(index=USERS_INDEX, id=ADMIN_USER, doc={"password_hash": weak}, refresh=True)
    login(client)
    stored = es.get(index=USERS_INDEX, id=ADMIN_USER)["_source"]["password_hash"]
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    login(client)  # the upgraded hash still verifies


def test_non_admins_can_log_in_but_not_administer_keys(client: TestClient) -> None:
    from gateway.auth.passwords import PasswordHasher
    from gateway.auth.users import User

    state = client.app.state.services  # type: ignore[attr-defined]
    user = User(
        username="viewer@example.com",
        password_hash=PasswordHasher().hash("viewer-password"),
        display_name="Viewer",
        uid="viewer",
        gid_number="1000",
        dn="cn=viewer@example.com,ou=People,dc=zoran,dc=com",
    )
    client.portal.call(state.authenticator.users.create, user)  # type: ignore[union-attr]
    token = login(client, "viewer@example.com", "viewer-password")
    response = client.get("/api/admin/getTokens", headers=bearer(token))
    assert response.status_code == 403
    assert "Zoran Admin" in response.json()["error"]["message"]


def test_first_admin_comes_from_configuration_and_stored_hashed(
    client: TestClient, es: Elasticsearch
) -> None:
    doc = es.get(index=USERS_INDEX, id=ADMIN_USER)["_source"]
    assert doc["groups"] == ["Zoran User", "Zoran Admin"]
    assert ADMIN_PASSWORD not in str(doc)
    assert doc["password_hash"].startswith("$argon2id$")


@pytest.mark.parametrize("username", [" ", "\t\n", "\x1f\x1c ", "\x00", ".", "..", " .. "])
def test_a_blank_or_control_character_username_is_an_unknown_user(client: TestClient, username: str) -> None:
    answer = client.post(LOGIN, json={"username": username, "password": "x"})
    assert answer.status_code == 401
    assert answer.json() == {
        "error": {"code": "not_authenticated", "message": "Invalid username or password."}
    }
