"""The fault campaign's report: per phase, what the load saw and what Elasticsearch kept, and the
promises kept or broken."""

from __future__ import annotations

import httpx

from bench.chaos_load import BATCH, Event, Load, Phase

IDENTITIES = "autonomous-iam_autoid_base_identities_latest"
RECOVERY_PROMISE = 5.0


def found_ids(url: str, ids: list[str]) -> set[str]:
    httpx.post(f"{url}/{IDENTITIES}/_refresh", timeout=60)
    found: set[str] = set()
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        body = {"query": {"terms": {"usr_id.keyword": chunk}}, "size": len(chunk), "_source": ["usr_id"]}
        hits = httpx.post(f"{url}/{IDENTITIES}/_search", json=body, timeout=60).json()["hits"]["hits"]
        found |= {hit["_source"]["usr_id"] for hit in hits}
    return found


def longest_failure_window(events: list[Event]) -> float:
    """The longest stretch from a failed request to the next successful one."""
    longest, first_failure = 0.0, None
    for event in sorted(events, key=lambda e: e.at):
        if event.outcome == 200:
            if first_failure is not None:
                longest = max(longest, event.at - first_failure)
            first_failure = None
        elif first_failure is None:
            first_failure = event.at
    if first_failure is not None:
        longest = max(longest, events[-1].at - first_failure)
    return longest


def report(es_url: str, load: Load, phases: list[Phase]) -> tuple[list[str], int]:
    lines = [
        f"{'phase':15} {'searches':>8} {'failed':>6} {'fail window':>11} {'acked':>6} {'found':>6} "
        f"{'503 items':>9} {'other 5xx':>9} {'recovery':>9}"
    ]
    figures: dict[str, dict[str, float]] = {}
    for phase in phases:
        events = [e for e in load.events if phase.start <= e.at < (phase.end or float("inf"))]
        searches = [e for e in events if e.kind == "search"]
        failed = [e for e in searches if e.outcome != 200]
        found = found_ids(es_url, phase.acknowledged) if phase.acknowledged else set()
        refused_items = sum(BATCH for e in events if e.kind == "ingest" and e.outcome == 503)
        bare_503 = sum(1 for e in events if e.outcome == 503 and not e.retry_after)
        other_5xx = sum(
            1 for e in events if isinstance(e.outcome, int) and e.outcome >= 500 and e.outcome != 503
        )
        last_failure = max((e.at for e in events if e.outcome != 200), default=None)
        notes = []
        if phase.yellow is not None:  # back = the first search answered once every node had stopped
            back = min((e.at for e in searches if e.outcome == 200 and e.at > phase.fault), default=phase.end)
            recovery = max(0.0, back - phase.yellow)
            notes.append(
                f"all nodes stopped at +0.0 s, cluster yellow at +{phase.yellow - phase.fault:.1f} s, "
                f"first search answered at +{back - phase.fault:.1f} s"
            )
        elif last_failure is not None and phase.fault:
            recovery = max(0.0, last_failure - phase.fault)
        else:
            recovery = 0.0
        survivor_failed = sum(1 for e in events if e.replica == 1 and e.outcome != 200)
        if phase.name == "replica kill":
            moved = sum(1 for e in events if e.replica == 1)
            notes.append(
                f"requests answered by the surviving replica: {moved}, failed there: {survivor_failed}"
            )
        if bare_503:
            notes.append(f"503 without Retry-After: {bare_503}")
        figures[phase.name] = {
            "failed": len(failed),
            "lost": len(phase.acknowledged) - len(found),
            "other_5xx": other_5xx + bare_503,
            "recovery": recovery,
            "survivor_failed": survivor_failed,
        }
        window, acked = longest_failure_window(events), len(phase.acknowledged)
        lines.append(
            f"{phase.name:15} {len(searches):>8} {len(failed):>6} {window:>10.2f}s {acked:>6} "
            f"{len(found):>6} {refused_items:>9} {other_5xx:>9} {recovery:>8.2f}s"
        )
        lines += [f"{'':15} {note}" for note in notes]
    node, outage, replica = figures["node kill"], figures["cluster outage"], figures["replica kill"]
    lost = sum(int(f["lost"]) for f in figures.values())
    lines.append(
        f"chaos: node kill failed searches = {int(node['failed'])}, acknowledged lost = {lost}; "
        f"cluster outage 5xx = {int(outage['other_5xx'])}, recovery = {outage['recovery']:.1f} s; "
        f"replica kill failed = {int(replica['survivor_failed'])}"
    )
    broken = (
        node["failed"] > 0
        or lost > 0
        or outage["other_5xx"] > 0
        or outage["recovery"] > RECOVERY_PROMISE
        or replica["survivor_failed"] > 0
    )
    return lines, 1 if broken else 0
