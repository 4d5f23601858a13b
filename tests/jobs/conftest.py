"""What the job tests share: a real ``gateway serve`` process with the seed's data sources loaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from gateway.loading.seed import DATASOURCES_FILE, load_datasources
from tests.helpers import ADMIN_PASSWORD, ADMIN_USER, GatewayProcess, make_settings, with_es


@pytest.fixture
def gateway(es: Elasticsearch, es_url: str, tmp_path: Path) -> Iterator[GatewayProcess]:
    shared = {"GATEWAY_ADMIN_USERNAME": ADMIN_USER, "GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD}
    process = GatewayProcess(es_url, tmp_path / "gateway", shared)
    try:
        process.wait_ready()
        settings = make_settings(es_url=es_url)
        with_es(
            settings,
            lambda client: load_datasources(
                client, DATASOURCES_FILE, settings.datasource_index, settings.tenant_name
            ),
        )
        yield process
    finally:
        process.stop()
