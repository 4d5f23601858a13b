"""docker-compose.yml: Elasticsearch at the pinned version, the gateway wired to it by health."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gateway.es import launcher

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


def test_elasticsearch_image_is_the_pinned_version() -> None:
    image = _compose()["services"]["elasticsearch"]["image"]
    assert image == f"docker.elastic.co/elasticsearch/elasticsearch:{launcher.pinned_version()}"


def test_gateway_waits_for_a_healthy_elasticsearch() -> None:
    services = _compose()["services"]
    assert "healthcheck" in services["elasticsearch"]
    assert services["gateway"]["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    assert services["gateway"]["environment"]["ES_URL"] == "http://elasticsearch:9200"
    assert (COMPOSE.parent / services["gateway"]["build"] / "Dockerfile").is_file()


def test_elasticsearch_data_survives_restarts() -> None:
    document = _compose()
    volume = document["services"]["elasticsearch"]["volumes"][0].split(":")[0]
    assert volume in document["volumes"]
