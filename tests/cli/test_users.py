"""`gateway users create`: a user made from the command line can log in; bad input is refused clearly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from tests.helpers import TEST_TENANT_ID, bearer, login


def _users(es_url: str, state_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ES_URL=es_url, TENANT_ID=TEST_TENANT_ID, GATEWAY_STATE_DIR=str(state_dir))
    return subprocess.run(
        [sys.executable, "-m", "gateway", "users", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _create(es_url: str, state_dir: Path, *args: str, password: str) -> subprocess.CompletedProcess[str]:
    return _users(es_url, state_dir, "create", *args, "--password-stdin", stdin=password + "\n")


def test_created_admin_can_log_in_and_administer(client: TestClient, es_url: str, tmp_path: Path) -> None:
    result = _create(
        es_url, tmp_path, "Carol@Example.com", "--display-name", "Carol", password="carol-password"
    )
    assert result.returncode == 0, result.stderr
    assert "created carol@example.com (groups: Zoran User, Zoran Admin)" in result.stdout
    token = login(client, "carol@example.com", "carol-password")
    assert client.get("/api/admin/getTokens", headers=bearer(token)).status_code == 200


def test_non_admin_user_and_refusals(client: TestClient, es_url: str, tmp_path: Path) -> None:
    assert (
        _create(es_url, tmp_path, "dave@example.com", "--no-admin", password="dave-password").returncode == 0
    )
    token = login(client, "dave@example.com", "dave-password")
    assert client.get("/api/admin/getTokens", headers=bearer(token)).status_code == 403
    again = _create(es_url, tmp_path, "dave@example.com", password="another-password")
    assert again.returncode == 1 and "already exists" in again.stderr
    weak = _create(es_url, tmp_path, "erin@example.com", password="short")
    assert weak.returncode == 1 and "at least 8 characters" in weak.stderr
    for name in ("..", "a/b", "x y"):  # a username is a document id in Elasticsearch's URL: its grammar
        odd = _create(es_url, tmp_path, name, password="frank-password")
        assert odd.returncode == 1 and "a username is 1 to 256 bytes" in odd.stderr, odd.stderr


def _accepted(client: TestClient, token: str) -> bool:
    return client.get("/api/authentication/verify", headers=bearer(token)).status_code == 200


def _refused_login(client: TestClient, username: str, password: str) -> bool:
    body = {"username": username, "password": password}
    return client.post("/api/authentication/login", json=body).status_code == 401


def test_a_new_password_ends_the_users_sessions(client: TestClient, es_url: str, tmp_path: Path) -> None:
    assert _create(es_url, tmp_path, "carol@example.com", password="carol-password").returncode == 0
    token = login(client, "carol@example.com", "carol-password")
    changed = _users(
        es_url, tmp_path, "set-password", "Carol@Example.com", "--password-stdin", stdin="new-pw-123\n"
    )
    assert changed.returncode == 0, changed.stderr
    assert "sessions have ended" in changed.stdout
    assert not _accepted(client, token)
    assert _refused_login(client, "carol@example.com", "carol-password")
    assert _accepted(client, login(client, "carol@example.com", "new-pw-123"))


def test_disabling_ends_the_sessions_and_enabling_brings_none_back(
    client: TestClient, es_url: str, tmp_path: Path
) -> None:
    assert _create(es_url, tmp_path, "dave@example.com", password="dave-password").returncode == 0
    token = login(client, "dave@example.com", "dave-password")
    assert _users(es_url, tmp_path, "disable", "dave@example.com").returncode == 0
    assert not _accepted(client, token)
    assert _refused_login(client, "dave@example.com", "dave-password")
    assert _users(es_url, tmp_path, "enable", "dave@example.com").returncode == 0
    assert not _accepted(client, token)
    assert _accepted(client, login(client, "dave@example.com", "dave-password"))


def test_deleting_ends_the_sessions_even_if_the_name_is_taken_again(
    client: TestClient, es_url: str, tmp_path: Path
) -> None:
    assert _create(es_url, tmp_path, "erin@example.com", password="erin-password").returncode == 0
    token = login(client, "erin@example.com", "erin-password")
    asked = _users(es_url, tmp_path, "delete", "erin@example.com", stdin="n\n")
    assert asked.returncode == 1 and _accepted(client, token)  # answered no: nothing deleted
    deleted = _users(es_url, tmp_path, "delete", "erin@example.com", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert not _accepted(client, token)
    assert _refused_login(client, "erin@example.com", "erin-password")
    assert _create(es_url, tmp_path, "erin@example.com", password="erin-password").returncode == 0
    assert not _accepted(client, token)  # a new user of that name inherits no session


def test_changes_to_unknown_users_and_weak_passwords_are_refused(
    es_url: str, tmp_path: Path, client: TestClient
) -> None:
    for args in (
        ("disable", "nobody@example.com"),
        ("enable", ".."),
        ("delete", "nobody@example.com", "--yes"),
        ("set-password", "nobody@example.com"),  # refused before a password is asked for
    ):
        result = _users(es_url, tmp_path, *args)
        assert result.returncode == 1 and "no user" in result.stderr, result.stderr
    weak = _users(es_url, tmp_path, "set-password", "admin@example.com", "--password-stdin", stdin="short\n")
    assert weak.returncode == 1 and "at least 8 characters" in weak.stderr
