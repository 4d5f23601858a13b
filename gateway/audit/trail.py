"""The audit trail as the rest of the gateway uses it: record an event, or count a refusal.

``record`` writes one event at once (admin actions, logins, sync finishes: none is on the search's hot
path). ``refused`` and ``throttled`` only count in memory, per key (or client), reason and minute; a
background task writes each ended minute's counts as one event apiece, so a flood of refused calls costs
one write a minute per key and reason on each replica. What is still counted is written at shutdown.

A failed audit write is logged, never turned into a failed request: Elasticsearch being away already fails
every admin action before it gets here.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from elasticsearch import ApiError, TransportError

from gateway.audit.events import Action, AuditEvent, Outcome
from gateway.audit.store import AuditQuery, AuditStore
from gateway.auth.key_store import ApiKeyRecord
from gateway.auth.throttle import client_key
from gateway.clock import Clock
from gateway.errors import GatewayError, Refusal

log = logging.getLogger(__name__)

FLUSH_EVERY = 60.0  # seconds between writes of the counted events
RETENTION_EVERY = 3600.0  # seconds between retention passes
MAX_COUNTED = 10_000  # distinct counted entries held; past it, new ones are counted together (never dropped)
# Throttled logins are counted per client (an IPv6 /64, as the throttle counts them) and minute; past this
# many clients in a minute, further ones are counted together, so a spread-out flood cannot crowd out the
# refused key uses counted beside them.
MAX_THROTTLED_CLIENTS = 1_000


@dataclass(frozen=True)
class _Counted:
    minute: int
    action: Action
    outcome: Outcome
    key_id: str | None
    key_name: str | None
    reason: str | None
    client: str | None  # throttled logins are counted per client (IPv4 address or IPv6 /64)
    overflow: bool = False  # counted together: the table or the minute's clients were full


class AuditTrail:
    def __init__(self, store: AuditStore, clock: Clock, retention_days: int) -> None:
        self.store = store
        self._clock = clock
        self._retention = dt.timedelta(days=retention_days)
        self._counts: dict[_Counted, tuple[int, str | None]] = {}  # → (count, first client address)
        self._clients: dict[int, int] = {}  # minute → throttled clients counted in it
        self.lost = 0  # events Elasticsearch did not take (logged)
        # Until the gateway has applied its index templates, events wait here: a write before that would
        # create the day's index without the audit mapping.
        self.ready = False
        self._waiting: list[AuditEvent] = []

    def _event(self, action: Action, outcome: Outcome, moment: dt.datetime, **fields: Any) -> AuditEvent:
        return AuditEvent(uuid.uuid4().hex, moment.isoformat(), action, outcome, **fields)

    async def record(
        self,
        action: Action,
        outcome: Outcome = "success",
        *,
        actor: str | None = None,
        address: str | None = None,
        key_id: str | None = None,
        key_name: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        event = self._event(
            action,
            outcome,
            self._clock.now(),
            actor=actor,
            address=address,
            key_id=key_id,
            key_name=key_name,
            details=details,
        )
        if self.ready:
            await self._write([event])
        elif len(self._waiting) < MAX_COUNTED:
            self._waiting.append(event)

    async def sync_finished(
        self, actor: str, address: str | None, key: ApiKeyRecord | None, details: dict[str, Any]
    ) -> None:
        """A finished sync run: its data source, run, mode, ``force`` and deletes per entity type."""
        key_id, key_name = (key.id, key.name) if key is not None else (None, None)
        await self.record(
            "sync.finish", actor=actor, address=address, key_id=key_id, key_name=key_name, details=details
        )

    async def _write(self, events: list[AuditEvent]) -> bool:
        try:
            await self.store.append(events)
        except (ApiError, TransportError, GatewayError) as exc:
            self.lost += len(events)
            log.warning("could not write %d audit event(s): %s", len(events), type(exc).__name__)
            return False
        return True

    # --- counted events -----------------------------------------------------------------------------

    def refused(self, refusal: Refusal, address: str | None) -> None:
        """Count a refused use of a known key (memory only: safe on the hot path)."""
        self._count("key.refused", "refused", address, refusal.key_id, refusal.key_name, refusal.reason)

    def throttled(self, address: str | None) -> None:
        """Count a login refused by throttling (no account is named: it was never looked up)."""
        self._count("login", "throttled", address, None, None, None, client_key(address) if address else None)

    def _count(
        self,
        action: Action,
        outcome: Outcome,
        address: str | None,
        key_id: str | None,
        key_name: str | None,
        reason: str | None,
        client: str | None = None,
    ) -> None:
        """One more of an entry counted per minute: refusals per key and reason, throttled logins per client.

        Nothing is ever dropped: when the table is full (or a minute has too many throttled clients), the
        use is counted in an entry of its minute that names no key or client (``details.overflow``).
        """
        minute = int(self._clock.now().timestamp() // 60)
        entry = _Counted(minute, action, outcome, key_id, key_name, reason, client)
        if entry not in self._counts:
            crowded = client is not None and self._clients.get(minute, 0) >= MAX_THROTTLED_CLIENTS
            if crowded or len(self._counts) >= MAX_COUNTED:
                entry = _Counted(minute, action, outcome, None, None, reason, None, overflow=True)
            elif client is not None:
                self._clients[minute] = self._clients.get(minute, 0) + 1
        count, first = self._counts.get(entry, (0, address))
        self._counts[entry] = (count + 1, first)

    async def flush(self, *, everything: bool = False) -> int:
        """Write the counts of ended minutes (all of them with ``everything``); how many events."""
        if not self.ready:
            return 0
        if self._waiting:
            waiting, self._waiting = self._waiting, []
            await self._write(waiting)
        current = int(self._clock.now().timestamp() // 60)
        due = [entry for entry in self._counts if everything or entry.minute < current]
        if not due:
            return 0
        taken = {entry: self._counts.pop(entry) for entry in due}
        for minute in {entry.minute for entry in due}:
            self._clients.pop(minute, None)
        events = [self._counted_event(entry, count, first) for entry, (count, first) in taken.items()]
        if not await self._write(events):
            self.lost -= len(events)
            for entry, (count, first) in taken.items():  # kept for the next flush
                held, _ = self._counts.get(entry, (0, first))
                self._counts[entry] = (held + count, first)
            return 0
        return len(events)

    def _counted_event(self, entry: _Counted, count: int, address: str | None) -> AuditEvent:
        moment = dt.datetime.fromtimestamp(entry.minute * 60, dt.UTC)
        refused = entry.action == "key.refused"
        return self._event(
            entry.action,
            entry.outcome,
            moment,
            actor=entry.key_name if refused else None,
            address=address,
            key_id=entry.key_id,
            key_name=entry.key_name,
            details=_counted_details(entry),
            count=count,
        )

    # --- reading, retention, the background task ------------------------------------------------------

    async def search(self, query: AuditQuery, offset: int, size: int) -> tuple[list[AuditEvent], int]:
        return await self.store.search(query, offset, size)

    async def drop_expired(self) -> list[str]:
        return await self.store.drop_before((self._clock.now() - self._retention).date())

    async def run(self) -> None:
        """Until cancelled: write ended minutes' counts every minute, apply retention every hour."""
        last_retention = float("-inf")
        while True:
            with contextlib.suppress(ApiError, TransportError):
                if self._clock.monotonic() - last_retention >= RETENTION_EVERY:
                    last_retention = self._clock.monotonic()
                    await self.drop_expired()
                await self.flush()
            await asyncio.sleep(FLUSH_EVERY)

    async def close(self) -> None:
        await self.flush(everything=True)


def _counted_details(entry: _Counted) -> dict[str, Any] | None:
    details: dict[str, Any] = {"reason": entry.reason} if entry.action == "key.refused" else {}
    if entry.overflow:
        details["overflow"] = True  # these uses were counted together: no key or client is named
    return details or None
