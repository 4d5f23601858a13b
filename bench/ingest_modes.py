"""The loads ``bench/ingest_load.py`` compares, one per child process so that its peak RSS is its own: a plain
``helpers.streaming_bulk``, the gateway's loader (create or upsert), and ``gateway ingest-job`` against a
gateway process (reading a CSV file or a PostgreSQL table). Each reports rows, seconds and peak RSS.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gateway.ingest.entities import IDENTITIES, entity_id, entity_metadata, primary_key
from gateway.ingest.writer import Action, utc_now

TENANT_NAME = "autonomous-iam"
INDEX = IDENTITIES.index(TENANT_NAME)
MODES = ("streaming_bulk", "gateway-create", "gateway-upsert", "ingest-job", "ingest-job-jdbc")
JOB_MODES = ("ingest-job", "ingest-job-jdbc")
TENANT_ID = "8700f5cb-eaca-461e-8c2e-245a25f2399d"
CHUNK = 2000


def _baseline(es_url: str, path: Path) -> int:
    from elasticsearch import Elasticsearch, helpers

    es = Elasticsearch(es_url, request_timeout=120)
    now = utc_now()

    def actions() -> Iterator[dict[str, Any]]:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                ids = {"usr_id": row["usr_id"]}
                key = primary_key(IDENTITIES, ids)
                source = {**row, "metadata": entity_metadata(IDENTITIES, key, TENANT_NAME, "bench", now)}
                doc_id = entity_id(IDENTITIES, ids)
                yield {"_op_type": "create", "_index": INDEX, "_id": doc_id, "_source": source}

    loaded = 0
    for ok, _ in helpers.streaming_bulk(es, actions(), chunk_size=CHUNK, raise_on_error=False):
        loaded += ok
    es.close()
    return loaded


def _gateway(es_url: str, path: Path, action: Action) -> int:
    from elasticsearch import AsyncElasticsearch

    from gateway.ingest.writer import Ingestor
    from gateway.loading.loader import IngestorSink, load_entity_file

    async def run() -> int:
        es = AsyncElasticsearch(es_url, request_timeout=120)
        try:
            sink = IngestorSink(Ingestor(es, TENANT_NAME, context_id="bench"))
            report = await load_entity_file(sink, IDENTITIES, path, action, batch_size=CHUNK, progress=False)
            if report.failed:
                raise SystemExit(f"{report.failed} rows failed: {report.errors[:3]}")
            return report.loaded
        finally:
            await es.close()

    return asyncio.run(run())


def _job() -> int:
    from gateway.jobs.ingest_job import run_job

    report = asyncio.run(
        run_job(
            os.environ["BENCH_GATEWAY_URL"],
            TENANT_ID,
            os.environ["INGEST_API_KEY"],
            os.environ["BENCH_DATASOURCE"],
            Path(os.environ["GATEWAY_DATA_ROOT"]),
            batch_size=CHUNK,
            progress=False,
        )
    )
    if report.failed:
        raise SystemExit(f"{report.failed} rows failed: {report.files[0].errors[:3]}")
    return sum(f.loaded for f in report.files)


def child(mode: str, es_url: str, path: Path) -> None:
    started = time.perf_counter()
    if mode == "streaming_bulk":
        rows = _baseline(es_url, path)
    elif mode in JOB_MODES:
        rows = _job()
    else:
        rows = _gateway(es_url, path, Action.CREATE if mode == "gateway-create" else Action.UPSERT)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mib": peak_kib / 1024}))
