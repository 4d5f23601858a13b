"""Index templates: what lands in Elasticsearch, and that applying is idempotent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from gateway.es.templates import (
    TemplateFileError,
    apply_templates,
    composed_mapping,
    load_templates,
    template_for,
    undeclared_fields,
)
from gateway.ingest.entities import ENTITY_KINDS
from gateway.settings import Settings
from tests.es.mapping_scan import fail_on_undeclared_fields, shipped_templates, undeclared_entity_fields
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


# --- entity mappings: declared fields only (issue 20) ----------------------------------------------------

IDENTITIES = "autonomous-iam_autoid_base_identities_latest"
OLD_IDENTITIES_TEMPLATE = {  # as shipped before: every new field mapped dynamically
    "version": 1,
    "index_patterns": [IDENTITIES],
    "composed_of": ["autonomous-iam_strings", "autonomous-iam_entity-settings"],
    "priority": 100,
}


def test_entity_templates_declare_the_columns_and_the_metadata_and_nothing_else() -> None:
    templates = shipped_templates()
    for kind in ENTITY_KINDS.values():
        template = template_for(templates, kind.index("autonomous-iam"))
        assert template is not None
        mapping = composed_mapping(templates, template)
        assert mapping["dynamic"] is False
        assert set(mapping["properties"]) == {*kind.columns, "metadata"}
        metadata = set(mapping["properties"]["metadata"]["properties"])
        assert {"datasourceId", "syncRun", "createdInRun", "primaryKey", "tenantId", "created"} <= metadata


def test_undeclared_fields_are_what_the_templates_do_not_map() -> None:
    templates = shipped_templates()
    template = template_for(templates, IDENTITIES)
    assert template is not None
    declared = composed_mapping(templates, template)
    assert undeclared_fields(templates, IDENTITIES, declared) == []
    grown = {"properties": {**declared["properties"], "junk": {"type": "long"}}}
    assert undeclared_fields(templates, IDENTITIES, grown) == ["junk"]
    assert undeclared_fields(templates, "x_autoid_base_other", {"properties": {"a": {"type": "long"}}}) == [
        "a"
    ]


def test_the_session_check_fails_on_an_index_a_caller_grew(es: Elasticsearch) -> None:
    """The check the suite runs after every test (tests/conftest.py), on a real index without a template."""
    polluted = "autonomous-iam_autoid_base_probe_latest"
    es.index(index=polluted, document={"pt_sec_probe_num": 1, "a": {"b": "c"}}, refresh=True)
    try:
        assert undeclared_entity_fields(es) == {polluted: ["a", "a.b", "a.b.keyword", "pt_sec_probe_num"]}
        with pytest.raises(pytest.fail.Exception, match="pt_sec_probe_num"):
            fail_on_undeclared_fields(es)
    finally:
        es.indices.delete(index=polluted)
    fail_on_undeclared_fields(es)


def _install_old_identities_template(settings: Settings, tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(settings.templates_dir, old)
    (old / "index" / "autonomous-iam_autoid_base_identities.json").write_text(
        json.dumps(OLD_IDENTITIES_TEMPLATE)
    )
    _apply(settings, old)


def test_an_index_created_under_the_old_template_stops_growing(
    settings: Settings, es: Elasticsearch, tmp_path: Path
) -> None:
    _install_old_identities_template(settings, tmp_path)
    es.index(index=IDENTITIES, id="u1", document={"usr_id": "u1", "junk_1": 5}, refresh=True)
    try:
        report = _apply(settings, settings.templates_dir)
        assert report[IDENTITIES] == "mapping updated"
        es.index(index=IDENTITIES, id="u2", document={"usr_id": "u2", "junk_2": {"any": "x"}})
        mapping = es.indices.get_mapping(index=IDENTITIES)[IDENTITIES]["mappings"]
        assert mapping["dynamic"] == "false"
        assert "junk_2" not in mapping["properties"]  # what came before stays (a reindex removes it)
        assert mapping["properties"]["usr_name"]["fields"]["keyword"]["type"] == "keyword"
        # long ids are found again: the keyword sub-fields of the old mapping ignored what passed 256
        assert mapping["properties"]["usr_id"]["fields"]["keyword"]["ignore_above"] == 8191
        assert IDENTITIES not in _apply(settings, settings.templates_dir)  # in line now: left alone
    finally:
        es.indices.delete(index=IDENTITIES)


def test_a_field_typed_otherwise_before_is_reported_and_the_index_still_stops_growing(
    settings: Settings, es: Elasticsearch, tmp_path: Path
) -> None:
    _install_old_identities_template(settings, tmp_path)
    es.index(index=IDENTITIES, id="u1", document={"usr_id": "u1", "usr_name": 42}, refresh=True)
    try:
        report = _apply(settings, settings.templates_dir)
        assert report[IDENTITIES].startswith("mapping updated (dynamic False only; reindex to fix:")
        assert "usr_name" in report[IDENTITIES]
        mapping = es.indices.get_mapping(index=IDENTITIES)[IDENTITIES]["mappings"]
        assert mapping["dynamic"] == "false" and mapping["properties"]["usr_name"]["type"] == "long"
    finally:
        es.indices.delete(index=IDENTITIES)
