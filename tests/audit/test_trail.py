"""The audit trail on a real node: counted refusals, append-only events, retention by whole days."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from elasticsearch import AsyncElasticsearch, ConflictError

from gateway.audit.events import AuditEvent
from gateway.audit.store import AuditQuery, AuditStore, index_for
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
        await trail.store.append(events)
        dropped = await trail.drop_expired()
        await es.indices.refresh(index="gateway-audit-*")
        found, _ = await trail.search(AuditQuery(), 0, 10)
        return dropped, [e.id for e in found]

    dropped, kept = with_es(settings, work)
    assert dropped == sorted(index_for(now - dt.timedelta(days=age)) for age in (400, 31))
    assert kept == ["e0", "e29"]
