"""``gateway ingest-job`` end to end: a real gateway process, a tenant id and an API key, nothing else."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from gateway.errors import Unavailable
from gateway.ingest.entities import IDENTITIES, document_id
from gateway.ingest.writer import Action, ItemFailure
from gateway.jobs.ingest_job import RETRIES, HttpSink, JobError, final_failure, retry_delay
from gateway.loading.loader import load_entity_file
from gateway.loading.seed import SEED_DIR
from tests.helpers import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    ALL_SCOPES,
    HTTP_TIMEOUT,
    TEST_TENANT_ID,
    GatewayProcess,
    eventually,
    free_port,
    run_cli,
)

SHOWCASE = "2d7a6a76-469c-4035-b312-fb1daf104e98"
RETIRED = "e1a7c3f5-8b2d-4e69-a0c4-7d9f1b3e5a28"
DATASOURCES_INDEX = "autonomous-iam_common_datasources_latest"


def _job(
    gateway: GatewayProcess, key: str, datasource: str, data_root: Path, *extra: str
) -> tuple[int, str, str]:
    env = dict(os.environ, INGEST_API_KEY=key, TENANT_ID=TEST_TENANT_ID, GATEWAY_DATA_ROOT=str(data_root))
    result = run_cli(
        "ingest-job", "--datasource", datasource, "--url", gateway.url, "--no-progress", *extra, env=env
    )
    return result.returncode, result.stdout, result.stderr


def _count(es: Elasticsearch, entity: str) -> int:
    index = f"autonomous-iam_autoid_base_{entity}_latest"
    es.indices.refresh(index=index)
    return int(es.count(index=index)["count"])


def test_job_ingests_the_showcase_data_source(gateway: GatewayProcess, es: Elasticsearch) -> None:
    key = gateway.create_api_key(scopes=ALL_SCOPES)
    code, out, err = _job(gateway, key, SHOWCASE, SEED_DIR, "--batch-size", "50")
    assert code == 0, err
    assert "data source Showcase-CSV-DS" in out
    for entity, rows in (
        ("applications", 8),
        ("entitlements", 40),
        ("identities", 100),
        ("assignments", 316),
    ):
        assert f"{entity}: {rows} loaded" in out
        assert _count(es, entity) == rows
    assert key not in out + err + gateway.log.read_text()

    code, out, _ = _job(gateway, key, SHOWCASE, SEED_DIR)  # again: upserts, nothing new
    assert code == 0 and _count(es, "identities") == 100


def test_a_key_without_delete_stops_a_full_sync_before_reading(
    gateway: GatewayProcess, es: Elasticsearch, tmp_path: Path
) -> None:
    key = gateway.create_api_key()  # the default scopes: search and write
    # An empty data root: a job that read anything would fail on the missing files instead.
    for extra in ((), ("--action", "delete")):
        code, out, err = _job(gateway, key, SHOWCASE, tmp_path, *extra)
        assert code == 1, (extra, out, err)
        assert "lacks the 'delete' scope" in err and "nothing was read" in err, extra
        assert "--incremental" in err and "a key with the delete scope" in err
        assert "loaded" not in out and "could not read" not in err
    assert _count(es, "identities") == 0
    code, out, err = _job(gateway, key, SHOWCASE, SEED_DIR, "--incremental")  # no lease was left behind
    assert code == 0, err
    assert "identities: 100 loaded" in out and _count(es, "identities") == 100


def test_job_reports_bad_rows_by_file_and_line(
    gateway: GatewayProcess, es: Elasticsearch, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    shutil.copytree(SEED_DIR / "data", root / "data")
    identities = root / "data" / "input" / "identities.csv"
    lines = identities.read_text().splitlines()
    lines[3] = "," + lines[3].split(",", 1)[1]  # line 4: blank usr_id
    lines[7] = "usr-x,too,few"  # line 8
    identities.write_text("\n".join(lines) + "\n")
    code, out, err = _job(gateway, gateway.create_api_key(scopes=ALL_SCOPES), SHOWCASE, root)
    assert code == 2
    assert "identities: 98 loaded" in out and "2 failed" in out
    assert f"{identities}:4: invalid_item: usr_id must not be blank" in err
    assert f"{identities}:8: expected 7 fields, found 3" in err
    assert _count(es, "identities") == 98 and _count(es, "assignments") == 316


def test_job_fails_clearly_without_a_valid_key_or_data_source(gateway: GatewayProcess) -> None:
    code, _, err = _job(gateway, "00000000-0000-4000-8000-000000000000", SHOWCASE, SEED_DIR)
    assert code == 1 and "data-source search failed: 401" in err
    key = gateway.create_api_key(scopes=ALL_SCOPES)
    code, _, err = _job(gateway, key, "no-such-id", SEED_DIR)
    assert code == 1 and "no data source with id no-such-id" in err
    code, _, err = _job(gateway, key, RETIRED, SEED_DIR)
    assert code == 1 and "is not active" in err
    code, _, err = _job(gateway, key, SHOWCASE, SEED_DIR, "--url", "http://127.0.0.1:1")
    assert code == 1 and "cannot reach the gateway" in err


def test_a_data_source_document_no_reader_can_use_stops_the_job_with_what_is_wrong(
    gateway: GatewayProcess, es: Elasticsearch
) -> None:
    """An entity type defined by a bare string was skipped without a word; now the job says what is wrong."""
    path = "/autoid/system/datasources/bad-doc/identities"
    document = {
        "datasource_id": "bad-doc",
        "name": "Bad",
        "sync_type": "full",
        "isActive": True,
        "entityTypes": {path: "file:/data/input/identities.csv"},
        "connectionSettings": {"csv": {}},
    }
    es.index(index=DATASOURCES_INDEX, id=document_id("bad-doc"), document=document, refresh=True)
    code, _, err = _job(gateway, gateway.create_api_key(scopes=ALL_SCOPES), "bad-doc", SEED_DIR)
    assert code == 1 and f"data source bad-doc: entityTypes: {path} must map to an object" in err
    assert _count(es, "identities") == 0


# --- retries: what the job sends again, and what it finally reports ---------------------------------------

IDENTITIES_INDEX = "autonomous-iam_autoid_base_identities_latest"


@pytest.fixture
def strict_gateway(es: Elasticsearch, es_url: str, tmp_path: Path) -> Iterator[GatewayProcess]:
    """A gateway that reports an item ok only once every copy of its shard wrote it, waiting 4 s for them;
    the identities index has a replica, which a single node never assigns: every write is a real 503."""
    shared = {
        "GATEWAY_ADMIN_USERNAME": ADMIN_USER,
        "GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "GATEWAY_INGEST_WAIT_FOR_ACTIVE_SHARDS": "all",
        "ES_REQUEST_TIMEOUT": "8",  # copies waited for 4 s: 4 s to spare for the answer on a busy machine
    }
    process = GatewayProcess(es_url, tmp_path / "gateway", shared)
    try:
        process.wait_ready()
        es.indices.put_settings(  # the gateway made the index at start (one copy on one node)
            index=IDENTITIES_INDEX, settings={"auto_expand_replicas": False, "number_of_replicas": 1}
        )
        yield process
    finally:
        process.stop()


def _with_sink(
    gateway: GatewayProcess,
    work: Callable[[HttpSink], Awaitable[Any]],
    on_ingest: Callable[[httpx.Response], None] = lambda _: None,
) -> tuple[Any, list[int]]:
    """Run ``work`` with an HttpSink on ``gateway``; also the status of every ingest answer, in order."""
    statuses: list[int] = []
    headers = {"x-tenant-id": TEST_TENANT_ID, "X-API-KEY": gateway.create_api_key(scopes=ALL_SCOPES)}

    async def seen(response: httpx.Response) -> None:
        if response.request.url.path.startswith("/api/ingest/"):
            statuses.append(response.status_code)
            on_ingest(response)

    async def run() -> Any:
        hooks = {"response": [seen]}
        async with httpx.AsyncClient(
            base_url=gateway.url, headers=headers, event_hooks=hooks, timeout=HTTP_TIMEOUT
        ) as client:
            return await work(HttpSink(client, backoff=0.05, max_retry_after=0.05))

    return asyncio.run(run()), statuses


def _identities(count: int) -> list[dict[str, str]]:
    return [{"usr_id": f"u{i}", "usr_name": f"User {i}"} for i in range(count)]


def test_items_answered_503_are_sent_again_until_written(
    strict_gateway: GatewayProcess, es: Elasticsearch
) -> None:
    def replica_dropped(_: httpx.Response) -> None:  # the missing copy stops being required
        es.indices.put_settings(index=IDENTITIES_INDEX, settings={"number_of_replicas": 0})

    failures, statuses = _with_sink(
        strict_gateway,
        lambda sink: sink.write(IDENTITIES, Action.UPSERT, _identities(3)),
        on_ingest=replica_dropped,
    )
    assert failures == []
    assert statuses == [207, 200]  # every item 503 at first, then written
    assert _count(es, "identities") == 3


def test_items_still_unavailable_after_the_last_retry_are_reported_by_line(
    strict_gateway: GatewayProcess, es: Elasticsearch, tmp_path: Path
) -> None:
    path = tmp_path / "identities.csv"
    path.write_text("usr_id,usr_name\nu1,Ada\n,blank id\nu3,Grace\n")
    report, statuses = _with_sink(
        strict_gateway, lambda sink: load_entity_file(sink, IDENTITIES, path, Action.UPSERT, progress=False)
    )
    # The blank id is refused once; only the 503s are resent. Each attempt is a 207: Elasticsearch answered
    # within the gateway's request timeout (ES_REQUEST_TIMEOUT=8), having waited 4 s for the copies.
    assert statuses == [207] * (RETRIES + 1)
    assert report.loaded == 0 and report.failed == 3
    assert [(e.line, e.message.split(":")[0]) for e in report.errors] == [
        (2, "unavailable"),
        (3, "invalid_item"),
        (4, "unavailable"),
    ]
    assert report.errors[0].message.endswith("; retry")
    assert _count(es, "identities") == 0


def test_conflicts_and_refused_items_are_not_sent_again(
    strict_gateway: GatewayProcess, es: Elasticsearch
) -> None:
    es.indices.put_settings(index=IDENTITIES_INDEX, settings={"number_of_replicas": 0})
    not_text: Any = {"not": "text"}  # a value Elasticsearch refuses in the declared text field usr_name
    items = [{"usr_id": "u1"}, {"usr_id": ""}, {"usr_id": "u2"}, {"usr_id": "u3", "usr_name": not_text}]

    async def twice(sink: HttpSink) -> list[ItemFailure]:
        await sink.write(IDENTITIES, Action.CREATE, items[:1])
        return await sink.write(IDENTITIES, Action.CREATE, items)

    failures, statuses = _with_sink(strict_gateway, twice)
    assert statuses == [200, 207]  # one request each: nothing was worth repeating
    assert [(f.item, f.status, f.code) for f in failures] == [
        (0, 409, "conflict"),
        (1, 400, "invalid_item"),
        (3, 400, "rejected"),
    ]
    assert "earlier attempt" not in failures[0].reason  # never retried: a plain conflict


def test_a_whole_request_answered_503_is_repeated_then_stops_the_job(tmp_path: Path) -> None:
    gateway = GatewayProcess(f"http://127.0.0.1:{free_port()}", tmp_path / "gateway", {})  # no Elasticsearch
    try:

        def live() -> bool:
            try:
                return httpx.get(f"{gateway.url}/livez", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        eventually(live, "the gateway without Elasticsearch to be live")
        answers: list[httpx.Response] = []

        async def run() -> None:
            headers = {"x-tenant-id": TEST_TENANT_ID, "X-API-KEY": "00000000-0000-4000-8000-000000000000"}
            hooks = {"response": [lambda r: _keep(answers, r)]}
            async with httpx.AsyncClient(
                base_url=gateway.url, headers=headers, event_hooks=hooks, timeout=HTTP_TIMEOUT
            ) as client:
                await HttpSink(client, backoff=0.05, max_retry_after=0.05).write(
                    IDENTITIES, Action.UPSERT, _identities(2)
                )

        with pytest.raises(JobError, match=rf"503 elasticsearch_unavailable: .*after {RETRIES + 1} attempts"):
            asyncio.run(run())
        assert len(answers) == RETRIES + 1
        assert all(
            a.status_code == 503 and a.headers["retry-after"] == str(Unavailable.retry_after) for a in answers
        )
    finally:
        gateway.stop()


async def _keep(answers: list[httpx.Response], response: httpx.Response) -> None:
    answers.append(response)


@pytest.mark.parametrize(
    ("attempt", "retry_after", "delay"),
    [(0, None, 1.0), (2, None, 4.0), (0, "5", 5.0), (3, "5", 8.0), (0, "600", 60.0), (0, "soon", 1.0)],
)
def test_the_back_off_doubles_and_honours_retry_after_up_to_a_minute(
    attempt: int, retry_after: str | None, delay: float
) -> None:
    assert retry_delay(attempt, 1.0, retry_after) == delay
    assert retry_delay(0, 1.0, "Wed, 21 Oct 2026 07:28:00 GMT") == 1.0  # an HTTP date: back-off alone


@pytest.mark.parametrize(
    ("action", "status", "flagged"),
    [
        (Action.CREATE, 409, True),  # the 503-answered attempt may have landed: "already there"
        (Action.DELETE, 404, True),  # likewise "already gone"
        (Action.UPSERT, 409, False),
        (Action.UPDATE, 404, False),  # an update never creates: still missing
    ],
)
def test_a_retried_items_final_answer_says_when_the_earlier_attempt_may_have_landed(
    action: Action, status: int, flagged: bool
) -> None:
    failure = ItemFailure(0, {"usr_id": "u1"}, status, "conflict", "the entity already exists")
    assert ("earlier attempt" in final_failure(action, failure, after_503=True).reason) == flagged
    assert final_failure(action, failure, after_503=False) == failure
