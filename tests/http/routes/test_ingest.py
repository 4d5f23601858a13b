"""POST /api/ingest/{applications,entitlements,identities,assignments}: every action and failure mode."""

from __future__ import annotations

import json
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.ingest.entities import ENTITY_KINDS, FIELD_NAME_RULE, document_id
from gateway.settings import Settings
from tests.helpers import ALL_SCOPES, OTHER_TENANT_ID, TEST_TENANT_ID, create_key, login

IDENTITIES = "autonomous-iam_autoid_base_identities_latest"
REFUSED_NAME = f"is refused: {FIELD_NAME_RULE}"
ASSIGNMENTS = "autonomous-iam_autoid_base_assignments_latest"

SAMPLES: dict[str, dict[str, str]] = {
    "applications": {"app_id": "app-1", "app_name": "Payroll", "app_owner_id": "u1"},
    "entitlements": {"ent_id": "ent-1", "ent_name": "Payroll Admin", "ent_owner_id": "u1", "app_id": "app-1"},
    "identities": {"usr_id": "u1", "usr_name": "Ada Lovelace", "usr_manager_id": ""},
    "assignments": {"usr_id": "u1", "ent_id": "ent-1"},
}


@pytest.fixture
def key(client: TestClient) -> str:
    return create_key(client, login(client), scopes=ALL_SCOPES)


def ingest(client: TestClient, key: str, entity: str, action: str, items: Any, **extra: Any) -> Any:
    list_key = ENTITY_KINDS[entity].list_key
    return client.post(
        f"/api/ingest/{entity}",
        json={"action": action, list_key: items, **extra},
        headers={"X-API-KEY": key, "x-tenant-id": TEST_TENANT_ID},
    )


def stored(es: Elasticsearch, index: str, primary_key: str) -> dict[str, Any] | None:
    es.indices.refresh(index=index)
    found = es.options(ignore_status=404).get(index=index, id=document_id(primary_key))
    return found["_source"] if found.get("found") else None


@pytest.mark.parametrize("entity", list(SAMPLES))
def test_create_stores_the_item_with_the_originals_id(
    client: TestClient, key: str, es: Elasticsearch, entity: str
) -> None:
    item = {**SAMPLES[entity], "region": "emea"}  # extra attributes are kept
    response = ingest(client, key, entity, "create", [item])
    assert response.status_code == 200 and response.json() == {"message": "ok"}
    primary = "u1:ent-1" if entity == "assignments" else next(iter(SAMPLES[entity].values()))
    source = stored(es, f"autonomous-iam_autoid_base_{entity}_latest", primary)
    assert source is not None
    assert {k: v for k, v in source.items() if k != "metadata"} == item
    meta = source["metadata"]
    assert meta["primaryKey"] == primary and meta["entityType"] == f"/autoid/base/{entity}"
    assert meta["branch"] == "actual" and meta["tenantId"] == "autonomous-iam"
    assert meta["created"] == meta["updated"] and meta["created"].endswith("Z")


def test_create_reports_existing_items_as_conflicts_and_writes_the_rest(
    client: TestClient, key: str, es: Elasticsearch
) -> None:
    ingest(client, key, "identities", "create", [SAMPLES["identities"]])
    new = {"usr_id": "u2", "usr_name": "Grace Hopper", "usr_manager_id": "u1"}
    changed = {**SAMPLES["identities"], "usr_name": "Changed"}
    response = ingest(client, key, "identities", "create", [changed, new])
    assert response.status_code == 207
    body = response.json()
    assert body["succeeded"] == 1 and body["failed"] == 1
    assert body["errors"] == [
        {
            "item": 0,
            "id": {"usr_id": "u1"},
            "status": 409,
            "code": "conflict",
            "reason": "the entity already exists",
        }
    ]
    assert stored(es, IDENTITIES, "u1")["usr_name"] == "Ada Lovelace"  # type: ignore[index]
    assert stored(es, IDENTITIES, "u2") is not None


def test_update_merges_into_existing_and_reports_missing(
    client: TestClient, key: str, es: Elasticsearch
) -> None:
    ingest(client, key, "identities", "create", [{**SAMPLES["identities"], "city": "London"}])
    created = stored(es, IDENTITIES, "u1")["metadata"]["created"]  # type: ignore[index]
    response = ingest(
        client, key, "identities", "update", [{"usr_id": "u1", "usr_name": "Ada King"}, {"usr_id": "ghost"}]
    )
    assert response.status_code == 207
    assert response.json()["errors"] == [
        {"item": 1, "id": {"usr_id": "ghost"}, "status": 404, "code": "not_found", "reason": "no such entity"}
    ]
    source = stored(es, IDENTITIES, "u1")
    assert source is not None
    assert source["usr_name"] == "Ada King" and source["city"] == "London"  # merged, not replaced
    assert source["metadata"]["created"] == created and source["metadata"]["updated"] >= created
    assert stored(es, IDENTITIES, "ghost") is None


