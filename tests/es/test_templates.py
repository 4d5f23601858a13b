"""Index templates: what lands in Elasticsearch, and that applying is idempotent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from gateway.es.templates import TemplateFileError, apply_templates, load_templates
from gateway.settings import Settings
from tests.helpers import with_es

DATASOURCES = "autonomous-iam_common_datasources_latest"
BASE_INDICES = [
    f"autonomous-iam_autoid_base_{e}_latest"
    for e in ("applications", "entitlements", "identities", "assignments")
]


def _apply(settings: Settings, directory: Path) -> dict[str, str]:
    return with_es(settings, lambda es: apply_templates(es, load_templates(directory)))


def test_app_start_creates_indices_with_three_shards(client: TestClient, es: Elasticsearch) -> None:
    for index in [DATASOURCES, "autonomous-iam_common_mappings_latest", *BASE_INDICES]:
        settings = es.indices.get_settings(index=index)[index]["settings"]["index"]
        assert settings["number_of_shards"] == "3", index
        assert settings["auto_expand_replicas"] == "0-1", index
    health = es.cluster.health(index=DATASOURCES)
    assert health["status"] == "green"  # no unassignable replica on a single node


def test_strings_are_text_with_keyword_and_sortable(client: TestClient, es: Elasticsearch) -> None:
    es.index(index=DATASOURCES, id="b", document={"datasource_id": "bbb", "isActive": True}, refresh=True)
    es.index(index=DATASOURCES, id="a", document={"datasource_id": "aaa", "isActive": False}, refresh=True)
    mapping = es.indices.get_mapping(index=DATASOURCES)[DATASOURCES]["mappings"]["properties"]
    assert mapping["datasource_id"]["type"] == "text"
    assert mapping["datasource_id"]["fields"]["keyword"]["type"] == "keyword"
    assert mapping["isActive"]["type"] == "boolean"
    hits = es.search(index=DATASOURCES, sort=[{"datasource_id.keyword": {"order": "desc"}}])["hits"]["hits"]
    assert [h["sort"] for h in hits] == [["bbb"], ["aaa"]]


def test_entity_type_keys_do_not_grow_the_mapping(client: TestClient, es: Elasticsearch) -> None:
    for n in range(5):
        doc = {
            "entityTypes": {f"/autoid/system/datasources/ds{n}/identities": {"uri": {"file": "file:/x.csv"}}}
        }
        es.index(index=DATASOURCES, document=doc, refresh=True)
    mapping = es.indices.get_mapping(index=DATASOURCES)[DATASOURCES]["mappings"]["properties"]
    assert mapping["entityTypes"] == {"type": "flattened"}


def test_applying_twice_changes_nothing_and_keeps_data(settings: Settings, es: Elasticsearch) -> None:
    first = _apply(settings, settings.templates_dir)
    assert first[DATASOURCES] == "index created"
    es.index(index=DATASOURCES, id="keep", document={"name": "kept"}, refresh=True)
    second = _apply(settings, settings.templates_dir)
    assert set(second.values()) == {"unchanged"}
    assert es.get(index=DATASOURCES, id="keep")["_source"] == {"name": "kept"}


def test_a_bumped_version_is_applied(settings: Settings, es: Elasticsearch, tmp_path: Path) -> None:
    directory = tmp_path / "templates"
    shutil.copytree(settings.templates_dir, directory)
    _apply(settings, directory)
    path = directory / "index" / "autonomous-iam_common_mappings.json"
    body = json.loads(path.read_text())
    body["version"] += 1
    body["_meta"] = {"description": "changed"}
    path.write_text(json.dumps(body))
    report = _apply(settings, directory)
    assert report["autonomous-iam_common_mappings"] == "updated"
    stored = es.indices.get_index_template(name="autonomous-iam_common_mappings")["index_templates"][0]
    assert stored["index_template"]["_meta"] == {"description": "changed"}
    _apply(settings, settings.templates_dir)  # restore the shipped version for the following tests


def test_template_without_version_is_refused(tmp_path: Path) -> None:
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "x.json").write_text('{"index_patterns": ["x"]}')
    with pytest.raises(TemplateFileError, match="version"):
        load_templates(tmp_path)


def test_broken_template_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "component").mkdir()
    (tmp_path / "component" / "broken.json").write_text("{not json")
    with pytest.raises(TemplateFileError, match=r"broken\.json"):
        load_templates(tmp_path)
