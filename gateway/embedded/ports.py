"""Free loopback ports for throw-away local services: tests and benchmarks start nodes and servers there."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A loopback port nothing listens on now (the system picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_port_range(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports (a cluster's nodes use base, base+1, ...)."""
    for _ in range(100):
        base = free_port()
        if base + count <= 65535 and all(_port_free(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports found")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
