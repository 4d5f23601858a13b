"""HTTP/1.1 over a bare socket (plain or TLS), for tests of what the server does with the bytes it gets.

Two kinds of request are sent to every protocol test: the passthrough search (served ahead of FastAPI)
and a FastAPI route (the admin login), because they may be served by different code.
"""

from __future__ import annotations

import json
import select
import socket
import ssl
from dataclasses import dataclass
from typing import Any

from tests.helpers import ADMIN_PASSWORD, ADMIN_USER, DOCUMENTED_SEARCH, TEST_TENANT_ID, GatewayProcess

SOCKET_TIMEOUT = 60  # bounds a hang only: the tests wait for answers and closes, never for a duration


@dataclass(frozen=True)
class Target:
    """A POST route: a body it answers 200 (with ``ok_mark`` in the answer) and one it refuses (4xx)."""

    name: str
    path: str
    ok_body: bytes
    ok_mark: bytes
    bad_body: bytes
    key_header: bool

    def headers(self, key: str) -> dict[str, str]:
        return {"authorization": key, "x-tenant-id": TEST_TENANT_ID} if self.key_header else {}


SEARCH = Target(
    "search",
    "/jas/datasource/search",
    json.dumps(DOCUMENTED_SEARCH).encode(),
    b'"hits"',
    b'{"query": {"profile": true}}',
    key_header=True,
)
LOGIN = Target(
    "login",
    "/api/authentication/login",
    json.dumps({"username": ADMIN_USER, "password": ADMIN_PASSWORD}).encode(),
    ADMIN_USER.encode(),
    b'{"username": ""}',
    key_header=False,
)
TARGETS = [SEARCH, LOGIN]


def request(method: str, path: str, headers: dict[str, str], body: bytes | None = None) -> bytes:
    """One request; with a body and no Content-Length or Transfer-Encoding given, its Content-Length."""
    fields = {"host": "gateway", **headers}
    if body is not None and not {"content-length", "transfer-encoding"} & {h.lower() for h in fields}:
        fields["content-length"] = str(len(body))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    return head.encode("latin-1") + (body or b"")


def chunked(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """One client connection to ``gateway`` (TLS when it serves TLS); ``responses`` parses its answers."""

    def __init__(self, gateway: GatewayProcess) -> None:
        sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=SOCKET_TIMEOUT)
        if gateway.tls:
            sock = gateway.client_tls().wrap_socket(sock, server_hostname="127.0.0.1")
        self.sock = sock
        self.buffer = b""
        self.ended = False

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        if self.ended:
            return False
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLEOFError):
            chunk = b""
        self.buffer += chunk
        return bool(chunk)

    def response(self, *, to_head: bool = False) -> Response:
        while b"\r\n\r\n" not in self.buffer:
            assert self._fill(), f"connection closed after {self.buffer!r}"
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ")[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        length = 0 if to_head or status < 200 else int(headers["content-length"])
        while len(rest) < length:
            assert self._fill(), f"connection closed in a body after {rest!r}"
            rest = self.buffer.partition(b"\r\n\r\n")[2]
        self.buffer = rest[length:]
        return Response(status, headers, rest[:length])

    def readable(self, wait: float = 0) -> bool:
        """Whether an answer (or the close) has arrived, waiting at most ``wait`` seconds for it."""
        if self.buffer or self.ended:
            return True
        if not select.select([self.sock], [], [], wait)[0]:
            return False
        # Over TLS the socket is readable for records that carry no data too (session tickets).
        self.sock.setblocking(False)
        try:
            self.ended = not self._fill()
        except (ssl.SSLWantReadError, BlockingIOError):
            return False
        finally:
            self.sock.settimeout(SOCKET_TIMEOUT)
        return True

    def closed(self) -> bool:
        """Wait for the server's close (within the socket timeout): True at end of stream, False if more
        bytes arrive instead."""
        if self.buffer:
            return False
        return not self._fill()


def refused_and_closed(connection: Connection, status: int) -> Response:
    """The next answer is ``status`` with the gateway's JSON error body and ``connection: close``, and the
    connection ends after it."""
    answer = connection.response()
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["connection"] == "close"
    assert set(answer.json()["error"]) >= {"code", "message"}
    assert connection.closed(), f"more after the {status}: {connection.buffer!r}"
    return answer
