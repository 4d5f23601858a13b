"""A key limited to data sources: its reads answer only theirs, its sync runs are only theirs, and it writes
only within those runs, only entities that are new or theirs (item by item)."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from gateway.ingest.entities import ENTITY_KINDS, entity_id
from gateway.loading.seed import DATASOURCES_FILE, MAPPINGS_FILE, load_datasources, load_mappings
from gateway.settings import Settings
from tests.helpers import ALL_SCOPES, TEST_TENANT_ID, create_key, login, with_es

SHOWCASE = "2d7a6a76-469c-4035-b312-fb1daf104e98"  # full sync, all four entity types
HR = "5b0f6a1e-2c7d-4c55-9a0e-8f3d1c2b4a61"  # incremental, identities


@pytest.fixture
def admin(client: TestClient, settings: Settings) -> str:
    async def seed(es: Any) -> None:
        await load_datasources(es, DATASOURCES_FILE, settings.datasource_index, settings.tenant_name)
        await load_mappings(es, MAPPINGS_FILE, settings.mappings_index, settings.tenant_name)

    with_es(settings, seed)
    return login(client)


@pytest.fixture
def showcase_key(client: TestClient, admin: str) -> str:
    return create_key(client, admin, scopes=ALL_SCOPES, datasources=[SHOWCASE])


@pytest.fixture
def any_key(client: TestClient, admin: str) -> str:
    return create_key(client, admin, scopes=ALL_SCOPES, name="Every data source")


def _headers(key: str) -> dict[str, str]:
    return {"X-API-KEY": key, "x-tenant-id": TEST_TENANT_ID}


def sync(client: TestClient, key: str, datasource: str, step: str, body: Any = None) -> Any:
    return client.post(f"/api/ingest/sync/{datasource}/{step}", json=body, headers=_headers(key))


def start(client: TestClient, key: str, datasource: str) -> str:
    answer = sync(client, key, datasource, "start")
    assert answer.status_code == 200, answer.text
    run: str = answer.json()["runId"]
    return run


def write(
    client: TestClient,
    key: str,
    entity: str,
    items: list[dict[str, str]],
    run: tuple[str, str] | None,
    action: str = "upsert",
) -> Any:
    body: dict[str, Any] = {"action": action, ENTITY_KINDS[entity].list_key: items}
    if run is not None:
        body.update(datasourceId=run[0], syncRun=run[1])
    return client.post(f"/api/ingest/{entity}", json=body, headers=_headers(key))


def _forbidden(answer: Any) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "forbidden"


def test_reads_answer_only_the_key_s_data_sources(
    client: TestClient, showcase_key: str, any_key: str
) -> None:
    for key, expected in ((showcase_key, [SHOWCASE]), (any_key, None)):
        listed = client.get("/api/ingest/datasources", headers=_headers(key)).json()
        ids = [d["datasource_id"] for d in listed]
        assert ids == expected if expected else len(ids) > 1 and HR in ids
    asked = client.post(
        "/api/ingest/datasources", json={"datasourceId": [HR, SHOWCASE]}, headers=_headers(showcase_key)
    )
    assert [d["datasource_id"] for d in asked.json()] == [SHOWCASE]
    assert (
        client.get(f"/api/ingest/datasources?datasourceId={HR}", headers=_headers(showcase_key)).json() == []
    )

    mappings = client.get("/api/ingest/mappings", headers=_headers(showcase_key)).json()
    sources = {m["source_entity"] for m in mappings}
    assert sources and all(s.startswith(f"/autoid/system/datasources/{SHOWCASE}/") for s in sources)
    everyone = client.post("/api/ingest/mappings", json={}, headers=_headers(any_key)).json()
    assert any(m["source_entity"].startswith(f"/autoid/system/datasources/{HR}/") for m in everyone)
    hr_only = {"sourceEntity": f"/autoid/system/datasources/{HR}/identities"}
    assert client.post("/api/ingest/mappings", json=hr_only, headers=_headers(showcase_key)).json() == []


def test_sync_routes_of_another_data_source_are_forbidden(
    client: TestClient, showcase_key: str, any_key: str
) -> None:
    run = start(client, any_key, HR)
    bodies = {
        "start": None,
        "renew": {"runId": run},
        "check": {"entity": "identities", "keys": []},
        "finish": {"runId": run, "mode": "incremental"},
        "abort": {"runId": run, "reason": "taken over"},
    }
    for step, body in bodies.items():
        answer = sync(client, showcase_key, HR, step, body)
        _forbidden(answer)
        assert HR in answer.json()["error"]["message"], step
    # The run of the other data source is untouched; the key's own data source works as before.
    assert sync(client, any_key, HR, "renew", {"runId": run}).status_code == 200
    own = start(client, showcase_key, SHOWCASE)
    assert sync(client, showcase_key, SHOWCASE, "abort", {"runId": own, "reason": "test"}).status_code == 200


def test_writes_outside_a_run_of_the_key_s_data_sources_are_forbidden(
    client: TestClient, showcase_key: str, any_key: str
) -> None:
    user = [{"usr_id": "u1", "usr_name": "One"}]
    _forbidden(write(client, showcase_key, "identities", user, None))
    hr_run = (HR, start(client, any_key, HR))
    answer = write(client, showcase_key, "identities", user, hr_run)
    _forbidden(answer)
    assert HR in answer.json()["error"]["message"]
    assert (
        write(
            client, showcase_key, "identities", user, (SHOWCASE, start(client, showcase_key, SHOWCASE))
        ).status_code
        == 200
    )


def _name(es: Elasticsearch, entity: str, key: dict[str, str]) -> Any:
    kind = ENTITY_KINDS[entity]
    return es.get(index=kind.index("autonomous-iam"), id=entity_id(kind, key))["_source"]


def test_entities_of_other_data_sources_are_refused_item_by_item(
    client: TestClient, showcase_key: str, any_key: str, es: Elasticsearch
) -> None:
    hr_run = (HR, start(client, any_key, HR))
    assert (
        write(client, any_key, "identities", [{"usr_id": "hr-1", "usr_name": "HR One"}], hr_run).status_code
        == 200
    )
    assert (
        write(client, any_key, "identities", [{"usr_id": "loose", "usr_name": "No run"}], None).status_code
        == 200
    )
    ours = (SHOWCASE, start(client, showcase_key, SHOWCASE))

    for action in ("upsert", "update", "create", "delete"):
        items = [
            {"usr_id": "hr-1", "usr_name": "Taken"},
            {"usr_id": "loose", "usr_name": "Taken"},
            {"usr_id": f"nobody-{action}", "usr_name": "Missing"},
        ]
        answer = write(client, showcase_key, "identities", items, ours, action)
        assert answer.status_code == 207, (action, answer.text)
        errors = [(e["item"], e["status"], e["code"], e["reason"]) for e in answer.json()["errors"]]
        if action in ("update", "delete"):
            # another data source's entity answers exactly as a missing one: no probing of ids
            assert errors == [(i, 404, "not_found", "no such entity") for i in range(3)]
        else:
            assert [error[:3] for error in errors[:2]] == [(0, 403, "forbidden"), (1, 403, "forbidden")]
    assert _name(es, "identities", {"usr_id": "hr-1"})["usr_name"] == "HR One"
    assert _name(es, "identities", {"usr_id": "hr-1"})["metadata"]["datasourceId"] == HR
    assert _name(es, "identities", {"usr_id": "loose"})["usr_name"] == "No run"

    # New entities, and the key's own ones, are written as before (in the same batch as refused ones).
    mixed = [{"usr_id": "own-1", "usr_name": "Own"}, {"usr_id": "hr-1", "usr_name": "Taken"}]
    answer = write(client, showcase_key, "identities", mixed, ours)
    assert [(e["item"], e["code"]) for e in answer.json()["errors"]] == [(1, "forbidden")]
    twice = [{"usr_id": "own-1", "usr_name": "Own again"}, {"usr_id": "own-1", "usr_name": "Own at last"}]
    again = write(client, showcase_key, "identities", twice, ours)  # each write conditional: two rounds
    assert again.status_code == 200, again.text
    assert _name(es, "identities", {"usr_id": "own-1"})["usr_name"] == "Own at last"
    missing = write(client, showcase_key, "identities", [{"usr_id": "nobody"}], ours, "update")
    assert [(e["status"], e["code"]) for e in missing.json()["errors"]] == [(404, "not_found")]

    # An assignment naming another data source's identity writes that data source's facts: refused, with
    # the same answer as for an identity that does not exist.
    assert write(client, showcase_key, "entitlements", [{"ent_id": "e1"}], ours).status_code == 200
    pairs = [
        {"usr_id": "hr-1", "ent_id": "e1"},
        {"usr_id": "own-1", "ent_id": "e1"},
        {"usr_id": "nobody-at-all", "ent_id": "e1"},
        {"usr_id": "loose", "ent_id": "e1"},
    ]
    answer = write(client, showcase_key, "assignments", pairs, ours)
    errors = answer.json()["errors"]
    assert [(e["item"], e["code"]) for e in errors] == [(0, "forbidden"), (2, "forbidden"), (3, "forbidden")]
    assert len({e["reason"] for e in errors}) == 1 and "usr_id" in errors[0]["reason"]

    deleted = write(client, showcase_key, "identities", [{"usr_id": "own-1"}], ours, "delete")
    assert deleted.status_code == 200, deleted.text


def test_a_key_limited_to_both_data_sources_may_refer_across_them(
    client: TestClient, admin: str, any_key: str
) -> None:
    both = create_key(client, admin, scopes=ALL_SCOPES, datasources=[SHOWCASE, HR], name="Both")
    hr_run = (HR, start(client, any_key, HR))
    assert write(client, any_key, "identities", [{"usr_id": "hr-1"}], hr_run).status_code == 200
    ours = (SHOWCASE, start(client, both, SHOWCASE))
    assert write(client, both, "entitlements", [{"ent_id": "e1"}], ours).status_code == 200
    answer = write(client, both, "assignments", [{"usr_id": "hr-1", "ent_id": "e1"}], ours)
    assert answer.status_code == 200, answer.text
