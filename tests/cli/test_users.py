"""`gateway users create`: a user made from the command line can log in; bad input is refused clearly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from tests.helpers import TEST_TENANT_ID, bearer, login


def _create(es_url: str, state_dir: Path, *args: str, password: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ES_URL=es_url, TENANT_ID=TEST_TENANT_ID, GATEWAY_STATE_DIR=str(state_dir))
    return subprocess.run(
        [sys.executable, "-m", "gateway", "users", "create", *args, "--password-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


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
