"""HTTP/1.1 as clients (and attackers) speak it, over real sockets, to a ``gateway serve`` process.

Every test runs against the search (answered ahead of FastAPI) and a FastAPI route, plain and over TLS
where the transport matters: whatever code comes to answer either path must keep these answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from gateway.http.limits import MAX_HEAD_BYTES, MAX_HEADER_FIELDS, MAX_REQUESTS
from tests.helpers import GatewayProcess, replica_env
from tests.http.raw import TARGETS, Connection, Target, chunked, refused_and_closed, request

MAX_BODY_BYTES = 16 * 1024 * 1024  # the largest body any route takes by default (ingest's)


@dataclass
class Served:
    gateway: GatewayProcess
    key: str


def _serve(es_url: str, tmp_path_factory: pytest.TempPathFactory, *, tls: bool) -> Iterator[Served]:
    gateway = GatewayProcess(es_url, tmp_path_factory.mktemp("gateway") / "state", replica_env(), tls=tls)
    try:
        gateway.wait_ready()
        yield Served(gateway, gateway.create_api_key())
    finally:
        gateway.stop()


@pytest.fixture(scope="module")
def plain(es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from _serve(es_url, tmp_path_factory, tls=False)


@pytest.fixture(scope="module")
def tls(es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from _serve(es_url, tmp_path_factory, tls=True)


@pytest.fixture(params=["plain", "tls"])
def served(request: pytest.FixtureRequest) -> Served:
    result: Served = request.getfixturevalue(request.param)
    return result


@pytest.fixture(params=TARGETS, ids=lambda target: target.name)
def target(request: pytest.FixtureRequest) -> Target:
    result: Target = request.param
    return result


def _post(target: Target, key: str, body: bytes, **extra: str) -> bytes:
    return request(
        "POST", target.path, {**target.headers(key), "content-type": "application/json", **extra}, body
    )


def test_pipelined_requests_are_answered_in_order(served: Served, target: Target) -> None:
    ok, bad = (_post(target, served.key, body) for body in (target.ok_body, target.bad_body))
    with Connection(served.gateway) as connection:
        connection.send(ok + bad + ok + bad)
        answers = [connection.response() for _ in range(4)]
    assert [answer.status == 200 for answer in answers] == [True, False, True, False]
    assert all(target.ok_mark in answer.body for answer in answers[::2])
    assert all(400 <= answer.status < 500 and "error" in answer.json() for answer in answers[1::2])


def test_a_chunked_body_is_read_whole(served: Served, target: Target) -> None:
    body = target.ok_body
    parts = chunked(body[:5], body[5:9], body[9:])
    with Connection(served.gateway) as connection:
        connection.send(_post(target, served.key, parts, **{"transfer-encoding": "chunked"}))
        answer = connection.response()
        assert answer.status == 200 and target.ok_mark in answer.body
        connection.send(_post(target, served.key, body))  # the connection stays usable
        assert connection.response().status == 200


def test_expect_100_continue_is_answered_before_the_body_is_sent(plain: Served, target: Target) -> None:
    head = _post(
        target, plain.key, b"", expect="100-continue", **{"content-length": str(len(target.ok_body))}
    )
    with Connection(plain.gateway) as connection:
        connection.send(head)
        assert connection.response().status == 100
        connection.send(target.ok_body)
        answer = connection.response()
    assert answer.status == 200 and target.ok_mark in answer.body


@pytest.mark.parametrize(
    "framing",
    [
        {"content-length": "5", "transfer-encoding": "chunked"},
        {"transfer-encoding": "chunked", "content-length": "5"},
        {"content-length": "5", "Content-Length": "6"},
    ],
    ids=["CL then TE", "TE then CL", "two Content-Lengths"],
)
def test_ambiguous_body_framing_is_refused_and_the_connection_closed(
    served: Served, target: Target, framing: dict[str, str]
) -> None:
    # A request a front proxy could read one way and the gateway another (request smuggling): never served.
    smuggled = request("GET", "/version", {})
    with Connection(served.gateway) as connection:
        connection.send(_post(target, served.key, b"0\r\n\r\n" + smuggled, **framing))
        answer = refused_and_closed(connection, 400)
    assert answer.json()["error"]["code"] == "bad_request"


def _send_until_answered(connection: Connection, first: bytes, more: bytes, limit: int) -> int:
    """Send ``first``, then ``more`` again and again until an answer arrives; the bytes sent."""
    connection.send(first)
    sent = len(first)
    while not connection.readable():
        assert sent < limit, "nothing answered before the whole request was sent"
        connection.send(more)
        sent += len(more)
    return sent


HEAD_PATHS = [("GET", "/version"), ("POST", TARGETS[0].path), ("POST", TARGETS[1].path)]


@pytest.mark.parametrize(("method", "path"), HEAD_PATHS, ids=["version", "search", "login"])
def test_an_8_mb_header_is_refused_before_it_is_all_sent(served: Served, method: str, path: str) -> None:
    with Connection(served.gateway) as connection:
        start = f"{method} {path} HTTP/1.1\r\nhost: gateway\r\nx-big: ".encode()
        _send_until_answered(connection, start, b"a" * 65536, 8 * 1024 * 1024)
        answer = refused_and_closed(connection, 431)
    assert answer.json()["error"]["code"] == "request_header_fields_too_large"


@pytest.mark.parametrize(("method", "path"), HEAD_PATHS, ids=["version", "search", "login"])
def test_2000_header_fields_are_refused_before_the_head_ends(served: Served, method: str, path: str) -> None:
    with Connection(served.gateway) as connection:
        # The head never ends: the answer proves the fields were counted as they came.
        fields = b"".join(b"x-%d: a\r\n" % i for i in range(2000))
        connection.send(f"{method} {path} HTTP/1.1\r\nhost: gateway\r\n".encode() + fields)
        refused_and_closed(connection, 431)


def test_a_large_head_pipelined_behind_a_request_in_one_write_is_refused(served: Served) -> None:
    # The second head begins in the read that completes the first request: it is measured all the same.
    first = request("GET", "/livez", {})
    second = request("GET", "/livez", {"x-big": "a" * (4 * MAX_HEAD_BYTES)})
    with Connection(served.gateway) as connection:
        connection.send(first + second)
        assert connection.response().status == 200
        refused_and_closed(connection, 431)


def test_a_head_at_the_limits_is_served(plain: Served) -> None:
    fields = {f"x-{i}": "a" for i in range(MAX_HEADER_FIELDS - 2)}  # with host and the one below
    fields["x-big"] = "a" * (MAX_HEAD_BYTES - 2000)
    with Connection(plain.gateway) as connection:
        connection.send(request("GET", "/version", fields))
        assert connection.response().status == 200


def test_a_declared_body_over_the_largest_limit_is_refused_before_the_app_runs(
    served: Served, target: Target
) -> None:
    # No key: were the app to run, the search would answer 401 before it looked at the body.
    with Connection(served.gateway) as connection:
        connection.send(request("POST", target.path, {"content-length": str(MAX_BODY_BYTES + 1)}))
        answer = refused_and_closed(connection, 413)
    assert answer.json()["error"]["code"] == "payload_too_large"


def _send_chunked_until_answered(connection: Connection, path: str, headers: dict[str, str]) -> None:
    head = request("POST", path, {**headers, "transfer-encoding": "chunked"})
    piece = chunked(b"a" * 1024 * 1024)[: -len(b"0\r\n\r\n")]  # one 1 MiB chunk, not the last one
    _send_until_answered(connection, head, piece, 2 * MAX_BODY_BYTES)


def test_a_chunked_body_over_a_routes_limit_is_refused_by_the_route(served: Served, target: Target) -> None:
    with Connection(served.gateway) as connection:
        _send_chunked_until_answered(connection, target.path, target.headers(served.key))
        answer = connection.response()
    assert answer.status == 413 and answer.json()["error"]["code"] == "payload_too_large"


def test_a_chunked_body_over_the_largest_limit_is_refused_and_the_connection_closed(served: Served) -> None:
    # Ingest takes the largest bodies: past its limit the server refuses before the route sees more.
    with Connection(served.gateway) as connection:
        _send_chunked_until_answered(connection, "/api/ingest/identities", TARGETS[0].headers(served.key))
        answer = refused_and_closed(connection, 413)
    assert answer.json()["error"]["code"] == "payload_too_large"


def test_head_requests_get_a_head_and_the_connection_stays_usable(served: Served, target: Target) -> None:
    with Connection(served.gateway) as connection:
        for path in ("/version", target.path):
            connection.send(request("HEAD", path, target.headers(served.key)))
            answer = connection.response(to_head=True)
            assert answer.body == b"" and answer.status < 500
        connection.send(_post(target, served.key, target.ok_body))
        assert connection.response().status == 200


def test_an_idle_keep_alive_connection_is_closed(served: Served, target: Target) -> None:
    with Connection(served.gateway) as connection:
        connection.send(_post(target, served.key, target.ok_body))
        assert connection.response().status == 200
        assert connection.closed()  # uvicorn's keep-alive timeout (5 s); the socket timeout bounds a hang


def test_the_last_request_a_connection_may_carry_is_answered_with_connection_close(plain: Served) -> None:
    search = _post(TARGETS[0], plain.key, TARGETS[0].ok_body)
    livez = request("GET", "/livez", {})
    with Connection(plain.gateway) as connection:
        answers = []
        for _ in range(MAX_REQUESTS // 100):
            connection.send((search + livez) * 50)
            answers += [connection.response() for _answer in range(100)]
        assert connection.closed()
    assert [answer.status for answer in answers] == [200] * MAX_REQUESTS
    assert [answer.headers.get("connection") for answer in answers[-2:]] == [None, "close"]
