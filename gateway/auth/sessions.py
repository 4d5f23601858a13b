"""Admin sessions, kept in the gateway-private ``gateway-sessions`` index so that every replica agrees.

A login creates one session document (id: the token's ``sid``); every request with a token reads it with a
real-time GET, so a logout — the document deleted — is refused by every replica at once, and a gateway that
cannot reach Elasticsearch refuses tokens (fails closed). A session ends at the latest ``expires`` (the
absolute lifetime from login), whatever renewals happen.

All of a user's sessions are revoked at once through the user's *session epoch*: a random value, kept in a
document of its own, copied into each session at login and compared on every request. Revoking picks a new
epoch, so sessions made before no longer match — also those a concurrent login is still creating, and those
of a deleted user whose name is taken again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError, TransportError

log = logging.getLogger(__name__)

SESSIONS_INDEX = "gateway-sessions"
SID_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}")  # what new_sid makes: never a path segment like "." or ".."
NO_EPOCH = ""  # a user whose sessions were never revoked
TIDY_BATCH = 1000  # ended sessions deleted per tidying


def new_sid() -> str:
    return secrets.token_urlsafe(24)


def _epoch_id(username: str) -> str:
    """The epoch document's id: a digest, so that no username can change the URL it is read from."""
    return "user-" + hashlib.sha256(username.encode()).hexdigest()


@dataclass(frozen=True)
class StoredSession:
    sid: str
    username: str
    epoch: str
    expires: dt.datetime

    def valid_for(self, username: str, epoch: str, now: dt.datetime) -> bool:
        return self.username == username and self.epoch == epoch and now < self.expires


class SessionStore:
    def __init__(self, es: AsyncElasticsearch) -> None:
        self._es = es

    async def _get(self, doc_id: str) -> dict[str, Any] | None:
        try:
            found = await self._es.get(index=SESSIONS_INDEX, id=doc_id)
        except NotFoundError:  # no such document, or no index yet
            return None
        source: dict[str, Any] = found["_source"]
        return source

    async def create(
        self, sid: str, username: str, epoch: str, now: dt.datetime, expires: dt.datetime
    ) -> None:
        document = {
            "kind": "session",
            "username": username,
            "epoch": epoch,
            "created": now.isoformat(),
            "expires": expires.isoformat(),
        }
        await self._es.create(index=SESSIONS_INDEX, id=sid, document=document)

    async def get(self, sid: str) -> StoredSession | None:
        if not SID_PATTERN.fullmatch(sid):
            return None
        doc = await self._get(sid)
        if doc is None or doc.get("kind") != "session":
            return None
        return StoredSession(sid, doc["username"], doc["epoch"], dt.datetime.fromisoformat(doc["expires"]))

    async def end(self, sid: str) -> None:
        """Delete one session (a logout); real-time reads on every replica stop finding it at once."""
        if SID_PATTERN.fullmatch(sid):
            await self._es.options(ignore_status=404).delete(index=SESSIONS_INDEX, id=sid)

    async def epoch(self, username: str) -> str:
        doc = await self._get(_epoch_id(username))
        return str(doc["epoch"]) if doc is not None else NO_EPOCH

    async def revoke_all(self, username: str, now: dt.datetime) -> None:
        """End every session of ``username``, on every replica, from the moment this returns."""
        document = {"kind": "user", "username": username, "epoch": new_sid(), "created": now.isoformat()}
        await self._es.index(index=SESSIONS_INDEX, id=_epoch_id(username), document=document)
        # Tidying only (a search sees refreshed documents only): the new epoch already refuses them all.
        await self._delete_where(
            {"bool": {"filter": [{"term": {"kind": "session"}}, {"term": {"username": username}}]}}
        )

    async def delete_expired(self, now: dt.datetime) -> None:
        """Remove sessions past their end; nothing depends on it but the index's size."""
        expired = {
            "bool": {
                "filter": [{"term": {"kind": "session"}}, {"range": {"expires": {"lte": now.isoformat()}}}]
            }
        }
        await self._delete_where(expired)

    async def _delete_where(self, query: dict[str, Any]) -> None:
        """Delete up to TIDY_BATCH matching documents (a search and a bulk: no _delete_by_query on the
        embedded node); a failure is only logged."""
        try:
            found = await self._es.search(
                index=SESSIONS_INDEX, query=query, size=TIDY_BATCH, source=False, ignore_unavailable=True
            )
            deletes = [
                {"delete": {"_index": SESSIONS_INDEX, "_id": hit["_id"]}} for hit in found["hits"]["hits"]
            ]
            if deletes:
                await self._es.bulk(operations=deletes)
        except (ApiError, TransportError) as exc:
            log.warning("could not delete old sessions: %s", type(exc).__name__)
