"""Searches while Elasticsearch is away: a prompt 503, then service again when it returns."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.embedded import node as embedded
from tests.helpers import create_key, login, make_settings, search


def test_search_is_503_while_elasticsearch_is_down(own_node: embedded.NodeConfig, tmp_path: Path) -> None:
    embedded.start(own_node)
    settings = make_settings(es_url=own_node.url, es_request_timeout=5, state_dir=tmp_path / "state")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        key = create_key(client, login(client))
        assert search(client, {"authorization": key}).status_code == 200
        embedded.stop(own_node)
        for _ in range(3):  # cached key or not, the answer is a clean 503
            response = search(client, {"authorization": key})
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "elasticsearch_unavailable"
        embedded.start(own_node)
        assert search(client, {"authorization": key}).status_code == 200