def test_upsert_creates_then_merges_keeping_created(client: TestClient, key: str, es: Elasticsearch) -> None:
    first = ingest(client, key, "identities", "upsert", [{**SAMPLES["identities"], "city": "London"}])
    assert first.status_code == 200
    created = stored(es, IDENTITIES, "u1")["metadata"]["created"]  # type: ignore[index]
    second = ingest(client, key, "identities", "upsert", [{"usr_id": "u1", "usr_name": "Ada King"}])
    assert second.json() == {"message": "ok"}
    source = stored(es, IDENTITIES, "u1")
    assert source is not None
    assert (source["usr_name"], source["city"]) == ("Ada King", "London")
    assert source["metadata"]["created"] == created and source["metadata"]["primaryKey"] == "u1"


def test_delete_removes_and_reports_missing(client: TestClient, key: str, es: Elasticsearch) -> None:
    ingest(client, key, "assignments", "create", [SAMPLES["assignments"]])
    response = ingest(
        client, key, "assignments", "delete", [SAMPLES["assignments"], {"usr_id": "u9", "ent_id": "e9"}]
    )
    assert response.status_code == 207
    errors = response.json()["errors"]
    assert [(e["item"], e["code"], e["id"]) for e in errors] == [
        (1, "not_found", {"usr_id": "u9", "ent_id": "e9"})
    ]
    assert stored(es, ASSIGNMENTS, "u1:ent-1") is None


def test_composite_keys_never_collide(client: TestClient, key: str, es: Elasticsearch) -> None:
    pairs = [{"usr_id": "a:b", "ent_id": "c"}, {"usr_id": "a", "ent_id": "b:c"}]
    assert ingest(client, key, "assignments", "create", pairs).json() == {"message": "ok"}
    es.indices.refresh(index=ASSIGNMENTS)
    assert es.count(index=ASSIGNMENTS)["count"] == 2


def test_items_are_counted_in_the_metrics_by_outcome(client: TestClient, key: str) -> None:
    ingest(
        client, key, "identities", "create", [SAMPLES["identities"], SAMPLES["identities"], {"usr_name": "x"}]
    )
    metrics = client.get("/metrics").text
    for outcome, count in (("written", 1), ("conflict", 1), ("invalid_item", 1)):
        line = (
            f'gateway_ingest_items_total{{action="create",entity="identities",outcome="{outcome}"}} {count}.0'
        )
        assert line in metrics


def test_same_item_twice_in_one_batch_is_applied_in_order(
    client: TestClient, key: str, es: Elasticsearch
) -> None:
    response = ingest(client, key, "identities", "create", [SAMPLES["identities"], SAMPLES["identities"]])
    assert response.status_code == 207
    assert [(e["item"], e["code"]) for e in response.json()["errors"]] == [(1, "conflict")]


def test_an_upsert_that_changes_nothing_is_ok(client: TestClient, key: str, es: Elasticsearch) -> None:
    """The same row twice in one batch: the second update is Elasticsearch's no-op (no copy writes)."""
    item = SAMPLES["identities"]
    response = ingest(client, key, "identities", "upsert", [item, item])
    assert (response.status_code, response.json()) == (200, {"message": "ok"})


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"usr_name": "no id"}, "usr_id is required"),
        ({"usr_id": 42}, "usr_id must be a string"),
        ({"usr_id": "   "}, "usr_id must not be blank"),
        ({"usr_id": "x" * 1025}, "usr_id is longer than 1024 characters"),
        ("u1", "each identities item must be a JSON object"),
        ({"usr_id": "u1", "metadata": {"created": "forged"}}, "metadata is reserved for the gateway"),
        ({"usr_id": "u1", "metadata.tenantId": "other"}, f"a field name at the top level {REFUSED_NAME}"),
        ({"usr_id": "u1", "_routing": "x"}, f"a field name at the top level {REFUSED_NAME}"),
        ({"usr_id": "u1", "hr": {"org": {"cost.center": "x"}}}, f"a field name under hr.org {REFUSED_NAME}"),
    ],
)
def test_invalid_items_are_reported_and_valid_ones_still_written(
    client: TestClient, key: str, es: Elasticsearch, item: Any, message: str
) -> None:
    good = {"usr_id": "good", "usr_name": "Valid"}
    response = ingest(client, key, "identities", "upsert", [good, item])
    assert response.status_code == 207
    assert response.json()["errors"] == [
        {"item": 1, "status": 400, "code": "invalid_item", "reason": message}
    ]
    assert stored(es, IDENTITIES, "good") is not None


