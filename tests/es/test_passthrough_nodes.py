"""The passthrough client over several nodes: dead nodes skipped and retried elsewhere, back-off, sniffing.

The live node is the real test node. The "other nodes" are real sockets on loopback: a closed port, or a
relay to the real node that forwards, drops connections mid-request or never answers — the failures a
node that is killed, crashes or hangs shows a client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import orjson
import pytest
from elasticsearch import Elasticsearch

from gateway.errors import ElasticsearchUnavailable
from gateway.es.client import build_client
from gateway.es.connection import DEAD_BACKOFF
from gateway.es.connection_settings import ConnectionSettings
from gateway.es.passthrough import PassthroughClient
from gateway.es.sniff import NodeSniffer, sniffed_urls
from tests.helpers import FrozenClock, free_port, make_settings

INDEX = "autonomous-iam_passthrough_nodes"
BODY = orjson.dumps({"query": {"match_all": {}}})

Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture(autouse=True)
def _documents(es: Elasticsearch) -> None:
    es.index(index=INDEX, document={"n": 1}, refresh=True)


class Relay:
    """A real TCP endpoint in front of the real node, behaving as told; counts the connections it got."""

    def __init__(self, target: str, port: int, mode: str) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 9200)
        self.port = port
        self.mode = mode  # "forward" | "drop" (close once a request arrived) | "hang" (read, never answer)
        self.connections = 0
        self._server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            if self.mode == "forward":
                up_reader, up_writer = await asyncio.open_connection(*self.target)
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            elif self.mode == "drop":
                await reader.read(1)
            else:
                while await reader.read(65536):
                    pass
        finally:
            writer.close()

    async def __aenter__(self) -> Relay:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 1)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def _client(
    es_url: str, request_timeout: float = 10, clock: FrozenClock | None = None
) -> AsyncIterator[PassthroughClient]:
    """A client whose dead nodes stay dead until its clock is moved (a frozen one unless given)."""
    settings = make_settings(es_url=es_url, es_request_timeout=request_timeout)
    client = PassthroughClient(ConnectionSettings.from_settings(settings), clock=clock or FrozenClock())
    try:
        yield client
    finally:
        await client.close()


async def _statuses(client: PassthroughClient, count: int) -> list[int]:
    answers = await asyncio.gather(*(client.post(f"/{INDEX}/_search", BODY) for _ in range(count)))
    return [answer.status for answer in answers]


def test_a_refused_node_is_marked_dead_and_its_searches_go_to_the_live_one(es_url: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"

    async def run() -> tuple[list[int], list[int], list[str]]:
        async with _client(f"{dead},{es_url}") as client:
            first = await _statuses(client, 20)  # in one batch: some go to the dead node first
            sequential = [(await client.post(f"/{INDEX}/_search", BODY)).status for _ in range(10)]
            return first, sequential, client.alive()

    first, sequential, alive = asyncio.run(run())
    assert first == [200] * 20 and sequential == [200] * 10
    assert alive == [es_url]


@pytest.mark.parametrize("mode", ["drop", "hang"])
def test_searches_a_node_took_and_lost_are_answered_by_another(es_url: str, mode: str) -> None:
    """A node that closes connections mid-request (killed) or never answers (hung) loses no search."""
    port = free_port()

    async def run() -> tuple[list[int], list[str], int]:
        urls = f"http://127.0.0.1:{port},{es_url}"
        async with Relay(es_url, port, mode) as relay, _client(urls, 10) as client:
            statuses = []
            for _ in range(3):  # round-robin: the broken node gets its turn
                statuses += await _statuses(client, 12)
            return statuses, client.alive(), relay.connections

    statuses, alive, connections = asyncio.run(run())
    assert statuses == [200] * 36
    assert connections >= 1  # the broken node really was sent searches
    assert alive == [es_url]


def test_a_dead_node_is_tried_again_after_its_back_off_and_used_when_back(es_url: str) -> None:
    port = free_port()
    node = f"http://127.0.0.1:{port}"

    clock = FrozenClock()

    async def run() -> tuple[list[str], list[str], int, list[int]]:
        async with _client(f"{node},{es_url}", clock=clock) as client:
            await _statuses(client, 10)
            while_dead = client.alive()
            async with Relay(es_url, port, "forward") as relay:  # the node comes back
                assert relay.connections == 0 and client.alive() == [es_url]  # within its back-off
                clock.advance(DEAD_BACKOFF)
                statuses = []
                for _ in range(4):
                    statuses += await _statuses(client, 4)
                return while_dead, client.alive(), relay.connections, statuses

    while_dead, after, connections, statuses = asyncio.run(run())
    assert while_dead == [es_url]
    assert statuses == [200] * 16
    assert connections >= 1
    assert after == [node, es_url]


def test_when_every_node_is_down_each_search_fails_promptly_with_unavailable() -> None:
    urls = ",".join(f"http://127.0.0.1:{free_port()}" for _ in range(3))

    async def run() -> list[BaseException | object]:
        async with _client(urls, 2) as client:
            searches = (client.post(f"/{INDEX}/_search", BODY) for _ in range(5))
            # a generous bound: only a hang ends here (a refused connection fails at once)
            return await asyncio.wait_for(asyncio.gather(*searches, return_exceptions=True), 60)

    results = asyncio.run(run())
    assert len(results) == 5 and all(isinstance(r, ElasticsearchUnavailable) for r in results)
    assert all("unreachable" in str(r) for r in results)


def test_a_search_no_node_answers_in_time_fails_after_two_nodes_not_all() -> None:
    """A timeout may be the search itself (an expensive query): it is sent to one more node, no further."""
    ports = [free_port() for _ in range(3)]

    async def run() -> tuple[BaseException | None, int]:
        relays = [Relay("http://127.0.0.1:9", port, "hang") for port in ports]
        async with contextlib.AsyncExitStack() as stack:
            for relay in relays:
                await stack.enter_async_context(relay)
            client = await stack.enter_async_context(
                _client(",".join(f"http://127.0.0.1:{p}" for p in ports), 1)
            )
            try:
                await asyncio.wait_for(client.post(f"/{INDEX}/_search", BODY), 60)  # bounds a hang only
            except ElasticsearchUnavailable as exc:
                return exc, sum(relay.connections for relay in relays)
        return None, sum(relay.connections for relay in relays)

    error, connections = asyncio.run(run())
    assert error is not None and "in time" in str(error)
    assert connections == 2


def test_when_every_node_is_known_dead_a_search_tries_one_not_each() -> None:
    ports = [free_port() for _ in range(3)]

    async def run() -> tuple[int, int]:
        relays = [Relay("http://127.0.0.1:9", port, "drop") for port in ports]
        async with contextlib.AsyncExitStack() as stack:
            for relay in relays:
                await stack.enter_async_context(relay)
            client = await stack.enter_async_context(
                _client(",".join(f"http://127.0.0.1:{p}" for p in ports))
            )
            with pytest.raises(ElasticsearchUnavailable):
                await client.post(f"/{INDEX}/_search", BODY)  # finds out: every node drops it
            first = sum(relay.connections for relay in relays)
            with pytest.raises(ElasticsearchUnavailable):
                await client.post(f"/{INDEX}/_search", BODY)
            return first, sum(relay.connections for relay in relays) - first

    first, second = asyncio.run(run())
    assert (first, second) == (3, 1)


def test_a_node_whose_name_cannot_be_encoded_fails_over_instead_of_hanging(es_url: str) -> None:
    """Sniffed addresses come from the cluster; a name the resolver refuses is just an unreachable node."""

    async def run() -> tuple[list[int], BaseException | None]:
        async with _client(es_url) as client:
            client.set_nodes([f"http://{'x' * 64}.example:9200", es_url])
            statuses = await asyncio.wait_for(_statuses(client, 6), 60)  # bounds a hang only
            client.set_nodes([f"http://{'x' * 64}.example:9200"])
            try:
                await asyncio.wait_for(client.post(f"/{INDEX}/_search", BODY), 60)
            except ElasticsearchUnavailable as exc:
                return statuses, exc
            return statuses, None

    statuses, error = asyncio.run(run())
    assert statuses == [200] * 6
    assert isinstance(error, ElasticsearchUnavailable)


def test_searches_still_queued_when_the_client_closes_are_answered(es_url: str) -> None:
    async def run() -> BaseException | object:
        client = PassthroughClient(ConnectionSettings.from_settings(make_settings(es_url=es_url)))
        queued = asyncio.ensure_future(client.post(f"/{INDEX}/_search", BODY))
        await asyncio.sleep(0)  # queued for the next loop iteration, not sent yet
        await client.close()
        return (await asyncio.gather(queued, return_exceptions=True))[0]

    assert isinstance(asyncio.run(run()), ElasticsearchUnavailable)


def test_sniffing_replaces_the_configured_nodes_with_the_cluster_s(es_url: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    connection = ConnectionSettings.from_settings(make_settings(es_url=f"{dead},{es_url}", es_sniff=True))

    async def run() -> tuple[list[str], list[str], list[int]]:
        es = build_client(connection)
        client = PassthroughClient(connection)
        sniffer = NodeSniffer(es, client, connection.urls[0])
        try:
            found = await sniffer.sniff()
            return found, client.nodes, await _statuses(client, 5)
        finally:
            await sniffer.close()
            await client.close()
            await es.close()

    found, nodes, statuses = asyncio.run(run())
    port = urlsplit(es_url).port
    assert found == nodes and len(nodes) == 1 and nodes[0].endswith(f":{port}")
    assert statuses == [200] * 5


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1:9201", "https://127.0.0.1:9201/es"),
        ("es01.example/10.0.0.7:9200", "https://es01.example:9200/es"),
        ("/10.0.0.7:9200", "https://10.0.0.7:9200/es"),
        ("[::1]:9200", "https://[::1]:9200/es"),
    ],
)
def test_sniffed_addresses_keep_the_configured_scheme_and_path(address: str, expected: str) -> None:
    info = {"nodes": {"a": {"http": {"publish_address": address}, "roles": ["data", "master"]}}}
    assert sniffed_urls(info, "https://seed:9200/es/") == [expected]


def test_sniffing_leaves_out_dedicated_masters_and_garbage() -> None:
    info = {
        "nodes": {
            "m": {"http": {"publish_address": "10.0.0.1:9200"}, "roles": ["master"]},
            "d": {"http": {"publish_address": "10.0.0.2:9200"}, "roles": ["data"]},
            "x": {"http": {"publish_address": "no-port"}},
            "y": {"http": {}},
            "z": "not an object",
        }
    }
    assert sniffed_urls(info, "http://seed:9200") == ["http://10.0.0.2:9200"]
    assert sniffed_urls({"error": "x"}, "http://seed:9200") == []
