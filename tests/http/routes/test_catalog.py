"""GET|POST /api/ingest/datasources and /api/ingest/mappings: filtered reads without metadata."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch
from fastapi.testclient import TestClient

from gateway.loading.seed import DATASOURCES_FILE, MAPPINGS_FILE, load_datasources, load_mappings
from gateway.settings import Settings
from tests.helpers import OTHER_TENANT_ID, TEST_TENANT_ID, create_key, login, showcase_datasource, with_es

SHOWCASE = "2d7a6a76-469c-4035-b312-fb1daf104e98"
HR = "5b0f6a1e-2c7d-4c55-9a0e-8f3d1c2b4a61"
ENRICHMENT = "9c4e2b7d-61f0-4a3b-b8d2-3e5f7a9c1d04"
RETIRED = "e1a7c3f5-8b2d-4e69-a0c4-7d9f1b3e5a28"
SHOWCASE_JDBC = "7f3b9c2e-5d14-4a8f-b6e1-0c9d2a4f8e73"


@pytest.fixture
def key(client: TestClient, settings: Settings) -> str:
    async def seed(es: AsyncElasticsearch) -> None:
        await load_datasources(es, DATASOURCES_FILE, settings.datasource_index, settings.tenant_name)
        await load_mappings(es, MAPPINGS_FILE, settings.mappings_index, settings.tenant_name)

    with_es(settings, seed)
    return create_key(client, login(client))


def get(client: TestClient, key: str, path: str, params: Any = None) -> Any:
    headers = {"X-API-KEY": key, "x-tenant-id": TEST_TENANT_ID}
    return client.get(f"/api/ingest/{path}", params=params, headers=headers)


def post(client: TestClient, key: str, path: str, body: Any = None) -> Any:
    return client.post(f"/api/ingest/{path}", json=body, headers={"X-API-KEY": key})


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [d["datasource_id"] for d in response.json()]


def test_all_datasources_without_metadata(client: TestClient, key: str) -> None:
    response = get(client, key, "datasources")
    documents = response.json()
    assert ids(response) == sorted([SHOWCASE, HR, ENRICHMENT, RETIRED, SHOWCASE_JDBC])
    assert all("metadata" not in d for d in documents)
    showcase = next(d for d in documents if d["datasource_id"] == SHOWCASE)
    expected = showcase_datasource()
    del expected["metadata"]
    assert showcase == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"datasourceId": SHOWCASE}, [SHOWCASE]),
        ([("datasourceId", SHOWCASE), ("datasourceId", HR)], [SHOWCASE, HR]),
        ({"datasourceId": f"{SHOWCASE},{HR}"}, [SHOWCASE, HR]),
        ({"name": "HR-JDBC-DS"}, [HR]),
        ({"isActive": "false"}, [RETIRED]),
        ({"connectionTypes": "csv"}, [SHOWCASE, RETIRED]),
        ({"connectionTypes": "jdbc,generic"}, [HR, ENRICHMENT, SHOWCASE_JDBC]),
        ({"entityTypes": "identities"}, [SHOWCASE, HR, SHOWCASE_JDBC]),
        ({"entityTypes": f"/autoid/system/datasources/{ENRICHMENT}/entitlements"}, [ENRICHMENT]),
        ({"connectionTypes": "csv", "isActive": "true", "entityTypes": "assignments"}, [SHOWCASE]),
        ({"name": "No-Such-Source"}, []),
    ],
)
def test_datasource_filters_by_query_and_by_body(
    client: TestClient, key: str, params: Any, expected: list[str]
) -> None:
    assert ids(get(client, key, "datasources", params)) == sorted(expected)
    pairs = params.items() if isinstance(params, dict) else params
    body: dict[str, Any] = {}
    for name, value in pairs:
        values = value.split(",") if name != "isActive" else [value == "true"]
        body.setdefault(name, []).extend(values)
    body = {k: v[0] if k == "isActive" else v for k, v in body.items()}
    assert ids(post(client, key, "datasources", body)) == sorted(expected)


def test_post_without_a_body_lists_everything(client: TestClient, key: str) -> None:
    response = client.post("/api/ingest/datasources", headers={"X-API-KEY": key})
    assert len(ids(response)) == 5


@pytest.mark.parametrize(
    ("method", "params", "location"),
    [
        ("get", {"datasourceID": SHOWCASE}, "datasourceID"),
        ("get", {"isActive": "maybe"}, "isActive"),
        ("get", {"connectionTypes": "ftp"}, "connectionTypes"),
        ("post", {"isActive": "maybe"}, "isActive"),
        ("post", {"name": ["x" * 1025]}, "name"),
        ("post", {"datasourceId": []}, "datasourceId"),
        ("post", {"datasourceId": [{"$ne": 1}]}, "datasourceId"),
        ("post", {"entityTypes": ["x"] * 101}, "entityTypes"),
    ],
)
def test_bad_filters_are_400_naming_the_filter(
    client: TestClient, key: str, method: str, params: Any, location: str
) -> None:
    if method == "get":
        response = get(client, key, "datasources", params)
    else:
        response = post(client, key, "datasources", params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_request" and error["details"][0]["location"][0] == location


@pytest.mark.parametrize("raw", [b"[1, 2]", b"{broken", b'"text"'])
def test_non_object_bodies_are_400(client: TestClient, key: str, raw: bytes) -> None:
    response = client.post("/api/ingest/datasources", content=raw, headers={"X-API-KEY": key})
    assert response.status_code == 400


def test_reads_need_a_valid_key_for_this_tenant(client: TestClient, key: str) -> None:
    assert client.get("/api/ingest/datasources").status_code == 401
    other = client.get("/api/ingest/mappings", headers={"X-API-KEY": key, "x-tenant-id": OTHER_TENANT_ID})
    assert other.status_code == 401


def test_all_mappings_without_metadata(client: TestClient, key: str) -> None:
    response = get(client, key, "mappings")
    assert response.status_code == 200
    mappings = response.json()
    assert [m["mapping_id"] for m in mappings] == sorted(m["mapping_id"] for m in mappings)
    assert len(mappings) == 5
    identities = next(m for m in mappings if m["mapping_id"] == "showcase-identities")
    assert set(identities) == {"mapping_id", "source_entity", "target_entity", "properties"}
    assert identities["source_entity"] == f"/autoid/system/datasources/{SHOWCASE}/identities"
    assert identities["properties"][0] == {"source": "usr_id", "target": "usr_id", "apply": True}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"mappingId": "hr-identities"}, ["hr-identities"]),
        ({"targetEntity": "/autoid/base/identities"}, ["hr-identities", "showcase-identities"]),
        ({"sourceEntity": f"/autoid/system/datasources/{SHOWCASE}/assignments"}, ["showcase-assignments"]),
        ({"sourceProperties": ["employee_number"]}, ["hr-identities"]),
        ({"targetProperties": "app_id"}, ["showcase-applications", "showcase-entitlements"]),
        ({"targetProperties": "app_id", "sourceProperties": "ent_owner_id"}, ["showcase-entitlements"]),
    ],
)
def test_mapping_filters(client: TestClient, key: str, body: dict[str, Any], expected: list[str]) -> None:
    by_post = post(client, key, "mappings", body)
    assert [m["mapping_id"] for m in by_post.json()] == expected
    by_get = get(client, key, "mappings", body)
    assert [m["mapping_id"] for m in by_get.json()] == expected


def test_unknown_mapping_filter_is_400(client: TestClient, key: str) -> None:
    response = post(client, key, "mappings", {"mapping_id": "hr-identities"})
    assert response.status_code == 400 and response.json()["error"]["details"][0]["location"] == [
        "mapping_id"
    ]


@pytest.mark.parametrize(
    ("path", "query", "body"),
    [
        ("datasources", {"isActive": "1"}, {"isActive": 1}),
        ("datasources", {"isActive": "yes"}, {"isActive": "true"}),
        ("datasources", {"name": " "}, {"name": []}),
        ("mappings", {"targetProperties": ","}, {"targetProperties": 5}),
    ],
)
def test_filters_take_exactly_what_the_schema_says(
    client: TestClient, key: str, path: str, query: dict[str, str], body: dict[str, Any]
) -> None:
    assert get(client, key, path, query).status_code == 400
    assert post(client, key, path, body).status_code == 400


def test_a_method_not_allowed_lists_every_method_the_path_takes(client: TestClient) -> None:
    # GET and POST of each read are two routes; the answer names both.
    for path in ("/api/ingest/datasources", "/api/ingest/mappings"):
        answer = client.request("OPTIONS", path)
        assert answer.status_code == 405
        assert answer.headers["allow"] == "GET, POST"
        assert answer.json()["error"]["code"] == "method_not_allowed"
