"""Slow TLS senders against the gateway's header deadline, while a legitimate client keeps searching.

Starts Elasticsearch (unless ES_URL) and ``gateway serve`` over TLS with its default deadlines, opens
``--clients`` TLS connections that each send a request line and then one header byte every ``--every``
seconds, and searches continuously on one keep-alive connection meanwhile. Reports how many slow
connections the gateway closed and how long after their request line (the bound is the header deadline
plus 5 s), every legitimate search's outcome and latency, and the gateway's open descriptors at peak.

    make bench-slow     # or: PYTHONPATH=. .venv/bin/python bench/slow_clients.py [--clients 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import secrets
import ssl
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench._es import elasticsearch, gateway_process
from gateway.auth.key_store import ApiKeyStore, generate_key, new_record
from gateway.es.client import build_client
from gateway.es.connection_settings import ConnectionSettings
from gateway.es.templates import apply_templates, load_templates
from gateway.settings import DEMO_TENANT_ID, Settings

HEADER_DEADLINE = Settings.model_fields["header_timeout"].default
SEARCH = {"query": {"query": {"match_all": {}}, "size": 10, "track_total_hits": True}}


async def make_key(es_url: str, hmac_secret: str) -> str:
    settings = Settings(tenant_id=DEMO_TENANT_ID, es_url=es_url, state_dir=Path(tempfile.mkdtemp()))  # type: ignore[call-arg]
    es = build_client(ConnectionSettings.from_settings(settings))
    try:
        await apply_templates(es, load_templates(settings.templates_dir))
        key, now = generate_key(), dt.datetime.now(dt.UTC)
        expires = now + dt.timedelta(days=1)
        record = new_record(
            key, hmac_secret.encode(), DEMO_TENANT_ID, "bench", "", "bench", expires, "bench", now
        )
        await ApiKeyStore(es).create(record)
        return key
    finally:
        await es.close()


def start_gateway(es_url: str, hmac_secret: str, state_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    # over TLS, with the default deadlines and cap whatever the caller's environment says
    return gateway_process(
        es_url, DEMO_TENANT_ID, hmac_secret, state_dir,
        GATEWAY_HEADER_TIMEOUT="20", GATEWAY_BODY_TIMEOUT="60", GATEWAY_MAX_CONNECTIONS="4096",
    )  # fmt: skip


def client_context(state_dir: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=state_dir / "tls" / "cert.pem")


def wait_ready(port: int, state_dir: Path) -> None:
    for _ in range(600):
        try:
            httpx.get(f"https://127.0.0.1:{port}/readyz", verify=client_context(state_dir), timeout=1)
            return
        except (httpx.TransportError, OSError):
            time.sleep(0.1)
    raise SystemExit("gateway did not become ready")


@dataclass
class Outcome:
    closed_after: list[float] = field(default_factory=list)  # seconds from request line to close
    statuses: list[str] = field(default_factory=list)  # the status line each slow connection received
    failed_to_open: int = 0
    still_open: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    peak_fds: int = 0


async def slow_sender(
    port: int, ctx: ssl.SSLContext, opening: asyncio.Semaphore, every: float, out: Outcome
) -> None:
    give_up = HEADER_DEADLINE + 60
    try:
        async with opening:  # a bounded number of handshakes at once
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
    except OSError:
        out.failed_to_open += 1
        return
    writer.write(b"POST /jas/datasource/search HTTP/1.1\r\n")
    started = time.monotonic()
    header = b"x-slow: " + b"a" * 100_000
    received = b""
    try:
        for byte in header:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), every)
            except TimeoutError:
                if time.monotonic() - started > give_up:
                    out.still_open += 1
                    return
                writer.write(bytes([byte]))
                continue
            received += chunk
            if not chunk:  # closed by the gateway
                out.closed_after.append(time.monotonic() - started)
                out.statuses.append(received.split(b"\r\n", 1)[0].decode(errors="replace"))
                return
    except (OSError, ssl.SSLError):  # reset: closed too
        out.closed_after.append(time.monotonic() - started)
        out.statuses.append(received.split(b"\r\n", 1)[0].decode(errors="replace") or "(reset)")
    finally:
        writer.transport.abort()


async def legitimate(port: int, ctx: ssl.SSLContext, key: str, done: asyncio.Event, out: Outcome) -> None:
    headers = {"authorization": key, "x-tenant-id": DEMO_TENANT_ID}
    async with httpx.AsyncClient(verify=ctx, timeout=30) as client:
        while not done.is_set():
            started = time.perf_counter()
            try:
                answer = await client.post(
                    f"https://127.0.0.1:{port}/jas/datasource/search", json=SEARCH, headers=headers
                )
                if answer.status_code != 200:
                    out.failures.append(f"HTTP {answer.status_code}")
            except httpx.HTTPError as exc:
                out.failures.append(type(exc).__name__)
            out.latencies_ms.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.05)  # a steady client, not a load test


async def watch_fds(pid: int, done: asyncio.Event, out: Outcome) -> None:
    while not done.is_set():
        out.peak_fds = max(out.peak_fds, len(os.listdir(f"/proc/{pid}/fd")))
        await asyncio.sleep(0.5)


async def run(port: int, ctx: ssl.SSLContext, key: str, pid: int, args: argparse.Namespace) -> Outcome:
    out, done = Outcome(), asyncio.Event()
    background = [
        asyncio.create_task(legitimate(port, ctx, key, done, out)),
        asyncio.create_task(watch_fds(pid, done, out)),
    ]
    opening = asyncio.Semaphore(64)
    await asyncio.gather(*(slow_sender(port, ctx, opening, args.every, out) for _ in range(args.clients)))
    done.set()
    await asyncio.gather(*background)
    return out


def report(out: Outcome, clients: int) -> None:
    closed = len(out.closed_after)
    worst = max(out.closed_after, default=float("nan"))
    kinds = {status: out.statuses.count(status) for status in sorted(set(out.statuses))}
    give_up = HEADER_DEADLINE + 60
    print(f"slow TLS senders: {clients} opened ({out.failed_to_open} failed to open), "
          f"{closed} closed by the gateway, {out.still_open} open after {give_up:g} s")  # fmt: skip
    print(f"  answers: {json.dumps(kinds)}")
    print(f"  close time after the request line: median {statistics.median(out.closed_after or [0]):.1f} s, "
          f"max {worst:.1f} s (header deadline {HEADER_DEADLINE:g} s; bound {HEADER_DEADLINE + 5:g} s: "
          f"{'met' if worst <= HEADER_DEADLINE + 5 and closed == clients else 'NOT met'})")  # fmt: skip
    lat = sorted(out.latencies_ms)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan")
    print(f"legitimate searches: {len(lat)}, failures {len(out.failures)}, "
          f"p50 {statistics.median(lat or [0]):.1f} ms, p99 {p99:.1f} ms")  # fmt: skip
    print(f"gateway open file descriptors at peak: {out.peak_fds}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=2000, help="slow TLS connections")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between two header bytes")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.clients + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.clients + 256), hard))
    hmac_secret = secrets.token_urlsafe(32)
    state_dir = Path(tempfile.mkdtemp(prefix="bench-slow-"))
    with elasticsearch() as (es_url, _):
        key = asyncio.run(make_key(es_url, hmac_secret))
        gateway, port = start_gateway(es_url, hmac_secret, state_dir)
        try:
            wait_ready(port, state_dir)
            out = asyncio.run(run(port, client_context(state_dir), key, gateway.pid, args))
        finally:
            gateway.terminate()
            gateway.wait(timeout=30)
    report(out, args.clients)


if __name__ == "__main__":
    main()