# Issue 20's report: dotted names reach the gateway's metadata block (Elasticsearch reads dots as paths).
FORGED = {
    "metadata.datasourceId": "another-data-source",
    "metadata.syncRun": "forged",
    "metadata.primaryKey": "AAA-forged",
    "metadata.tenantId": "other-tenant",
}


@pytest.mark.parametrize("action", ["create", "upsert", "update"])
def test_reserved_fields_cannot_be_set_through_dotted_names(
    client: TestClient, key: str, es: Elasticsearch, action: str
) -> None:
    assert (
        ingest(client, key, "identities", "create", [{"usr_id": "u1", "usr_name": "Ada"}]).status_code == 200
    )
    before = stored(es, IDENTITIES, "u1")
    attack = [{"usr_id": "x", **FORGED}, {"usr_id": "u1", "usr_name": "Eve", **FORGED}]
    response = ingest(client, key, "identities", action, attack)
    assert response.status_code == 207
    assert [(e["item"], e["code"]) for e in response.json()["errors"]] == [
        (0, "invalid_item"),
        (1, "invalid_item"),
    ]
    assert stored(es, IDENTITIES, "u1") == before  # neither the attributes nor the metadata changed
    assert stored(es, IDENTITIES, "x") is None
    forged = es.count(index=IDENTITIES, query={"term": {"metadata.tenantId.keyword": "other-tenant"}})
    assert forged["count"] == 0


def test_items_elasticsearch_refuses_are_reported_with_its_reason(
    client: TestClient, key: str, es: Elasticsearch
) -> None:
    # usr_name is a declared text field: an object cannot be indexed there
    response = ingest(
        client, key, "identities", "create", [{"usr_id": "u2", "usr_name": {"nested": "object"}}]
    )
    assert response.status_code == 207
    (error,) = response.json()["errors"]
    assert error["status"] == 400 and error["code"] == "rejected" and "usr_name" in error["reason"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "the request body is not valid JSON"),
        (b"[]", 'the body must be a JSON object {"action", "identities"}'),
        (
            b'{"action": "merge", "identities": [{"usr_id": "u1"}]}',
            "action must be one of create, update, upsert, delete",
        ),
        (b'{"identities": [{"usr_id": "u1"}]}', "action must be one of create, update, upsert, delete"),
        (b'{"action": "create"}', "identities must be an array"),
        (b'{"action": "create", "identities": {"usr_id": "u1"}}', "identities must be an array"),
        (b'{"action": "create", "identities": []}', "identities must contain at least one item"),
        (b'{"action": "create", "apps": [{"app_id": "a"}]}', "unknown fields: apps"),
        (b'{"action": "create", "identities": [{"usr_id": "u"}], "dryRun": true}', "unknown fields: dryRun"),
        (
            b'{"action": null, "identities": [{"usr_id": "u1"}]}',
            "action must be one of create, update, upsert, delete",
        ),
    ],
)
def test_malformed_requests_are_400_and_write_nothing(
    client: TestClient, key: str, es: Elasticsearch, raw: bytes, message: str
) -> None:
    response = client.post("/api/ingest/identities", content=raw, headers={"X-API-KEY": key})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == message
    assert es.count(index=IDENTITIES)["count"] == 0


def test_batch_limits_are_413(settings: Settings, es: Elasticsearch) -> None:
    limited = settings.model_copy(update={"ingest_max_items": 3, "ingest_max_body_bytes": 2048})
    with TestClient(create_app(limited)) as client:
        key = create_key(client, login(client))
        too_many = ingest(client, key, "identities", "create", [{"usr_id": f"u{i}"} for i in range(4)])
        assert too_many.status_code == 413
        assert too_many.json()["error"]["message"] == "at most 3 identities per request; split the batch"
        too_big = ingest(client, key, "identities", "create", [{"usr_id": "u1", "bio": "x" * 4096}])
        assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "payload_too_large"
        chunked = client.post(
            "/api/ingest/identities",
            content=iter(
                [b'{"action": "create", "identities": [{"usr_id": "u1", "bio": "', b"x" * 4096, b'"}]}']
            ),
            headers={"X-API-KEY": key},
        )
        assert chunked.status_code == 413
        assert (
            ingest(client, key, "identities", "create", [{"usr_id": f"u{i}"} for i in range(3)]).status_code
            == 200
        )
    es.indices.refresh(index=IDENTITIES)
    assert es.count(index=IDENTITIES)["count"] == 3


