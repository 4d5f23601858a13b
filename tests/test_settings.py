"""Configuration: fail fast with a readable message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.settings import DEMO_TENANT_ID
from tests.helpers import make_settings, run_cli


def test_serve_without_tenant_id_names_the_variable() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TENANT_ID"}
    result = run_cli("serve", env=env, timeout=60)
    assert result.returncode == 1
    assert "TENANT_ID" in result.stderr
    assert "Traceback" not in result.stderr


def test_tenant_id_must_be_a_uuid() -> None:
    with pytest.raises(ValidationError, match=r"(?i)tenant_id"):
        make_settings(tenant_id="not-a-uuid")


def test_tls_cert_without_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="GATEWAY_TLS_KEY"):
        make_settings(tls_cert=tmp_path / "cert.pem")


def test_es_credentials_are_checked_for_consistency() -> None:
    with pytest.raises(ValidationError, match="ES_PASSWORD"):
        make_settings(es_username="elastic")
    with pytest.raises(ValidationError, match="not both"):
        make_settings(es_username="elastic", es_password="x", es_api_key="k")


@pytest.mark.parametrize("username", ["..", ".", "a/b", "admin@exa\nmple.com", "x\u202ey"])
def test_a_first_admin_username_outside_the_grammar_is_refused_up_front(username: str) -> None:
    with pytest.raises(ValidationError, match="GATEWAY_ADMIN_USERNAME: a username is"):
        make_settings(admin_username=username)


def test_datasource_index_uses_the_tenant_name() -> None:
    assert make_settings().datasource_index == "autonomous-iam_common_datasources_latest"


@pytest.mark.parametrize(("raw", "count"), [("1", 1), ("2", 2), (3, 3), ("all", "all"), (" ALL ", "all")])
def test_the_ingest_shard_count_is_a_positive_integer_or_all(raw: object, count: object) -> None:
    assert make_settings(ingest_wait_for_active_shards=raw).ingest_wait_for_active_shards == count
    assert make_settings().ingest_wait_for_active_shards == 1


@pytest.mark.parametrize("raw", ["0", 0, "-1", "1.5", "two", "", "1001", True, "\u00b2"])
def test_other_ingest_shard_counts_are_refused_with_the_variable_named(raw: object) -> None:
    with pytest.raises(ValidationError, match="WAIT_FOR_ACTIVE_SHARDS must be all or an integer from 1"):
        make_settings(ingest_wait_for_active_shards=raw)


def test_ingest_writes_wait_for_shard_copies_less_long_than_the_client_waits() -> None:
    assert make_settings(es_request_timeout=10).ingest_shard_timeout == 5


def test_a_short_first_admin_password_is_refused_up_front() -> None:
    with pytest.raises(ValidationError, match="GATEWAY_ADMIN_PASSWORD needs at least 8 characters") as error:
        make_settings(admin_password="shorty")
    assert "shorty" not in str(error.value)  # the refused secret is not echoed


@pytest.mark.parametrize("command", ["serve", "up"])
def test_gateway_refuses_to_start_with_a_short_first_admin_password(command: str, tmp_path: Path) -> None:
    env = dict(
        os.environ,
        TENANT_ID=DEMO_TENANT_ID,
        GATEWAY_ADMIN_USERNAME="admin@example.com",
        GATEWAY_ADMIN_PASSWORD="shorty",
        GATEWAY_STATE_DIR=str(tmp_path),
        ES_URL="http://127.0.0.1:1",  # never reached: configuration is checked first
    )
    result = run_cli(command, "--port", "1", env=env, timeout=30)
    assert result.returncode == 1
    assert "GATEWAY_ADMIN_PASSWORD needs at least 8 characters" in result.stderr
    assert "Traceback" not in result.stderr and "shorty" not in result.stderr


def test_es_url_takes_several_nodes_separated_by_commas() -> None:
    settings = make_settings(es_url=" http://10.0.0.1:9200/, http://10.0.0.2:9200,http://es3.example ")
    assert settings.es_urls == ["http://10.0.0.1:9200", "http://10.0.0.2:9200", "http://es3.example"]
    assert make_settings().es_urls == ["http://127.0.0.1:9200"]


@pytest.mark.parametrize(
    ("es_url", "message"),
    [
        ("http://a:9200,,http://b:9200", "empty entry"),
        ("http://a:9200,https://b:9200", "mixes http and https"),
        ("http://a:9200,http://a:9200", "same node twice"),
        ("ftp://a:9200", "not an http:// or https:// URL"),
        ("a:9200", "not an http:// or https:// URL"),
        ("http://a:99999", "invalid port"),
        ("http://a:9200?x=1", "query or fragment"),
    ],
)
def test_a_malformed_es_url_is_refused_naming_the_problem(es_url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make_settings(es_url=es_url)


def test_credentials_in_es_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(ValidationError, match="must not carry credentials") as caught:
        make_settings(es_url="http://elastic:s3cret-pw@a:9200")
    assert "s3cret-pw" not in str(caught.value)


def test_gateway_refuses_to_start_with_a_bad_ingest_shard_count(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        TENANT_ID=DEMO_TENANT_ID,
        GATEWAY_INGEST_WAIT_FOR_ACTIVE_SHARDS="0",
        GATEWAY_STATE_DIR=str(tmp_path),
        ES_URL="http://127.0.0.1:1",  # never reached: configuration is checked first
    )
    result = run_cli("serve", "--port", "1", env=env, timeout=30)
    assert result.returncode == 1
    assert "GATEWAY_INGEST_WAIT_FOR_ACTIVE_SHARDS must be all or an integer from 1 to 1000" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("raw", "stored"), [("off", "off"), (" OFF ", "off"), ("600/60", "600/60"), ("1/86400", "1/86400")]
)
def test_the_default_key_rate_limit_is_n_per_s_or_off(raw: str, stored: str) -> None:
    assert make_settings(key_rate_limit=raw).key_rate_limit == stored
    assert make_settings().key_rate_limit == "off"  # an upgrade never throttles a running job


@pytest.mark.parametrize("raw", ["0/60", "5/0", "5", "1000001/1", "1/86401", "ten/60", "-5/60", "5/60/2"])
def test_other_default_key_rate_limits_are_refused_with_the_variable_named(raw: str) -> None:
    with pytest.raises(ValidationError, match="GATEWAY_KEY_RATE_LIMIT"):
        make_settings(key_rate_limit=raw)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("GATEWAY_HEADER_TIMEOUT", 0), ("GATEWAY_BODY_TIMEOUT", -1), ("GATEWAY_MAX_CONNECTIONS", 0)],
)
def test_connection_limits_must_be_positive(variable: str, value: float) -> None:
    with pytest.raises(ValidationError, match=variable):
        make_settings(**{variable: value})
