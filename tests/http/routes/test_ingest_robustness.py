"""Ingest endpoints under hostile input and while Elasticsearch is away: always a JSON 4xx or 503, never
a 500, and nothing half-reported."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.embedded import node as embedded
from gateway.errors import Unavailable
from gateway.ingest.entities import ENTITY_KINDS
from tests.helpers import ALL_SCOPES, create_key, login, make_settings

ODD_VALUES: list[Any] = [None, True, 0, -1, 1.5, 10**30, "", " ", "x" * 2000, [], {}, [[]], {"a": {"b": {}}},
                         "\u0000", "é✓\U0001f600", "../../etc", {"$ne": 1}, ["usr_id"]]  # fmt: skip


def _random_body(rng: random.Random, list_key: str) -> Any:
    shape = rng.randrange(6)
    if shape == 0:
        return rng.choice(ODD_VALUES)
    names = ["usr_id", "app_id", "ent_id", "metadata", "_id", "", ".", "a.b", "x" * 300]
    items = [
        {rng.choice(names): rng.choice(ODD_VALUES) for _ in range(rng.randrange(4))}
        for _ in range(rng.randrange(5))
    ]
    body: dict[str, Any] = {"action": rng.choice(["create", "update", "upsert", "delete", "CREATE", None, 1])}
    body[rng.choice([list_key, list_key, "items"])] = items if shape > 1 else rng.choice(ODD_VALUES)
    if shape == 5:
        body["extra"] = rng.choice(ODD_VALUES)
    return body


@pytest.fixture
def key(client: TestClient) -> str:
    return create_key(client, login(client), scopes=ALL_SCOPES)


def test_hostile_bodies_never_cause_a_server_error(client: TestClient, key: str) -> None:
    rng = random.Random(20261126)  # noqa: S311 (reproducible test input)
    statuses: dict[int, int] = {}
    for _ in range(150):
        entity = rng.choice(list(ENTITY_KINDS))
        body = _random_body(rng, ENTITY_KINDS[entity].list_key)
        response = client.post(
            f"/api/ingest/{entity}",
            content=json.dumps(body).encode(),
            headers={"X-API-KEY": key, "content-type": "application/json"},
        )
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code in (200, 207, 400, 413), (body, response.text)
        payload = response.json()
        if response.status_code == 207:
            assert payload["failed"] == len(payload["errors"]) > 0
            assert all(e["code"] and e["reason"] for e in payload["errors"])
        elif response.status_code >= 400:
            assert payload["error"]["code"] and payload["error"]["message"]
    assert {400, 207} <= set(statuses)  # the generator reaches both the envelope and the item checks


def test_ingest_and_reads_are_503_while_elasticsearch_is_down(
    own_node: embedded.NodeConfig, tmp_path: Path
) -> None:
    embedded.start(own_node)
    settings = make_settings(es_url=own_node.url, es_request_timeout=5, state_dir=tmp_path / "state")
    body = {"action": "upsert", "identities": [{"usr_id": "u1"}]}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        key = create_key(client, login(client), scopes=ALL_SCOPES)
        headers = {"X-API-KEY": key}
        assert client.post("/api/ingest/identities", json=body, headers=headers).json() == {"message": "ok"}
        embedded.stop(own_node)
        for response in (
            client.post("/api/ingest/identities", json=body, headers=headers),
            client.get("/api/ingest/datasources", headers=headers),
            client.post("/api/ingest/mappings", json={}, headers=headers),
        ):
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] in ("elasticsearch_unavailable", "service_unavailable")
            assert response.headers["retry-after"] == str(
                Unavailable.retry_after
            )  # the whole request is worth repeating later
        embedded.start(own_node)
        assert client.post("/api/ingest/identities", json=body, headers=headers).json() == {"message": "ok"}
