"""Passthrough search: the gateway against Elasticsearch directly and behind nginx, interleaved, one run.

nginx (``bench/_nginx.py``) is the baseline a proxy in the gateway's place is held to: a bare keep-alive
reverse proxy that compares the key and the tenant in its config. It does not unwrap ``{"query": ...}``, so
it is sent the bare search body that ``direct`` is sent. The gateway is measured twice: with a key
without a rate limit, and with a key whose limit is too high to refuse anything (``limited``): their
throughput ratio is the per-key rate limit's cost on the hot path.

The load generator is wrk (its own process). For each target and concurrency we report requests/s, p50 and
p99 latency, and the CPU time each server process spent per request, read from /proc/<pid>/stat before
and after each run (nginx: its master and worker summed). The gateway and nginx serve plain HTTP here (like
Elasticsearch) so TLS cost is not compared. The last line printed is the summary (``summary_line``).

    make bench          # or: PYTHONPATH=. .venv/bin/python bench/search.py [--duration 10] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench._es import elasticsearch, free_port, gateway_process
from bench._nginx import SEARCH_PATH, Nginx, check_guard, nginx, nginx_binary
from gateway.auth.key_store import ApiKeyStore, generate_key, new_record
from gateway.auth.restrictions import NO_LIMITS, KeyLimits
from gateway.es.client import build_client
from gateway.es.connection_settings import ConnectionSettings
from gateway.es.templates import apply_templates, load_templates
from gateway.settings import Settings

TENANT = "8700f5cb-eaca-461e-8c2e-245a25f2399d"
INDEX = "autonomous-iam_common_datasources_latest"
SEARCH = {
    "sort": [{"datasource_id.keyword": {"order": "desc"}}],
    "size": 10,
    "track_total_hits": True,
    "query": {"match_all": {}},
}
SHOWCASE = Path(__file__).resolve().parent.parent / "tests" / "data" / "showcase_datasource.json"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


@dataclass
class Run:
    target: str
    concurrency: int
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    gateway_cpu_s: float
    es_cpu_s: float
    nginx_cpu_s: float


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[match.group(2)]


def wrk(
    url: str, body: bytes, headers: dict[str, str], concurrency: int, duration: int, workdir: Path
) -> dict[str, float]:
    script = workdir / "post.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body.decode())}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    out = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{duration}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    if "Non-2xx" in out or "Latency Distribution" not in out:
        raise SystemExit(f"non-2xx responses from {url}:\n{out}")
    return {
        "requests": float(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
    }


NEVER_REFUSED = KeyLimits(rate_limit="1000000/1")  # a million a second: the bucket is checked, never empty


async def prepare(es_url: str, hmac_secret: str, limits: KeyLimits = NO_LIMITS) -> str:
    settings = Settings(tenant_id=TENANT, es_url=es_url, state_dir=Path(tempfile.mkdtemp()))  # type: ignore[call-arg]
    es = build_client(ConnectionSettings.from_settings(settings))
    try:
        await apply_templates(es, load_templates(settings.templates_dir))
        doc = json.loads(SHOWCASE.read_text())
        doc_id = hashlib.sha512(f"actual_{doc['datasource_id']}".encode()).hexdigest()
        await es.index(index=INDEX, id=doc_id, document=doc, refresh=True)
        key = generate_key()
        now = dt.datetime.now(dt.UTC)
        expires = now + dt.timedelta(days=1)
        record = new_record(
            key, hmac_secret.encode(), TENANT, "bench", "", "bench", expires, "bench", now, limits=limits
        )
        await ApiKeyStore(es).create(record)
        return key
    finally:
        await es.close()


def start_gateway(es_url: str, hmac_secret: str, state_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    # plain HTTP like Elasticsearch; the access log on, as in a default deployment
    process, port = gateway_process(
        es_url, TENANT, hmac_secret, state_dir, "--no-tls", GATEWAY_ACCESS_LOG="true"
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=1):  # noqa: S310 (loopback)
                return process, url
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gateway did not become ready")


def summary_line(gateway_ratio: float, nginx_ratio: float, gateway_cpu_us: float, nginx_cpu_us: float) -> str:
    """The benchmark's last line: throughput over direct's, and CPU per search, of the gateway and nginx.

    The CPU figures are shown in whole µs and their ratio is taken of the figures shown."""
    gateway_us, nginx_us = round(gateway_cpu_us), round(nginx_cpu_us)
    ratio = f"{gateway_us / nginx_us:.2f}" if nginx_us else "n/a"
    return (
        f"search: gateway/direct = {gateway_ratio:.2f}, nginx/direct = {nginx_ratio:.2f}; "
        f"CPU per search gateway = {gateway_us} us, nginx = {nginx_us} us (ratio {ratio})"
    )


def report(runs: list[Run], idle: tuple[float, float, float]) -> None:
    print(
        f"idle CPU between runs: gateway {idle[0] * 1000:.0f} ms/s, Elasticsearch {idle[1] * 1000:.0f} ms/s, "
        f"nginx {idle[2] * 1000:.0f} ms/s"
    )
    print()
    print(
        "| target | concurrency | requests/s | p50 ms | p99 ms | gateway CPU µs/req | ES CPU µs/req "
        "| nginx CPU µs/req |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in runs:
        cpu = [r.gateway_cpu_s, r.es_cpu_s, r.nginx_cpu_s]
        print(
            f"| {r.target} | {r.concurrency} | {r.rps:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | "
            + " | ".join(f"{s / r.requests * 1e6:.0f}" for s in cpu)
            + " |"
        )

    def median(target: str, concurrency: int, attr: str) -> float:
        values = [
            float(getattr(r, attr)) for r in runs if r.target == target and r.concurrency == concurrency
        ]
        return statistics.median(values)

    def per_request(target: str, concurrency: int, attr: str) -> float:
        chosen = [r for r in runs if r.target == target and r.concurrency == concurrency]
        return sum(float(getattr(r, attr)) for r in chosen) / sum(r.requests for r in chosen) * 1e6

    added_p50 = median("gateway", 1, "p50_ms") - median("direct", 1, "p50_ms")
    nginx_added_p50 = median("nginx", 1, "p50_ms") - median("direct", 1, "p50_ms")
    ratio = median("gateway", 16, "rps") / median("direct", 16, "rps")
    nginx_ratio = median("nginx", 16, "rps") / median("direct", 16, "rps")
    gateway_cpu = per_request("gateway", 16, "gateway_cpu_s")
    nginx_cpu = per_request("nginx", 16, "nginx_cpu_s")
    limited_cpu = per_request("limited", 16, "gateway_cpu_s")
    limited_ratio = median("limited", 16, "rps") / median("gateway", 16, "rps")
    es_cpu = per_request("direct", 16, "es_cpu_s")
    print()
    print(f"added p50 latency (concurrency 1) = {added_p50:.2f} ms (nginx: {nginx_added_p50:.2f} ms)")
    print(
        f"search throughput ratio gateway/direct = {ratio:.2f} (concurrency 16); "
        f"gateway CPU/request = {gateway_cpu:.0f} us ({gateway_cpu / es_cpu:.2f}x Elasticsearch)"
    )
    print(
        f"rate-limited key / unlimited key throughput = {limited_ratio:.2f} (concurrency 16); "
        f"gateway CPU/request {limited_cpu:.0f} us vs {gateway_cpu:.0f} us"
    )
    print(summary_line(ratio, nginx_ratio, gateway_cpu, nginx_cpu))


Target = tuple[str, bytes, dict[str, str]]


def measure(
    targets: list[tuple[str, Target]], rounds: dict[int, int], duration: int, workdir: Path,
    gateway_pid: int, es_pid: int, proxy: Nginx,
) -> list[Run]:  # fmt: skip
    """``rounds[c]`` interleaved rounds of all targets at concurrency ``c``, each server's CPU read around."""
    runs: list[Run] = []
    for concurrency, count in rounds.items():
        for _ in range(count):
            for target, (url, body, headers) in targets:
                g0, e0, n0 = cpu_seconds(gateway_pid), cpu_seconds(es_pid), proxy.cpu_seconds()
                result = wrk(url, body, headers, concurrency, duration, workdir)
                g1, e1, n1 = cpu_seconds(gateway_pid), cpu_seconds(es_pid), proxy.cpu_seconds()
                runs.append(Run(target, concurrency, int(result["requests"]), result["rps"],
                                result["p50"], result["p99"], g1 - g0, e1 - e0, n1 - n0))  # fmt: skip
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds at concurrency 16")
    parser.add_argument("--rounds-c1", type=int, default=3, help="interleaved rounds at concurrency 1")
    parser.add_argument("--warmup", type=int, default=20, help="seconds of load per target before measuring")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required (apt-get install wrk; `make bench` installs it)")
    nginx_binary()  # fail before starting anything when it is missing
    hmac_secret = secrets.token_urlsafe(32)
    workdir = Path(tempfile.mkdtemp(prefix="bench-search-"))
    with elasticsearch() as (es_url, es_pid):
        if es_pid is None:
            raise SystemExit(
                "this benchmark reads Elasticsearch's CPU time: run it on the embedded node (unset ES_URL)"
            )
        key = asyncio.run(prepare(es_url, hmac_secret))
        limited_key = asyncio.run(prepare(es_url, hmac_secret, NEVER_REFUSED))
        gateway, gateway_url = start_gateway(es_url, hmac_secret, workdir)
        try:
            with nginx(workdir, free_port(), es_url, INDEX, key, TENANT) as proxy:
                bare = json.dumps(SEARCH).encode()
                direct = (f"{es_url}/{INDEX}/_search", bare, {"content-type": "application/json"})
                guarded = {"content-type": "application/json", "authorization": key, "x-tenant-id": TENANT}
                via_nginx = (f"{proxy.url}{SEARCH_PATH}", bare, guarded)
                check_guard(*via_nginx)
                via_gateway = (f"{gateway_url}{SEARCH_PATH}", json.dumps({"query": SEARCH}).encode(), guarded)
                limited = (via_gateway[0], via_gateway[1], {**guarded, "authorization": limited_key})
                targets = [
                    ("direct", direct),
                    ("nginx", via_nginx),
                    ("gateway", via_gateway),
                    ("limited", limited),
                ]
                for _, (url, body, headers) in targets:  # warm every path (JIT, caches)
                    wrk(url, body, headers, 16, args.warmup, workdir)
                g0, e0, n0 = cpu_seconds(gateway.pid), cpu_seconds(es_pid), proxy.cpu_seconds()
                time.sleep(5)
                idle = (
                    (cpu_seconds(gateway.pid) - g0) / 5,
                    (cpu_seconds(es_pid) - e0) / 5,
                    (proxy.cpu_seconds() - n0) / 5,
                )
                rounds = {1: args.rounds_c1, 16: args.rounds}
                runs = measure(targets, rounds, args.duration, workdir, gateway.pid, es_pid, proxy)
        finally:
            gateway.terminate()
            gateway.wait(timeout=30)
            shutil.rmtree(workdir, ignore_errors=True)
    report(runs, idle)


if __name__ == "__main__":
    main()
