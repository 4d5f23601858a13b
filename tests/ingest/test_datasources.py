"""A data source built from its document: good documents, bad ones, and the round trip with the seed."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import NotFound
from gateway.ingest.datasources import DataSource, EntityType, InvalidDataSource, first_hit
from gateway.ingest.writer import Action
from gateway.loading.loader import RowError
from gateway.loading.seed import DATASOURCES_FILE, datasource_document, datasource_from_row, read_datasources
from tests.helpers import showcase_datasource

SHOWCASE_ID = "2d7a6a76-469c-4035-b312-fb1daf104e98"
PREFIX = f"/autoid/system/datasources/{SHOWCASE_ID}"


def test_the_spec_document_becomes_a_data_source() -> None:
    source = DataSource.from_document(showcase_datasource())
    assert (source.id, source.name, source.sync_type, source.icon) == (
        SHOWCASE_ID,
        "Showcase-CSV-DS",
        "full",
        "apps",
    )
    assert source.active and source.full and source.action is Action.UPSERT
    assert source.connection_types == {"csv"}
    assert source.entity_names == {"applications", "assignments", "entitlements", "identities"}
    identities = source.entity_type("identities")
    assert identities == EntityType(
        f"{PREFIX}/identities", {"uri": {"file": "file:/data/input/identities.csv"}}
    )
    assert source.entity_type("roles") is None


def test_a_minimal_document_reads_as_the_readers_always_took_it() -> None:
    """No sync type: rows are written, never a full sync; active only when isActive is true."""
    source = DataSource.from_document({"datasource_id": "ds-1"})
    assert source == DataSource("ds-1")
    assert source.action is Action.UPSERT and not source.full and not source.active
    assert source.entity_types == () and source.connection_types == frozenset()
    assert source.label == "ds-1"  # no name: messages name it by its id
    empties: tuple[object, ...] = (None, {}, [], "")
    for empty in empties:  # nothing declared, as before
        assert DataSource.from_document({"datasource_id": "ds-1", "entityTypes": empty}).entity_types == ()


@pytest.mark.parametrize(
    ("sync_type", "action", "full"),
    [
        ("full", Action.UPSERT, True),
        ("incremental", Action.UPSERT, False),
        ("enrichment", Action.UPSERT, False),
        ("delete", Action.DELETE, False),
    ],
)
def test_the_sync_type_chooses_the_action(sync_type: str, action: Action, full: bool) -> None:
    source = DataSource("ds-1", sync_type=sync_type)
    assert (source.action, source.full) == (action, full)


@pytest.mark.parametrize("value", [False, "true", 1, None])
def test_only_true_makes_a_data_source_active(value: object) -> None:
    assert not DataSource.from_document({"datasource_id": "ds-1", "isActive": value}).active


def test_of_two_paths_naming_one_entity_the_later_one_is_read() -> None:
    document = {
        "datasource_id": "ds-1",
        "entityTypes": {"/a/identities": {"query": "SELECT 1"}, "/b/identities": {"query": "SELECT 2"}},
    }
    source = DataSource.from_document(document)
    assert source.entity_type("identities") == EntityType("/b/identities", {"query": "SELECT 2"})
    assert source.entity_names == {"identities"}


def test_a_definition_is_kept_as_written_for_its_loader_to_judge() -> None:
    """A file entry whose uri is not an object is that file's error when it is read, not the document's."""
    document = {"datasource_id": "ds-1", "entityTypes": {"/x/applications": {"uri": "file:/a.csv"}}}
    (entity,) = DataSource.from_document(document).entity_types
    assert entity.definition == {"uri": "file:/a.csv"} and entity.name == "applications"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (["not", "an", "object"], "a data-source document must be a JSON object"),
        ({"name": "x"}, "datasource_id must be a non-empty string"),
        ({"datasource_id": ""}, "datasource_id must be a non-empty string"),
        ({"datasource_id": 7}, "datasource_id must be a non-empty string"),
        ({"datasource_id": "d", "name": ["x"]}, "name must be a string"),
        ({"datasource_id": "d", "sync_type": 1}, "sync_type must be a string"),
        ({"datasource_id": "d", "entityTypes": ["/x/identities"]}, "entityTypes must be an object"),
        (
            {"datasource_id": "d", "entityTypes": {"/x/identities": None}},
            "entityTypes: /x/identities must map",
        ),
        ({"datasource_id": "d", "connectionSettings": "csv"}, "connectionSettings must be an object"),
        ({"datasource_id": "d", "connectionSettings": ["csv"]}, "connectionSettings must be an object"),
    ],
)
def test_bad_documents_are_refused_with_what_is_wrong(document: Any, message: str) -> None:
    with pytest.raises(InvalidDataSource, match=f"^{message}"):
        DataSource.from_document(document)


def test_a_lookup_finds_the_first_hit_or_says_there_is_none() -> None:
    assert first_hit(SHOWCASE_ID, [{"_source": showcase_datasource()}]).name == "Showcase-CSV-DS"
    with pytest.raises(NotFound, match="no data source with id ds-9"):
        first_hit("ds-9", [])
    with pytest.raises(InvalidDataSource, match="connectionSettings"):
        first_hit("d", [{"_source": {"datasource_id": "d", "connectionSettings": 1}}])


def test_every_seed_row_round_trips_through_its_document() -> None:
    documents = [item for item in read_datasources(DATASOURCES_FILE, "t") if not isinstance(item, RowError)]
    assert len(documents) == 5
    for _, document in documents:
        source = DataSource.from_document(document)
        assert source.to_document() == {k: v for k, v in document.items() if k != "metadata"}
        assert list(source.to_document()) == [k for k in document if k != "metadata"]  # same key order
        assert DataSource.from_document(source.to_document()) == source


def test_the_seed_row_and_its_document_are_the_same_data_source() -> None:
    row = {
        "datasource_id": "ds-1",
        "name": " HR ",
        "sync_type": "delete",
        "icon": "people",
        "is_active": "TRUE",
        "connection_type": "jdbc",
        "applications": "",
        "assignments": "",
        "entitlements": "",
        "identities": "SELECT usr_id FROM people",
        "created": "2026-01-01T00:00:00Z",
        "connection_settings": '{"url": "sqlite:///hr.sqlite"}',
    }
    source = datasource_from_row(row)
    assert source == DataSource(
        "ds-1",
        name="HR",
        sync_type="delete",
        icon="people",
        active=True,
        entity_types=(
            EntityType("/autoid/system/datasources/ds-1/identities", {"query": "SELECT usr_id FROM people"}),
        ),
        connection_settings={"jdbc": {"url": "sqlite:///hr.sqlite"}},
    )
    document = datasource_document(row, "t")
    assert DataSource.from_document(document) == source
    assert document["metadata"]["primaryKey"] == "ds-1" and document["metadata"]["tenantId"] == "t"
