"""Both clients reach Elasticsearch the same way: the credentials and the TLS settings of one
``ConnectionSettings``.

The endpoint is a real HTTP(S) server on loopback that answers every request as Elasticsearch would and
records the ``Authorization`` header it got, so each client is seen from the server's side.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import TransportError

from gateway.errors import ElasticsearchUnavailable
from gateway.es.client import build_client
from gateway.es.connection_settings import ConnectionSettings
from gateway.es.passthrough import PassthroughClient
from gateway.http.tls import generate_self_signed
from tests.helpers import make_settings

ANSWER = b'{"hits": {"hits": []}}'


class Endpoint:
    """Answers every request 200 with Elasticsearch's product header; keeps each Authorization header."""

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode("latin-1").split("\r\n")[1:]
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)
                }
                await reader.readexactly(int(headers.get("content-length", "0")))
                self.authorizations.append(headers.get("authorization"))
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"X-Elastic-Product: Elasticsearch\r\n"
                    b"Content-Length: " + str(len(ANSWER)).encode() + b"\r\n\r\n" + ANSWER
                )
                await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def endpoint(tls: ssl.SSLContext | None = None) -> AsyncIterator[tuple[Endpoint, str]]:
    recorder = Endpoint()
    server = await asyncio.start_server(recorder.serve, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    try:
        yield recorder, f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.close()


async def _both_clients(connection: ConnectionSettings) -> list[str]:
    """What each client got: "ok", or the kind of failure it reported."""
    outcomes = []
    es = build_client(connection)
    try:
        await es.search(index="x")
        outcomes.append("ok")
    except TransportError:
        outcomes.append("unavailable")
    finally:
        await es.close()
    passthrough = PassthroughClient(connection)
    try:
        answer = await passthrough.post("/x/_search", b"{}")
        outcomes.append("ok" if answer.status == 200 else str(answer.status))
    except ElasticsearchUnavailable:
        outcomes.append("unavailable")
    finally:
        await passthrough.close()
    return outcomes


@pytest.mark.parametrize(
    ("credentials", "header"),
    [
        ({"es_username": "elastic", "es_password": "s3cret:x"}, "Basic ZWxhc3RpYzpzM2NyZXQ6eA=="),
        ({"es_api_key": "a2V5OnNlY3JldA=="}, "ApiKey a2V5OnNlY3JldA=="),
        ({}, None),
    ],
)
def test_both_clients_send_the_configured_credentials(
    credentials: dict[str, Any], header: str | None
) -> None:
    async def run() -> tuple[list[str], list[str | None]]:
        async with endpoint() as (recorder, url):
            connection = ConnectionSettings.from_settings(make_settings(es_url=url, **credentials))
            return await _both_clients(connection), recorder.authorizations

    outcomes, authorizations = asyncio.run(run())
    assert outcomes == ["ok", "ok"]
    assert authorizations == [header, header]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param({"es_ca_certs": "CERT"}, ["ok", "ok"], id="the cluster's CA"),
        pytest.param({}, ["unavailable", "unavailable"], id="no CA given: the system's"),
        pytest.param({"es_verify_certs": False}, ["ok", "ok"], id="verification off"),
    ],
)
def test_both_clients_trust_the_same_certificates(
    overrides: dict[str, Any], expected: list[str], tmp_path: Path
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    generate_self_signed(cert, key, ["localhost"])
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    overrides = {name: cert if value == "CERT" else value for name, value in overrides.items()}

    async def run() -> list[str]:
        async with endpoint(server_tls) as (_, url):
            return await _both_clients(
                ConnectionSettings.from_settings(make_settings(es_url=url, **overrides))
            )

    assert asyncio.run(run()) == expected


def test_plain_http_needs_no_tls_context() -> None:
    connection = ConnectionSettings.from_settings(make_settings(es_url="http://127.0.0.1:9200"))
    assert connection.ssl_context is None and connection.authorization is None


def test_the_secrets_stay_out_of_its_repr() -> None:
    connection = ConnectionSettings.from_settings(
        make_settings(es_url="https://es.example:9200", es_username="elastic", es_password="s3cret")
    )
    assert "s3cret" not in repr(connection)


def test_the_tls_context_is_built_once_for_both_clients() -> None:
    connection = ConnectionSettings.from_settings(make_settings(es_url="https://es.example:9200"))
    assert connection.ssl_context is not None
    assert connection.ssl_context is connection.ssl_context
