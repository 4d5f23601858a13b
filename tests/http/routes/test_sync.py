"""``/api/ingest/sync/{datasourceId}/*``: leases, stamped writes, counts, and what a full sync deletes."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from gateway.ingest.entities import ENTITY_KINDS, MAX_ID_LENGTH
from gateway.loading.seed import DATASOURCES_FILE, load_datasources
from gateway.settings import Settings
from tests.helpers import ALL_SCOPES, TEST_TENANT_ID, ManualClock, create_key, login, with_es

SHOWCASE = "2d7a6a76-469c-4035-b312-fb1daf104e98"
HR_INCREMENTAL = "5b0f6a1e-2c7d-4c55-9a0e-8f3d1c2b4a61"
RETIRED = "e1a7c3f5-8b2d-4e69-a0c4-7d9f1b3e5a28"  # inactive
LEASES = "gateway-sync-leases"


@pytest.fixture
def key(client: TestClient, settings: Settings) -> str:
    with_es(
        settings,
        lambda es: load_datasources(es, DATASOURCES_FILE, settings.datasource_index, settings.tenant_name),
    )
    return create_key(client, login(client), scopes=ALL_SCOPES)


def _headers(key: str) -> dict[str, str]:
    return {"X-API-KEY": key, "x-tenant-id": TEST_TENANT_ID}


def sync(client: TestClient, key: str, datasource: str, step: str, body: Any = None) -> Any:
    return client.post(f"/api/ingest/sync/{datasource}/{step}", json=body, headers=_headers(key))


def start(client: TestClient, key: str, datasource: str = SHOWCASE) -> str:
    answer = sync(client, key, datasource, "start")
    assert answer.status_code == 200, answer.text
    run: str = answer.json()["runId"]
    return run


def write(
    client: TestClient, key: str, entity: str, items: list[dict[str, str]], run: str | None, **extra: Any
) -> Any:
    body = {"action": "upsert", ENTITY_KINDS[entity].list_key: items, **extra}
    if run is not None:
        body.update(datasourceId=extra.get("datasourceId", SHOWCASE), syncRun=run)
    return client.post(f"/api/ingest/{entity}", json=body, headers=_headers(key))


def finish(client: TestClient, key: str, run: str, **body: Any) -> Any:
    return sync(client, key, SHOWCASE, "finish", {"runId": run, "mode": "full", **body})


def users(*ids: str) -> list[dict[str, str]]:
    return [{"usr_id": i, "usr_name": f"User {i}"} for i in ids]


def keys(es: Elasticsearch, entity: str) -> set[str]:
    index = f"autonomous-iam_autoid_base_{entity}_latest"
    es.indices.refresh(index=index)
    hits = es.search(index=index, size=1000)["hits"]["hits"]
    return {h["_source"]["metadata"]["primaryKey"] for h in hits}


def full_run(client: TestClient, key: str, identities: list[str], assignments: list[tuple[str, str]]) -> str:
    run = start(client, key)
    assert write(client, key, "identities", users(*identities), run).status_code == 200
    pairs = [{"usr_id": u, "ent_id": e} for u, e in assignments]
    if pairs:
        assert write(client, key, "assignments", pairs, run).status_code == 200
    return run


def test_writes_of_a_run_record_the_data_source_and_the_run(
    client: TestClient, key: str, es: Elasticsearch
) -> None:
    run = start(client, key)
    assert write(client, key, "identities", users("u1"), run).json() == {"message": "ok"}
    es.indices.refresh(index="autonomous-iam_autoid_base_identities_latest")
    source = es.search(index="autonomous-iam_autoid_base_identities_latest")["hits"]["hits"][0]["_source"]
    assert source["usr_id"] == "u1" and "syncRun" not in source
    meta = source["metadata"]
    assert (meta["datasourceId"], meta["syncRun"], meta["createdInRun"]) == (SHOWCASE, run, run)
    assert finish(client, key, run, mode="incremental").json()["entities"]["identities"] == {
        "created": 1,
        "updated": 0,
        "deleted": 0,
    }
    second = start(client, key)  # the lease was released by finish
    write(client, key, "identities", users("u1"), second)
    answer = finish(client, key, second, mode="incremental").json()
    assert answer["entities"]["identities"] == {"created": 0, "updated": 1, "deleted": 0}


def test_a_write_whose_run_does_not_hold_the_lease_is_refused(client: TestClient, key: str) -> None:
    assert write(client, key, "identities", users("u1"), "no-such-run").status_code == 409
    answer = write(client, key, "identities", users("u1"), None, datasourceId=SHOWCASE)
    assert answer.status_code == 400 and "go together" in answer.json()["error"]["message"]
    assert write(client, key, "identities", users("u1"), None).status_code == 200  # no run: as before


def test_two_runs_cannot_interleave_until_the_lease_expires(
    client: TestClient, key: str, clock: ManualClock, settings: Settings, es: Elasticsearch
) -> None:
    first = start(client, key)
    refused = sync(client, key, SHOWCASE, "start")
    assert refused.status_code == 409 and "in progress" in refused.json()["error"]["message"]
    assert sync(client, key, SHOWCASE, "renew", {"runId": first}).status_code == 200
    clock.advance(settings.sync_lease_seconds + 1)  # the first job died without renewing
    assert write(client, key, "identities", users("u1"), first).status_code == 409
    second = start(client, key)
    assert second != first
    for step, body in (("renew", {}), ("abort", {"reason": "late"}), ("finish", {"mode": "full"})):
        assert sync(client, key, SHOWCASE, step, {"runId": first, **body}).status_code == 409, step
    assert sync(client, key, SHOWCASE, "abort", {"runId": second, "reason": "test"}).status_code == 200
    start(client, key)  # released: free again
    lease = es.search(index=LEASES)["hits"]["hits"][0]["_source"]
    assert set(lease) == {"datasourceId", "runId", "holder", "started", "expires"}
    assert key not in str(lease)


def test_a_full_sync_deletes_exactly_what_left_the_source_and_its_assignments(
    client: TestClient, key: str, es: Elasticsearch
) -> None:
    everyone = [f"u{i}" for i in range(10)]
    full_run_id = full_run(client, key, everyone, [(u, "e1") for u in everyone] + [("u1", "e2")])
    first = finish(client, key, full_run_id, complete=["identities", "assignments"])
    assert first.status_code == 200, first.text
    # Not from this data source: never touched.
    write(client, key, "identities", users("other"), None)
    write(client, key, "assignments", [{"usr_id": "u9", "ent_id": "e9"}], None)

    # u8 and u9 left the identities file; the assignments file still lists u8's and u9's (dangling).
    kept = everyone[:8]
    run = full_run(client, key, kept, [(u, "e1") for u in everyone])
    answer = finish(client, key, run, complete=["identities", "assignments"])
    assert answer.status_code == 200, answer.text
    entities = answer.json()["entities"]
    assert entities["identities"] == {"created": 0, "updated": 8, "deleted": 2}
    # u1:e2 left the source; u8:e1 and u9:e1 went with their identities.
    assert entities["assignments"] == {"created": 0, "updated": 10, "deleted": 3}
    assert keys(es, "identities") == {*kept, "other"}
    assert keys(es, "assignments") == {f"{u}:e1" for u in kept} | {"u9:e9"}


def test_ids_of_any_accepted_length_are_swept_with_their_assignments(
    client: TestClient, key: str, es: Elasticsearch
) -> None:
    """An id up to the ingest limit (1,024 characters) is found by the sweeps and the cascade: keyword
    sub-fields must not ignore it (Elasticsearch's default of 256 did)."""
    long_ids = ["L" * 300, "M" * MAX_ID_LENGTH]
    everyone = ["short", *long_ids]
    finish(client, key, full_run(client, key, everyone, [(u, "e1") for u in everyone]), complete=[])
    run = start(client, key)  # every identity left the source
    answer = finish(client, key, run, complete=["identities"], force=True)
    assert answer.status_code == 200, answer.text
    assert answer.json()["entities"]["identities"]["deleted"] == 3
    assert answer.json()["entities"]["assignments"]["deleted"] == 3
    assert keys(es, "identities") == set() and keys(es, "assignments") == set()


def test_only_the_types_declared_complete_lose_entities(
    client: TestClient, key: str, es: Elasticsearch
) -> None:
    finish(client, key, full_run(client, key, ["u1", "u2"], [("u1", "e1"), ("u2", "e1")]), complete=[])
    run = full_run(client, key, ["u1", "u2"], [])  # the assignments file was not read
    assert finish(client, key, run, complete=["identities"]).json()["entities"]["assignments"]["deleted"] == 0
    assert keys(es, "assignments") == {"u1:e1", "u2:e1"}


def test_an_incremental_finish_and_an_abort_never_delete(
    client: TestClient, key: str, es: Elasticsearch
) -> None:
    finish(client, key, full_run(client, key, ["u1", "u2", "u3", "u4", "u5"], []), complete=["identities"])
    run = full_run(client, key, ["u1"], [])
    answer = finish(client, key, run, mode="incremental", complete=["identities"])
    assert answer.json()["entities"]["identities"]["deleted"] == 0
    run = full_run(client, key, ["u1"], [])
    assert sync(client, key, SHOWCASE, "abort", {"runId": run, "reason": "bad rows"}).status_code == 200
    assert keys(es, "identities") == {"u1", "u2", "u3", "u4", "u5"}


def test_deleting_more_than_the_configured_share_needs_force(
    client: TestClient, key: str, es: Elasticsearch
) -> None:
    finish(client, key, full_run(client, key, ["u1", "u2", "u3", "u4"], []), complete=["identities"])
    run = full_run(client, key, ["u1", "u2"], [])  # half of them gone: more than 25 %
    refused = finish(client, key, run, complete=["identities"])
    assert refused.status_code == 409
    assert refused.json()["error"]["details"] == {"identities": {"delete": 2, "of": 4}}
    assert keys(es, "identities") == {"u1", "u2", "u3", "u4"}
    assert finish(client, key, run, complete=["identities"]).status_code == 409  # the run has ended
    run = full_run(client, key, ["u1", "u2"], [])
    assert finish(client, key, run, complete=["identities"], force=True).status_code == 200
    assert keys(es, "identities") == {"u1", "u2"}


def test_finish_deletes_only_for_an_active_full_data_source_and_its_own_types(
    client: TestClient, key: str
) -> None:
    assert sync(client, key, "no-such-id", "start").status_code == 404
    assert sync(client, key, RETIRED, "start").status_code == 409  # inactive
    run = start(client, key, HR_INCREMENTAL)
    body: dict[str, Any] = {"runId": run, "mode": "full", "complete": ["identities"]}
    refused = sync(client, key, HR_INCREMENTAL, "finish", body)
    assert refused.status_code == 409 and "not an active full sync" in refused.json()["error"]["message"]
    run = start(client, key, HR_INCREMENTAL)
    body = {"runId": run, "mode": "full", "complete": ["identities"], "extra": 1}
    assert sync(client, key, HR_INCREMENTAL, "finish", body).status_code == 400


def test_check_names_what_a_full_sync_that_read_these_keys_would_delete(
    client: TestClient, key: str, es: Elasticsearch
) -> None:
    finish(client, key, full_run(client, key, ["a", "b", "c", "d", "e"], []), complete=["identities"])
    write(client, key, "identities", users("zz"), None)  # no data source: never named

    def check(after: str | None, through: str | None, read: list[str]) -> Any:
        body = {"entity": "identities", "after": after, "through": through, "keys": read}
        answer = sync(client, key, SHOWCASE, "check", body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    assert check(None, "c", ["a", "c"]) == {"count": 1, "keys": ["b"]}
    assert check("c", None, []) == {"count": 2, "keys": ["d", "e"]}
    assert check(None, None, ["a", "b", "c", "d", "e"]) == {"count": 0, "keys": []}
    assert keys(es, "identities") == {"a", "b", "c", "d", "e", "zz"}  # nothing written
