"""Peak memory of one ingest body, before and after the JSON-value bound (issue 20's follow-up).

Each case runs in a child process, so its peak RSS is its own: the 16 MiB body of tiny values
(``{"action": "create", "identities": [{}, {}, ...]}``) decoded as the route used to, the same body through
the bound the route applies now (counted, refused, never decoded), and the largest body of tiny values the
bound still lets through (decoded). ``PYTHONPATH=. .venv/bin/python bench/body_memory.py``
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys

import orjson

from gateway.http.bodies import structure_count
from gateway.http.routes.ingest import JSON_VALUES_PER_ITEM
from gateway.settings import Settings

MAX_ITEMS = int(Settings.model_fields["ingest_max_items"].default)
MAX_BYTES = int(Settings.model_fields["ingest_max_body_bytes"].default)
MAX_VALUES = MAX_ITEMS * JSON_VALUES_PER_ITEM


def tiny_values_body(size: int) -> bytes:
    head, tail = b'{"action": "create", "identities": [', b"{}]}"
    return head + b"{}," * ((size - len(head) - len(tail)) // 3) + tail


def padded_items_body(size: int, items: int) -> bytes:
    """``items`` one-field objects whose strings fill ``size`` bytes: tiny values and long strings at once."""
    head, tail = b'{"action": "create", "identities": [', b"]}"
    pad = (size - len(head) - len(tail)) // items - len(b'{"k":""},')
    return head + b",".join([b'{"k":"' + b"x" * pad + b'"}'] * items) + tail


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(case: str) -> dict[str, float | int | str]:
    if case == "largest-accepted":  # {}, is two structural characters: the cap's worth of them
        body = tiny_values_body(MAX_VALUES // 2 * 3)
    elif case == "largest-mixed":  # {"k":"..."}, is three: the cap's worth, and 16 MiB of strings
        body = padded_items_body(MAX_BYTES, MAX_VALUES // 3 - 2)
    else:
        body = tiny_values_body(MAX_BYTES)
    baseline = peak_mib()
    outcome = "decoded"
    if case != "before" and structure_count(body) > MAX_VALUES:
        outcome = "refused 413"
    else:
        decoded = orjson.loads(body)
        del decoded
    return {"case": case, "body_mib": round(len(body) / 2**20, 1), "outcome": outcome,
            "peak_rss_mib": round(peak_mib()), "added_mib": round(peak_mib() - baseline)}  # fmt: skip


def main() -> None:
    if len(sys.argv) == 2:
        print(json.dumps(run(sys.argv[1])))
        return
    for case in ("before", "after", "largest-accepted", "largest-mixed"):
        out = subprocess.run([sys.executable, __file__, case], check=True, capture_output=True, text=True)
        print(out.stdout.strip())


if __name__ == "__main__":
    main()
