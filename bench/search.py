"""Passthrough search: the gateway against Elasticsearch directly, same data, interleaved, one run.

The gateway is measured twice: with a key without a rate limit, and with a key whose limit is too high to
refuse anything (``limited``): their throughput ratio is the per-key rate limit's cost on the hot path.

The load generator is wrk (its own process). For each target and concurrency we report requests/s, p50 and
p99 latency, and the CPU time each server process spent per request, read from /proc/<pid>/stat before
and after each run. The gateway serves plain HTTP here (like Elasticsearch) so TLS cost is not compared.

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
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench._es import elasticsearch, free_port
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
    port = free_port()
    env = dict(
        os.environ, ES_URL=es_url, TENANT_ID=TENANT, GATEWAY_API_KEY_SECRET=hmac_secret,
        GATEWAY_JWT_SECRET=secrets.token_urlsafe(32), GATEWAY_STATE_DIR=str(state_dir),
    )  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--no-tls", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=(state_dir / "gateway.log").open("wb"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=1):  # noqa: S310 (loopback)
                return process, url
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gateway did not become ready")


def report(runs: list[Run], idle: tuple[float, float]) -> None:
    print(
        f"idle CPU between runs: gateway {idle[0] * 1000:.0f} ms/s, Elasticsearch {idle[1] * 1000:.0f} ms/s"
    )
    print()
    print("| target | concurrency | requests/s | p50 ms | p99 ms | gateway CPU µs/req | ES CPU µs/req |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in runs:
        print(
            f"| {r.target} | {r.concurrency} | {r.rps:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | "
            f"{r.gateway_cpu_s / r.requests * 1e6:.0f} | {r.es_cpu_s / r.requests * 1e6:.0f} |"
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
    ratio = median("gateway", 16, "rps") / median("direct", 16, "rps")
    gateway_cpu = per_request("gateway", 16, "gateway_cpu_s")
    limited_cpu = per_request("limited", 16, "gateway_cpu_s")
    limited_ratio = median("limited", 16, "rps") / median("gateway", 16, "rps")
    es_cpu = per_request("direct", 16, "es_cpu_s")
    print()
    print(f"added p50 latency (concurrency 1) = {added_p50:.2f} ms")
    print(
        f"search throughput ratio gateway/direct = {ratio:.2f} (concurrency 16); "
        f"gateway CPU/request = {gateway_cpu:.0f} us ({gateway_cpu / es_cpu:.2f}x Elasticsearch)"
    )
    print(
        f"rate-limited key / unlimited key throughput = {limited_ratio:.2f} (concurrency 16); "
        f"gateway CPU/request {limited_cpu:.0f} us vs {gateway_cpu:.0f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per concurrency")
    parser.add_argument("--warmup", type=int, default=20, help="seconds of load per target before measuring")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required (apt-get install wrk; `make bench` installs it)")
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
            direct = (
                f"{es_url}/{INDEX}/_search",
                json.dumps(SEARCH).encode(),
                {"content-type": "application/json"},
            )
            via_gateway = (
                f"{gateway_url}/jas/datasource/search",
                json.dumps({"query": SEARCH}).encode(),
                {"content-type": "application/json", "authorization": key, "x-tenant-id": TENANT},
            )
            limited = (via_gateway[0], via_gateway[1], {**via_gateway[2], "authorization": limited_key})
            targets = (("direct", direct), ("gateway", via_gateway), ("limited", limited))
            for _, (url, body, headers) in targets:  # warm every path (JIT, caches)
                wrk(url, body, headers, 16, args.warmup, workdir)
            g0, e0 = cpu_seconds(gateway.pid), cpu_seconds(es_pid)
            time.sleep(5)
            idle = ((cpu_seconds(gateway.pid) - g0) / 5, (cpu_seconds(es_pid) - e0) / 5)
            runs: list[Run] = []
            for concurrency in (1, 16):
                for _ in range(args.rounds):
                    for target, (url, body, headers) in targets:
                        g0, e0 = cpu_seconds(gateway.pid), cpu_seconds(es_pid)
                        result = wrk(url, body, headers, concurrency, args.duration, workdir)
                        g1, e1 = cpu_seconds(gateway.pid), cpu_seconds(es_pid)
                        runs.append(Run(target, concurrency, int(result["requests"]), result["rps"],
                                        result["p50"], result["p99"], g1 - g0, e1 - e0))  # fmt: skip
        finally:
            gateway.terminate()
            gateway.wait(timeout=30)
            shutil.rmtree(workdir, ignore_errors=True)
    report(runs, idle)


if __name__ == "__main__":
    main()
