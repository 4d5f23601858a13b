"""The audit trail on a real node: counted refusals, append-only events, retention by whole days."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from elasticsearch import AsyncElasticsearch, ConflictError

from gateway.audit import store as store_module
from gateway.audit.events import AuditEvent
from gateway.audit.store import AUDIT_PATTERN, AuditQuery, AuditStore, index_for
from gateway.audit.trail import AuditTrail
from gateway.bundled import bundled_dir
from gateway.errors import Refusal
from gateway.es.templates import apply_templates, load_templates
from gateway.settings import Settings
from tests.helpers import FrozenClock, with_es


@pytest.fixture(autouse=True)
def templates(settings: Settings) -> None:
    """The audit indices' template in place, as the gateway applies it at start."""
    with_es(settings, lambda es: apply_templates(es, load_templates(bundled_dir("index_templates"))))


def test_refused_uses_are_one_event_per_key_reason_and_minute(settings: Settings) -> None:
    clock = FrozenClock()
    clock.advance(-(clock.now().timestamp() % 60))  # at the start of a minute

    async def work(es: AsyncElasticsearch) -> list[AuditEvent]:
        trail = AuditTrail(AuditStore(es), clock, retention_days=90)
        trail.ready = True
        scope, rate = Refusal("k1", "Nightly", "scope"), Refusal("k1", "Nightly", "rate")
        for _ in range(500):
            trail.refused(scope, "10.0.0.1")
        trail.refused(rate, "10.0.0.2")
        trail.refused(Refusal("k2", "Reader", "scope"), "10.0.0.3")
        assert await trail.flush() == 0  # the minute has not ended: nothing written yet
        clock.advance(60)
        trail.refused(scope, "10.0.0.4")
        assert await trail.flush() == 3  # the ended minute, one event per key and reason
        await trail.close()  # what is left is written at shutdown
        found, total = await trail.search(AuditQuery(action="key.refused"), 0, 100)
        assert total == 4
        return found

    found = with_es(settings, work)
    counted = {(e.key_id, (e.details or {})["reason"], e.moment.minute, e.count, e.address) for e in found}
    minute = found[-1].moment
    assert {e.outcome for e in found} == {"refused"}
    assert counted == {
        ("k1", "scope", minute.minute, 500, "10.0.0.1"),  # the first address of the minute
        ("k1", "rate", minute.minute, 1, "10.0.0.2"),
        ("k2", "scope", minute.minute, 1, "10.0.0.3"),
        ("k1", "scope", (minute + dt.timedelta(minutes=1)).minute, 1, "10.0.0.4"),
    }


def test_a_flood_of_throttled_logins_cannot_crowd_out_refused_key_uses(settings: Settings) -> None:
    clock = FrozenClock()
    clock.advance(-(clock.now().timestamp() % 60))

    async def work(es: AsyncElasticsearch) -> list[AuditEvent]:
        trail = AuditTrail(AuditStore(es), clock, retention_days=90)
        trail.ready = True
        for _ in range(5):
            trail.refused(Refusal("evidence", "Stolen", "network"), "198.51.100.7")
        for host in range(3000):  # one /64, many addresses: one client, as the login throttle counts it
            trail.throttled(f"2001:db8::{host:x}")
        for host in range(12_000):  # many IPv4 clients: past the bound they are counted together
            trail.throttled(f"10.{host // 65536}.{host // 256 % 256}.{host % 256}")
        clock.advance(60)
        await trail.close()
        await es.indices.refresh(index=AUDIT_PATTERN)  # counted events are written in bulk, unrefreshed
        refused, _ = await trail.search(AuditQuery(action="key.refused"), 0, 1000)
        first, total = await trail.search(AuditQuery(action="login"), 0, 1000)
        rest, _ = await trail.search(AuditQuery(action="login"), 1000, 1000)
        assert total == len(first) + len(rest)
        return refused + first + rest

    found = with_es(settings, work)
    refused = [e for e in found if e.action == "key.refused"]
    assert [(e.key_id, e.count) for e in refused] == [("evidence", 5)]
    throttled = [e for e in found if e.action == "login"]
    assert sum(e.count or 0 for e in throttled) == 15_000  # every throttled login still counted
    assert [e.count for e in throttled if e.address and e.address.startswith("2001:db8::")] == [3000]
    overflow = [e for e in throttled if (e.details or {}).get("overflow")]
    assert len(overflow) == 1 and overflow[0].count == 15_000 - 3000 - 999
    assert len(throttled) == 1001


def test_events_are_only_ever_created(settings: Settings) -> None:
    event = AuditEvent("e1", dt.datetime.now(dt.UTC).isoformat(), "logout", "success", actor="ann")

    async def work(es: AsyncElasticsearch) -> None:
        store = AuditStore(es)
        await store.append([event])
        with pytest.raises(ConflictError):  # op_type create: an event is never overwritten
            await store.append([dataclasses.replace(event, actor="someone else")])
        found, _ = await store.search(AuditQuery(), 0, 10)
        assert [e.actor for e in found] == ["ann"]

    with_es(settings, work)


def test_retention_drops_the_days_past_it(settings: Settings) -> None:
    clock = FrozenClock()
    now = clock.now()
    ages = (400, 31, 29, 0)  # days
    events = [
        AuditEvent(f"e{age}", (now - dt.timedelta(days=age)).isoformat(), "logout", "success") for age in ages
    ]

    async def work(es: AsyncElasticsearch) -> tuple[list[str], list[str]]:
        trail = AuditTrail(AuditStore(es), clock, retention_days=30)
        trail.ready = True
        await trail.store.append(events)
        dropped = await trail.drop_expired()
        await es.indices.refresh(index="gateway-audit-*")
        found, _ = await trail.search(AuditQuery(), 0, 10)
        return dropped, [e.id for e in found]

    dropped, kept = with_es(settings, work)
    assert dropped == sorted(index_for(now - dt.timedelta(days=age)) for age in (400, 31))
    assert kept == ["e0", "e29"]


def test_events_wait_until_the_templates_are_in_place(settings: Settings) -> None:
    async def work(es: AsyncElasticsearch) -> list[AuditEvent]:
        trail = AuditTrail(AuditStore(es), FrozenClock(), retention_days=90)
        await trail.record("logout", actor="ann")  # the gateway has not applied its templates yet
        assert await es.indices.get(index=AUDIT_PATTERN) == {}  # no index made without the audit mapping
        trail.ready = True
        await trail.flush()
        await es.indices.refresh(index=AUDIT_PATTERN)
        found, _ = await trail.search(AuditQuery(), 0, 10)
        return found

    assert [(e.action, e.actor) for e in with_es(settings, work)] == [("logout", "ann")]


def test_the_store_only_creates_searches_and_drops_whole_days() -> None:
    """Append-only: the audit store's document calls are creates (one, or bulk creates) and searches."""
    tree = ast.parse(Path(store_module.__file__).read_text(encoding="utf-8"))
    on_es = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "_es"
    }
    assert on_es == {"create", "bulk", "search"}
    bulk_actions = {key for node in ast.walk(tree) if isinstance(node, ast.Dict) for key in _keys(node)}
    assert bulk_actions & {"index", "update", "delete"} == set()


def _keys(node: ast.Dict) -> set[str]:
    return {key.value for key in node.keys if isinstance(key, ast.Constant) and isinstance(key.value, str)}