def test_a_body_of_tiny_values_is_refused_before_it_is_decoded(settings: Settings, es: Elasticsearch) -> None:
    """[{},{},...] costs ~35 times its size once decoded: more values than 100 per allowed item is a 413."""
    limited = settings.model_copy(update={"ingest_max_items": 3})
    with TestClient(create_app(limited)) as client:
        key = create_key(client, login(client))
        tiny = b'{"action": "create", "identities": [' + b"{}," * 200 + b'{"usr_id": "u1"}]}'
        response = client.post("/api/ingest/identities", content=tiny, headers={"X-API-KEY": key})
        assert response.status_code == 413
        assert response.json()["error"] == {
            "code": "payload_too_large",
            "message": "the request body holds too many JSON values (more than 300 commas, colons and "
            "opening brackets); split it",
        }
        rich = [{"usr_id": f"u{n}", **{f"attr_{a}": "x, y" for a in range(20)}} for n in range(3)]
        assert ingest(client, key, "identities", "create", rich).status_code == 200
    es.indices.refresh(index=IDENTITIES)
    assert es.count(index=IDENTITIES)["count"] == 3


def test_keys_and_tenants_are_checked(client: TestClient, key: str, es: Elasticsearch) -> None:
    body = {"action": "create", "identities": [SAMPLES["identities"]]}
    assert client.post("/api/ingest/identities", json=body).status_code == 401
    bad_key = client.post("/api/ingest/identities", json=body, headers={"X-API-KEY": "not-a-key"})
    assert bad_key.status_code == 401
    wrong_tenant = client.post(
        "/api/ingest/identities", json=body, headers={"X-API-KEY": key, "x-tenant-id": OTHER_TENANT_ID}
    )
    assert wrong_tenant.status_code == 401
    assert es.count(index=IDENTITIES)["count"] == 0
    raw_authorization = client.post("/api/ingest/identities", json=body, headers={"authorization": key})
    assert raw_authorization.json() == {"message": "ok"}


def test_a_large_batch_is_written_in_full(client: TestClient, key: str, es: Elasticsearch) -> None:
    items = [{"usr_id": f"u{i:05d}", "usr_name": f"User {i}", "note": "é✓" * 20} for i in range(10_000)]
    response = ingest(client, key, "identities", "upsert", items)
    assert response.status_code == 200, response.text[:500]
    es.indices.refresh(index=IDENTITIES)
    assert es.count(index=IDENTITIES)["count"] == 10_000


def test_items_without_enough_active_shard_copies_are_503_never_ok(
    settings: Settings, es: Elasticsearch
) -> None:
    # The node is alone and the templates give each shard one copy there: a second never becomes active.
    strict = settings.model_copy(update={"ingest_wait_for_active_shards": 2, "es_request_timeout": 8.0})
    items = [{"usr_id": f"u{i}", "usr_name": f"User {i}"} for i in range(3)]
    with TestClient(create_app(strict)) as client:
        key = create_key(client, login(client))
        for action in ("upsert", "create"):
            response = ingest(client, key, "identities", action, items)
            # A 207 with an answer per item: Elasticsearch gave up waiting for the copies (after the shard
            # timeout, half the request timeout) and answered, before the client's own timeout (8 s) would
            # have turned the whole request into a 503/504.
            assert response.status_code == 207, response.text
            body = response.json()
            assert body["succeeded"] == 0 and body["failed"] == 3
            assert [(e["item"], e["status"], e["code"]) for e in body["errors"]] == [
                (i, 503, "unavailable") for i in range(3)
            ]
            assert all(e["reason"].endswith("; retry") for e in body["errors"])
    es.indices.refresh(index=IDENTITIES)
    assert es.count(index=IDENTITIES)["count"] == 0


def test_entity_indices_keep_the_translog_durability_the_promise_rests_on(
    client: TestClient, key: str, es: Elasticsearch
) -> None:
    for entity, sample in SAMPLES.items():
        assert ingest(client, key, entity, "upsert", [sample]).json() == {"message": "ok"}
        index = f"autonomous-iam_autoid_base_{entity}_latest"
        found = es.indices.get_settings(index=index, include_defaults=True, flat_settings=True)[index]
        durability = found["settings"].get("index.translog.durability")
        durability = durability or found["defaults"]["index.translog.durability"]
        assert durability.lower() == "request"  # fsynced before Elasticsearch acknowledges


def test_openapi_documents_the_ingest_endpoints(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for entity, kind in ENTITY_KINDS.items():
        operation = paths[f"/api/ingest/{entity}"]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema["required"] == ["action", kind.list_key]
        assert set(operation["responses"]) >= {"200", "207", "400", "401", "413", "503"}
        assert "fsynced to their translogs" in operation["description"]  # the durability promise
        assert "Retry-After" in operation["responses"]["503"]["headers"]
        assert "repeat the whole batch" in operation["responses"]["503"]["description"]
    assert {"get", "post"} <= set(paths["/api/ingest/datasources"])
    assert json.dumps(paths).count("without metadata") >= 2
