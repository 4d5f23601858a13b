"""What a key holder writes never changes an entity index's mapping (issue 20): attributes beyond the declared
ones are kept and returned, never indexed, so no value fixes a type and no name grows the field count."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from gateway.es.templates import field_paths
from gateway.ingest.entities import ENTITY_KINDS, document_id
from tests.es.mapping_scan import undeclared_entity_fields
from tests.helpers import TEST_TENANT_ID, create_key, login

IDENTITIES = "autonomous-iam_autoid_base_identities_latest"
FIELD_LIMIT = 1000  # Elasticsearch's default index.mapping.total_fields.limit


@pytest.fixture
def key(client: TestClient) -> str:
    return create_key(client, login(client))


def ingest(client: TestClient, key: str, entity: str, action: str, items: list[dict[str, Any]]) -> Any:
    body = {"action": action, ENTITY_KINDS[entity].list_key: items}
    return client.post(
        f"/api/ingest/{entity}", json=body, headers={"X-API-KEY": key, "x-tenant-id": TEST_TENANT_ID}
    )


def mapping(es: Elasticsearch, index: str) -> dict[str, Any]:
    return dict(es.indices.get_mapping(index=index)[index]["mappings"])


def source(es: Elasticsearch, primary_key: str) -> dict[str, Any]:
    return dict(es.get(index=IDENTITIES, id=document_id(primary_key))["_source"])


def test_a_value_of_another_type_is_kept_and_fixes_nothing(
    client: TestClient, key: str, es: Elasticsearch
) -> None:
    before = mapping(es, IDENTITIES)
    first = ingest(client, key, "identities", "create", [{"usr_id": "u1", "pt_sec_probe_num": 7}])
    second = ingest(client, key, "identities", "create", [{"usr_id": "u2", "pt_sec_probe_num": "seven"}])
    third = ingest(client, key, "identities", "upsert", [{"usr_id": "u1", "pt_sec_probe_num": {"n": [7]}}])
    assert [r.status_code for r in (first, second, third)] == [200, 200, 200]
    assert source(es, "u1")["pt_sec_probe_num"] == {"n": [7]}
    assert source(es, "u2")["pt_sec_probe_num"] == "seven"
    assert mapping(es, IDENTITIES) == before


def test_no_number_of_new_names_grows_the_mapping(client: TestClient, key: str, es: Elasticsearch) -> None:
    """Far more distinct names than the field limit, in one request: all written, the mapping as declared."""
    before = mapping(es, IDENTITIES)
    items = [
        {"usr_id": f"fuzz-{n}", **{f"junk_{n}_{f}": f for f in range(900)}, "nested": {f"k{n}": {"deep": n}}}
        for n in range(3)
    ]
    response = ingest(client, key, "identities", "upsert", items)
    assert (response.status_code, response.json()) == (200, {"message": "ok"})
    assert source(es, "fuzz-2")["junk_2_899"] == 899
    assert mapping(es, IDENTITIES) == before
    assert undeclared_entity_fields(es) == {}
    assert len(list(field_paths(before))) < FIELD_LIMIT // 10  # what is declared, far from the limit


@pytest.mark.parametrize("entity", list(ENTITY_KINDS))
def test_declared_fields_stay_searchable_and_the_rest_is_returned_as_given(
    client: TestClient, key: str, es: Elasticsearch, entity: str
) -> None:
    kind = ENTITY_KINDS[entity]
    item = {**{column: f"{column}-1" for column in kind.columns}, "region": "emea", "tags": ["a", "b"]}
    assert ingest(client, key, entity, "create", [item]).status_code == 200
    index = kind.index("autonomous-iam")
    es.indices.refresh(index=index)
    for column in kind.columns:  # declared: exact match on the keyword sub-field, as the sync sweeps do
        assert es.count(index=index, query={"term": {f"{column}.keyword": f"{column}-1"}})["count"] == 1
    assert es.count(index=index, query={"term": {"metadata.entityDefinition.keyword": entity}})["count"] == 1
    assert es.count(index=index, query={"match": {"region": "emea"}})["count"] == 0  # kept, not indexed
    (hit,) = es.search(index=index)["hits"]["hits"]
    assert {k: v for k, v in hit["_source"].items() if k != "metadata"} == item
