"""One lease per data source in ``gateway-sync-leases``: no two sync runs of a data source interleave.

A run takes the lease with ``op_type=create`` (document id: the data-source id); a lease past its expiry
may be taken over, but only with ``if_seq_no``/``if_primary_term`` of the expired document, so of two
runs racing for it exactly one wins. Renewing and releasing are compare-and-set writes too: a run whose
lease was taken over cannot renew, finish or release it. Every write refreshes the lease index, so
every replica sees the lease at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from elasticsearch import AsyncElasticsearch, ConflictError, NotFoundError

from gateway.clock import Clock
from gateway.errors import Conflict
from gateway.ids import DATASOURCE_ID

LEASE_INDEX = "gateway-sync-leases"


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Lease:
    datasource_id: str
    run_id: str
    started: str
    expires: str
    seq_no: int
    primary_term: int

    def as_json(self) -> dict[str, str]:
        return {"runId": self.run_id, "started": self.started, "expires": self.expires}


def check_datasource_id(datasource_id: str) -> str:
    """The id, when it is in the data-source id grammar (it names the lease document); 400 otherwise."""
    return DATASOURCE_ID.check(datasource_id)


class SyncLeases:
    def __init__(
        self, es: AsyncElasticsearch, clock: Clock, seconds: float, index: str = LEASE_INDEX
    ) -> None:
        self.es = es
        self.clock = clock
        self.seconds = seconds
        self.index = index

    def _document(self, datasource_id: str, run_id: str, holder: str, started: str) -> dict[str, str]:
        expires = self.clock.now() + dt.timedelta(seconds=self.seconds)
        return {
            "datasourceId": datasource_id,
            "runId": run_id,
            "holder": holder,
            "started": started,
            "expires": _iso(expires),
        }

    async def current(self, datasource_id: str) -> Lease | None:
        found = await self.es.options(ignore_status=404).get(
            index=self.index, id=check_datasource_id(datasource_id)
        )
        if not found.get("found"):
            return None
        source: dict[str, Any] = found["_source"]
        return Lease(
            datasource_id,
            source["runId"],
            source["started"],
            source["expires"],
            int(found["_seq_no"]),
            int(found["_primary_term"]),
        )

    def expired(self, lease: Lease) -> bool:
        return _parse(lease.expires) <= self.clock.now()

    async def acquire(self, datasource_id: str, holder: str) -> Lease:
        """A new run's lease; 409 while another run's lease is live."""
        check_datasource_id(datasource_id)
        run_id = str(uuid.uuid4())
        document = self._document(datasource_id, run_id, holder, _iso(self.clock.now()))
        try:
            held = await self.current(datasource_id)
            if held is None:
                await self.es.index(
                    index=self.index, id=datasource_id, document=document, op_type="create", refresh=True
                )
            elif self.expired(held):
                await self._replace(held, document)
            else:
                raise Conflict(
                    f"another sync run of data source {datasource_id} is in progress (lease until "
                    f"{held.expires}); try again later",
                    details={"expires": held.expires},
                )
        except ConflictError:
            raise Conflict(f"another sync run of data source {datasource_id} took the lease first") from None
        lease = await self.current(datasource_id)
        assert lease is not None and lease.run_id == run_id
        return lease

    async def _replace(self, held: Lease, document: dict[str, str]) -> None:
        await self.es.index(
            index=self.index,
            id=held.datasource_id,
            document=document,
            if_seq_no=held.seq_no,
            if_primary_term=held.primary_term,
            refresh=True,
        )

    async def require(self, datasource_id: str, run_id: str) -> Lease:
        """The live lease of ``run_id``; 409 when the run does not hold it (ended, expired, taken over)."""
        held = await self.current(datasource_id)
        if held is None or held.run_id != run_id:
            raise Conflict(f"sync run {run_id} does not hold the lease of data source {datasource_id}")
        if self.expired(held):
            raise Conflict(f"the lease of sync run {run_id} expired at {held.expires}; start a new run")
        return held

    async def renew(self, datasource_id: str, run_id: str, holder: str) -> Lease:
        held = await self.require(datasource_id, run_id)
        try:
            await self._replace(held, self._document(datasource_id, run_id, holder, held.started))
        except ConflictError:
            raise Conflict(f"the lease of sync run {run_id} changed while renewing it") from None
        return await self.require(datasource_id, run_id)

    async def release(self, lease: Lease) -> None:
        """Give the lease up (only the version this run holds); a lease already gone is fine."""
        with contextlib.suppress(ConflictError, NotFoundError):
            await self.es.delete(
                index=self.index,
                id=lease.datasource_id,
                if_seq_no=lease.seq_no,
                if_primary_term=lease.primary_term,
                refresh=True,
            )
