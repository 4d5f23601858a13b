"""``gateway ingest-job`` on JDBC data sources, end to end: a real gateway process and Elasticsearch, a
real PostgreSQL server (gateway/embedded/postgres.py) or the seed's SQLite database. Nothing is mocked."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch, helpers
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql

from gateway.embedded.postgres import PostgresServer
from gateway.ingest.entities import document_id
from gateway.loading.seed import SEED_DIR
from tests.helpers import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    ALL_SCOPES,
    TEST_TENANT_ID,
    GatewayProcess,
    eventually,
    run_cli,
    start_cli,
)

SHOWCASE_JDBC = "7f3b9c2e-5d14-4a8f-b6e1-0c9d2a4f8e73"
DATASOURCES_INDEX = "autonomous-iam_common_datasources_latest"
IDENTITIES_INDEX = "autonomous-iam_autoid_base_identities_latest"
PEOPLE = (
    "SELECT employee_number AS usr_id, full_name AS usr_name, manager_number AS usr_manager_id, "
    "cost_center AS department, badge, updated FROM people ORDER BY updated"
)


def _job(
    gateway: GatewayProcess, key: str, datasource: str, data_root: Path, *extra: str, **env: str
) -> tuple[int, str, str]:
    environ = dict(
        os.environ, INGEST_API_KEY=key, TENANT_ID=TEST_TENANT_ID, GATEWAY_DATA_ROOT=str(data_root), **env
    )
    result = run_cli(
        "ingest-job", "--datasource", datasource, "--url", gateway.url, "--no-progress", *extra, env=environ
    )
    return result.returncode, result.stdout, result.stderr


def _count(es: Elasticsearch, entity: str) -> int:
    index = f"autonomous-iam_autoid_base_{entity}_latest"
    es.indices.refresh(index=index)
    return int(es.count(index=index)["count"])


def test_seed_load_builds_the_sqlite_database_and_the_jdbc_data_source_loads_the_showcase_set(
    gateway: GatewayProcess, es: Elasticsearch, es_url: str, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    shutil.copytree(SEED_DIR / "data" / "input", root / "data" / "input")
    env = dict(os.environ, ES_URL=es_url, TENANT_ID=TEST_TENANT_ID)
    seeded = run_cli("seed", "load", "--data-root", str(root), "--no-progress", env=env)
    assert seeded.returncode == 0, seeded.stderr
    assert f"showcase database: 464 loaded from {root / 'data' / 'showcase.sqlite'}" in seeded.stdout

    key = gateway.create_api_key(scopes=ALL_SCOPES)
    code, out, err = _job(gateway, key, SHOWCASE_JDBC, root, "--batch-size", "50")
    assert code == 0, err
    assert "data source Showcase-JDBC-DS" in out
    for entity, rows in (
        ("applications", 8),
        ("entitlements", 40),
        ("identities", 100),
        ("assignments", 316),
    ):
        assert f"{entity}: {rows} loaded from jdbc:{entity}\n" in out
        assert _count(es, entity) == rows
    person = es.get(index=IDENTITIES_INDEX, id=document_id("usr-0000001"))["_source"]
    assert person["usr_manager_id"] == "usr-0000000" and person["updated"] == "2022-01-02T00:00:00Z"

    es.indices.delete(index=IDENTITIES_INDEX)
    es.indices.create(index=IDENTITIES_INDEX)  # empty again, from the applied templates
    code, out, err = _job(gateway, key, SHOWCASE_JDBC, root, "--since", "2022-03-01T00:00:00Z")
    assert code == 0, err
    assert "identities: 40 loaded" in out and "applications: 0 loaded" in out  # days 60 to 99
    assert _count(es, "identities") == 40


@dataclass(frozen=True)
class HrDatabase:
    server: PostgresServer
    name: str
    user: str
    password: str

    def index_datasource(self, es: Elasticsearch, ds_id: str, query: str, **credentials: str) -> None:
        """A jdbc data-source document, written as an operator would (no secret in it)."""
        settings = {"url": self.server.url(self.user, self.name), **credentials}
        document: dict[str, Any] = {
            "datasource_id": ds_id,
            "name": f"HR-{ds_id}",
            "sync_type": "incremental",
            "isActive": True,
            "entityTypes": {f"/autoid/system/datasources/{ds_id}/identities": {"query": query}},
            "connectionSettings": {"jdbc": settings},
        }
        es.index(index=DATASOURCES_INDEX, id=document_id(ds_id), document=document, refresh=True)


@pytest.fixture
def hr(postgres: PostgresServer) -> Iterator[HrDatabase]:
    """A database with a ``people`` table and a role that may only read it, with its own password."""
    suffix = secrets.token_hex(4)
    hr = HrDatabase(postgres, f"hr_{suffix}", f"ingest_{suffix}", "pw-" + secrets.token_urlsafe(18))
    with postgres.connect() as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(hr.user), sql.Literal(hr.password)
            )
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(hr.name)))
    with postgres.connect(hr.name) as db:
        db.execute(
            "CREATE TABLE people (employee_number text, full_name text, manager_number text, "
            "cost_center text, badge bytea, updated timestamptz NOT NULL)"
        )
        with db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO people VALUES (%s, %s, %s, %s, %s, %s)",
                [
                    ("e1", "Ada", None, "R&D", None, "2026-01-01T00:00:00Z"),
                    ("e2", "Grace", "e1", "Ops", b"B-2", "2026-02-01T00:00:00Z"),
                    (None, "Nobody", "e1", "Ops", None, "2026-03-01T00:00:00Z"),
                    ("e4", "Bad bytes", "e1", "Ops", b"\xff\xfe", "2026-04-01T00:00:00Z"),
                    ("e5", "Linus", "e2", "R&D", None, "2026-05-01T00:00:00Z"),
                ],
            )
        db.execute(sql.SQL("GRANT SELECT ON people TO {}").format(sql.Identifier(hr.user)))
    try:
        yield hr
    finally:
        with postgres.connect() as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(hr.name)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(hr.user)))


def _everything_stored(es: Elasticsearch) -> str:
    es.indices.refresh(index="autonomous-iam_*,gateway-*")
    return json.dumps([hit for hit in helpers.scan(es, index="autonomous-iam_*,gateway-*", query={})])


def test_postgresql_rows_load_through_the_gateway_and_the_password_stays_secret(
    gateway: GatewayProcess, es: Elasticsearch, hr: HrDatabase, tmp_path: Path
) -> None:
    hr.index_datasource(es, "hr-env", PEOPLE, user=hr.user, passwordEnv="JDBC_PASSWORD_HR_TEST")
    key = gateway.create_api_key(scopes=ALL_SCOPES)
    code, out, err = _job(gateway, key, "hr-env", tmp_path, JDBC_PASSWORD_HR_TEST=hr.password)
    assert code == 2, err  # two bad rows, the rest written
    assert "identities: 3 loaded from jdbc:identities, 2 failed" in out
    assert "jdbc:identities:3: invalid_item: usr_id must not be blank" in err
    assert "jdbc:identities:4: not valid UTF-8" in err
    assert _count(es, "identities") == 3
    grace = es.get(index=IDENTITIES_INDEX, id=document_id("e2"))["_source"]
    assert (grace["usr_name"], grace["usr_manager_id"], grace["department"], grace["badge"]) == (
        "Grace",
        "e1",
        "Ops",
        "B-2",
    )
    assert grace["updated"].startswith("2026-02-01T00:00:00")

    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "hr.password").write_text(hr.password + "\n")
    hr.index_datasource(es, "hr-file", PEOPLE, user=hr.user, passwordFile="/secrets/hr.password")
    code, out, err = _job(gateway, key, "hr-file", tmp_path, "--since", "2026-04-15")
    assert code == 0, err
    assert "identities: 1 loaded from jdbc:identities\n" in out  # only e5 is later

    wrong = "not-" + hr.password
    code, out, err = _job(gateway, key, "hr-env", tmp_path, JDBC_PASSWORD_HR_TEST=wrong)
    assert code == 1 and "cannot connect to the database: OperationalError:" in err
    assert "password authentication failed" in err

    stored = _everything_stored(es)
    assert "hr-env" in stored and "passwordEnv" in stored  # the data sources are in there
    logs = gateway.log.read_text() + (hr.server.root / "log").read_text()
    for secret in (hr.password, wrong):
        assert secret not in stored and secret not in out + err and secret not in logs


def test_since_is_refused_when_a_query_has_no_updated_column(
    gateway: GatewayProcess, es: Elasticsearch, hr: HrDatabase, tmp_path: Path
) -> None:
    query = "SELECT employee_number AS usr_id, full_name AS usr_name FROM people WHERE employee_number <> ''"
    hr.index_datasource(es, "hr-no-updated", query, user=hr.user, passwordEnv="JDBC_PASSWORD_HR_TEST")
    key = gateway.create_api_key(scopes=ALL_SCOPES)
    code, _, err = _job(
        gateway, key, "hr-no-updated", tmp_path, "--since", "2026-01-01", JDBC_PASSWORD_HR_TEST=hr.password
    )
    assert code == 1
    assert "--since needs an 'updated' column, and the identities query has none" in err
    assert _count(es, "identities") == 0  # nothing was read or written
    code, out, err = _job(gateway, key, "hr-no-updated", tmp_path, JDBC_PASSWORD_HR_TEST=hr.password)
    assert code == 0 and "identities: 4 loaded" in out, err


def test_a_query_cannot_append_statements_of_its_own(
    gateway: GatewayProcess, es: Elasticsearch, hr: HrDatabase, tmp_path: Path
) -> None:
    """The query closes the gateway's subquery and adds statements: one bound parameter makes the driver
    send a single statement (extended protocol), which the server refuses."""
    escape = (
        "SELECT employee_number AS usr_id FROM people) x; COMMIT; BEGIN READ WRITE; "
        "CREATE TEMP TABLE escaped (a int); COMMIT; "
        "SELECT * FROM (SELECT employee_number AS usr_id FROM people"
    )
    hr.index_datasource(es, "hr-escape", escape, user=hr.user, passwordEnv="JDBC_PASSWORD_HR_TEST")
    code, out, err = _job(
        gateway,
        gateway.create_api_key(scopes=ALL_SCOPES),
        "hr-escape",
        tmp_path,
        JDBC_PASSWORD_HR_TEST=hr.password,
    )
    assert code == 2, out + err
    assert "jdbc:identities:0: query failed" in err and "multiple commands" in err
    assert _count(es, "identities") == 0


def test_definitions_carrying_credentials_are_refused_before_anything_is_read(
    gateway: GatewayProcess, es: Elasticsearch, hr: HrDatabase, tmp_path: Path
) -> None:
    url = hr.server.url(hr.user, hr.name).replace("@", f":{hr.password}@")
    document = {
        "datasource_id": "hr-inline",
        "name": "HR-inline",
        "isActive": True,
        "entityTypes": {"/autoid/system/datasources/hr-inline/identities": {"query": PEOPLE}},
        "connectionSettings": {"jdbc": {"url": url}},
    }
    es.index(index=DATASOURCES_INDEX, id=document_id("hr-inline"), document=document, refresh=True)
    code, out, err = _job(gateway, gateway.create_api_key(scopes=ALL_SCOPES), "hr-inline", tmp_path)
    assert code == 1 and "the URL carries a password: use passwordEnv or passwordFile instead" in err
    assert hr.password not in out + err
    assert _count(es, "identities") == 0

    hr.index_datasource(es, "hr-key", PEOPLE, user=hr.user, passwordEnv="INGEST_API_KEY")
    code, _, err = _job(gateway, gateway.create_api_key(scopes=ALL_SCOPES), "hr-key", tmp_path)
    assert code == 1 and "passwordEnv must name a variable JDBC_PASSWORD_<name>, not INGEST_API_KEY" in err


def _renewals(gateway: GatewayProcess) -> int:
    """Lease renewals the gateway answered 200, from its own metrics."""
    metrics = httpx.get(f"{gateway.url}/metrics", timeout=30).text
    return sum(
        int(sample.value)
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "gateway_http_requests_total"
        and sample.labels["route"] == "/api/ingest/sync/{datasourceId}/renew"
        and sample.labels["status"] == "200"
    )


def test_the_job_renews_its_lease_while_it_waits_for_its_source(
    es: Elasticsearch, es_url: str, hr: HrDatabase, tmp_path: Path
) -> None:
    """The job's query waits on a table lock the test holds: a deterministic pause, as long as the test
    wants. The test lets it go only after the run's first lease has expired and the gateway has answered
    two renewals; the rows are then written after that expiry, which only a renewed lease allows."""
    query = (
        "SELECT employee_number AS usr_id, full_name AS usr_name FROM people "
        "WHERE employee_number IN ('e1', 'e2')"
    )
    hr.index_datasource(es, "hr-lease", query, user=hr.user, passwordEnv="JDBC_PASSWORD_HR_TEST")
    shared = {
        "GATEWAY_ADMIN_USERNAME": ADMIN_USER,
        "GATEWAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "GATEWAY_SYNC_LEASE_SECONDS": "10",  # renewed every 3.3 s: 6.7 s to spare on a busy machine
    }
    gateway = GatewayProcess(es_url, tmp_path / "gateway", shared)
    job: subprocess.Popen[str] | None = None
    try:
        gateway.wait_ready()
        env = dict(
            os.environ,
            INGEST_API_KEY=gateway.create_api_key(scopes=ALL_SCOPES),
            TENANT_ID=TEST_TENANT_ID,
            GATEWAY_DATA_ROOT=str(tmp_path),
            JDBC_PASSWORD_HR_TEST=hr.password,
        )
        with hr.server.connect(hr.name) as db:
            with db.transaction():
                db.execute("LOCK TABLE people IN ACCESS EXCLUSIVE MODE")
                job = start_cli(
                    "ingest-job", "--datasource", "hr-lease", "--url", gateway.url, "--no-progress", env=env
                )
                waiting = "SELECT count(*) FROM pg_locks WHERE relation = 'people'::regclass AND NOT granted"
                eventually(
                    lambda: db.execute(waiting).fetchone() == (1,), "the job's query waiting on the lock"
                )
                lease = es.get(index="gateway-sync-leases", id="hr-lease")["_source"]
                first_expiry = dt.datetime.fromisoformat(lease["expires"])
                eventually(
                    lambda: dt.datetime.now(dt.UTC) > first_expiry and _renewals(gateway) >= 2,
                    "the first lease to expire while the job renews it",
                    within=120,
                )
                assert job.poll() is None, job.communicate()  # still waiting for its rows
            out, err = job.communicate(timeout=300)  # the lock is gone: the rows are read and written now
        assert job.returncode == 0, err
        assert "identities: 2 loaded from jdbc:identities\n" in out
        assert _count(es, "identities") == 2
        assert es.options(ignore_status=404).get(index="gateway-sync-leases", id="hr-lease")["found"] is False
    finally:
        if job is not None and job.poll() is None:  # a failed wait: leave no job behind
            job.kill()
            job.communicate()
        gateway.stop()
