"""Loading generated identities: the gateway's loader against a plain ``helpers.streaming_bulk``.

Both write the same documents (fields plus the gateway's metadata block) with the same ids into an empty
identities index, each in its own child process so that its peak RSS (``ru_maxrss``) is its own; the
``ingest-job`` mode is the HTTP path (``gateway.jobs.ingest_job`` → a gateway process → Elasticsearch). Every
mode runs on a small and a large file from the same generated set: memory that stays flat from the small
to the large file is what "streaming" means. ``ingest-job-jdbc`` is the same HTTP path reading the same rows
from a PostgreSQL table (a throw-away server from Debian's package, loaded with COPY) through a jdbc data
source. Modes run interleaved in one session on one node.

    make bench-ingest   # or: PYTHONPATH=. .venv/bin/python bench/ingest_load.py [--identities 1000000]
                        #     [--modes ingest-job,ingest-job-jdbc]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._es import elasticsearch
from bench.ingest_modes import INDEX, JOB_MODES, MODES, TENANT_NAME, child
from bench.ingest_postgres import PG_PASSWORD_ENV, PostgresTables, postgres_for
from gateway.loading.synthetic import generate


def _fresh_index(es_url: str) -> None:
    from elasticsearch import Elasticsearch

    es = Elasticsearch(es_url)
    es.options(ignore_status=404).indices.delete(index=INDEX)
    es.indices.create(index=INDEX)  # settings and mappings from the applied templates
    es.close()


def _apply_templates(es_url: str) -> None:
    from elasticsearch import AsyncElasticsearch

    from gateway.es.templates import apply_templates, load_templates
    from gateway.settings import REPO_ROOT

    async def run() -> None:
        es = AsyncElasticsearch(es_url)
        try:
            await apply_templates(es, load_templates(REPO_ROOT / "index_templates"))
        finally:
            await es.close()

    asyncio.run(run())


def _run_child(mode: str, es_url: str, path: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    _fresh_index(es_url)
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--es-url", es_url, "--file", str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


class JobRunner:
    """``gateway ingest-job`` against a gateway process, for one data source per file."""

    def __init__(
        self, es_url: str, data_root: Path, files: dict[str, Path], postgres: PostgresTables | None
    ) -> None:
        from bench.search import prepare, start_gateway

        secret = secrets.token_urlsafe(32)
        self.key = asyncio.run(prepare(es_url, secret))  # templates, and an API key for the job
        self.state = Path(tempfile.mkdtemp(prefix="bench-ingest-gateway-"))
        self.gateway, self.url = start_gateway(es_url, secret, self.state)
        self.data_root = data_root
        self.datasources = {
            label: self._index_datasource(es_url, label, path) for label, path in files.items()
        }
        self.postgres = postgres
        if postgres is not None:
            for label in files:
                self.datasources[f"jdbc-{label}"] = postgres.index_datasource(es_url, label)

    def _index_datasource(self, es_url: str, label: str, path: Path) -> str:
        from elasticsearch import Elasticsearch

        from gateway.ingest.entities import document_id
        from gateway.loading.seed import datasource_document

        ds_id = f"bench-{label}"
        uri = "file:/" + str(path.relative_to(self.data_root))
        row = {
            "datasource_id": ds_id, "name": f"Bench-{label}", "sync_type": "full", "icon": "apps",
            "is_active": "true", "connection_type": "csv", "applications": "", "assignments": "",
            "entitlements": "", "identities": uri, "created": "2026-01-01T00:00:00.000Z",
        }  # fmt: skip
        es = Elasticsearch(es_url)
        es.index(
            index="autonomous-iam_common_datasources_latest",
            id=document_id(ds_id),
            document=datasource_document(row, TENANT_NAME),
            refresh=True,
        )
        es.close()
        return ds_id

    def run(self, es_url: str, mode: str, label: str, path: Path) -> dict[str, Any]:
        from bench.search import cpu_seconds

        env = dict(
            os.environ,
            INGEST_API_KEY=self.key,
            BENCH_GATEWAY_URL=self.url,
            BENCH_DATASOURCE=self.datasources[label if mode == "ingest-job" else f"jdbc-{label}"],
            GATEWAY_DATA_ROOT=str(self.data_root),
        )
        if self.postgres is not None:
            env[PG_PASSWORD_ENV] = self.postgres.password
        before = cpu_seconds(self.gateway.pid)
        result = _run_child(mode, es_url, path, env)
        result["gateway_cpu_us_per_row"] = (cpu_seconds(self.gateway.pid) - before) / result["rows"] * 1e6
        return result

    def stop(self) -> None:
        self.gateway.terminate()
        self.gateway.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--identities", type=int, default=1_000_000, help="rows in the large file")
    parser.add_argument("--small", type=int, default=100_000, help="rows in the small file")
    parser.add_argument(
        "--modes", default=",".join(MODES), help=f"comma-separated, among {', '.join(MODES)} (default: all)"
    )
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--es-url", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.es_url, args.file)
        return
    modes = [m for m in MODES if m in args.modes.split(",")]
    if not modes or set(args.modes.split(",")) - set(MODES):
        parser.error(f"--modes: choose among {', '.join(MODES)}")

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        data = Path(tmp)
        started = time.perf_counter()
        generate(data / "large", args.identities, assignments_per_identity=1)
        large = data / "large" / "identities.csv"
        small = data / "small.csv"
        with large.open() as source, small.open("w") as target:
            target.writelines(itertools.islice(source, args.small + 1))
        size_mib = large.stat().st_size / 2**20
        took = time.perf_counter() - started
        print(f"generated {args.identities} identities ({size_mib:.0f} MiB) in {took:.0f} s")

        files = {"small": small, "large": large}
        with elasticsearch(heap="2g") as (es_url, _), postgres_for(modes) as server:
            _apply_templates(es_url)
            tables = None
            if server is not None:
                started = time.perf_counter()
                tables = PostgresTables(server, files)
                print(f"copied both files into PostgreSQL in {time.perf_counter() - started:.0f} s")
            jobs = JobRunner(es_url, data, files, tables)
            results: dict[tuple[str, str], dict[str, Any]] = {}
            try:
                for label, path in (("small", small), ("large", large)):
                    for mode in modes:
                        if mode in JOB_MODES:
                            result = jobs.run(es_url, mode, label, path)
                        else:
                            result = _run_child(mode, es_url, path)
                        results[(mode, label)] = result
                        rate = result["rows"] / result["seconds"]
                        print(
                            f"{mode:15} {result['rows']:>9} rows  {rate:>8.0f} rows/s  "
                            f"peak RSS {result['peak_rss_mib']:6.1f} MiB",
                            flush=True,
                        )
            finally:
                jobs.stop()

    print()
    print(f"| mode | rows/s ({args.small} rows) | peak RSS | rows/s ({args.identities} rows) | peak RSS |")
    print("| --- | --- | --- | --- | --- |")
    for mode in modes:
        s, big = results[(mode, "small")], results[(mode, "large")]
        print(
            f"| {mode} | {s['rows'] / s['seconds']:.0f} | {s['peak_rss_mib']:.1f} MiB "
            f"| {big['rows'] / big['seconds']:.0f} | {big['peak_rss_mib']:.1f} MiB |"
        )
    baseline = "streaming_bulk" if "streaming_bulk" in modes else modes[0]
    base = results[(baseline, "large")]
    for mode in modes:
        if mode == baseline:
            continue
        ours = results[(mode, "large")]
        growth = ours["peak_rss_mib"] - results[(mode, "small")]["peak_rss_mib"]
        print(
            f"{mode}: {args.identities} identities at {ours['rows'] / ours['seconds']:.0f} rows/s "
            f"({base['seconds'] / ours['seconds']:.2f}x {baseline}'s throughput); "
            f"peak RSS {ours['peak_rss_mib']:.1f} MiB vs {base['peak_rss_mib']:.1f} MiB, "
            f"{growth:+.1f} MiB from {args.small} to {args.identities} rows"
        )
    for mode in JOB_MODES:
        if mode in modes:
            job = results[(mode, "large")]
            print(f"{mode}: the gateway process spent {job['gateway_cpu_us_per_row']:.1f} us of CPU per row")


if __name__ == "__main__":
    main()
