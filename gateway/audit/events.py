"""One audit event: what the trail stores and what ``GET /api/admin/audit`` shows.

An event names its action, outcome, actor, client address, key (record id and name) and details; never a
key, a password or a token. Refused key uses and throttled logins are counted: one event per key (or
client), reason and minute, with ``count`` how many there were.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

Action = Literal[
    "login",
    "logout",
    "key.create",
    "key.update",
    "key.rotate",
    "key.revoke",
    "key.delete",
    "key.refused",
    "sync.finish",
]
ACTIONS: tuple[Action, ...] = get_args(Action)
Outcome = Literal["success", "failure", "throttled", "refused"]


@dataclass(frozen=True)
class AuditEvent:
    id: str
    time: str
    action: Action
    outcome: Outcome
    actor: str | None = None  # the administrator, or the key's name for what a key did
    address: str | None = None  # the client's, as resolved through GATEWAY_TRUSTED_PROXIES
    key_id: str | None = None
    key_name: str | None = None
    details: dict[str, Any] | None = None
    count: int = 1

    @property
    def moment(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.time)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> AuditEvent:
        values: dict[str, Any] = {name: doc.get(name) for name in cls.__dataclass_fields__}
        return cls(**values)

    def view(self) -> dict[str, Any]:
        """The event as the audit API shows it."""
        return {
            "id": self.id,
            "time": self.time,
            "action": self.action,
            "outcome": self.outcome,
            "actor": self.actor,
            "address": self.address,
            "keyId": self.key_id,
            "keyName": self.key_name,
            "details": self.details or {},
            "count": self.count,
        }
