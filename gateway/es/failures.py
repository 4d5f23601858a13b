"""Elasticsearch's failures in the gateway's terms: the most specific reason, and which error it is."""

from __future__ import annotations

import json
import logging
from typing import Any

from elasticsearch import ApiError

from gateway.errors import Conflict, ElasticsearchRejected, ElasticsearchUnavailable, GatewayError

log = logging.getLogger(__name__)

# Elasticsearch's reason names the document id (for a key record, the key's digest): not repeated.
CONCURRENT_CHANGE = (
    "The record changed while this request was writing it (another request changed it at the same "
    "time); read it again and retry."
)


def es_reason(exc: ApiError) -> str:
    """The most specific reason Elasticsearch gave, e.g. the root cause of a search failure."""
    return reason_from_body(exc.info) or str(exc.message)


def reason_from_body(info: Any) -> str | None:
    """The root cause's reason from an Elasticsearch error body (decoded, or raw bytes)."""
    if isinstance(info, bytes | str):
        try:
            info = json.loads(info)
        except ValueError:
            info = {}
    if not isinstance(info, dict):
        info = {}
    error = info.get("error")
    if isinstance(error, str):
        return error
    if not isinstance(error, dict):
        return None
    causes = error.get("root_cause") or []
    if causes and isinstance(causes[0], dict) and causes[0].get("reason"):
        return str(causes[0]["reason"])
    # Some failures (e.g. a pipeline aggregation's bad buckets_path) leave root_cause and reason empty and
    # say what went wrong only further down the caused_by chain.
    while isinstance(error, dict):
        if error.get("reason"):
            return str(error["reason"])
        error = error.get("caused_by")
    return None


def failure_for_status(status: int, reason: str) -> GatewayError:
    """Elasticsearch's own rejections of a request (4xx) are the caller's; anything else is an outage.

    A version conflict (409) is a concurrent change, not a malformed request: 409 ``conflict``.
    """
    if status == 409:
        log.info("elasticsearch version conflict: %s", reason)
        return Conflict(CONCURRENT_CHANGE)
    if 400 <= status < 500 and status not in (401, 403, 429):
        return ElasticsearchRejected(reason)
    log.warning("elasticsearch error %s: %s", status, reason)
    return ElasticsearchUnavailable("Elasticsearch could not serve the request.")
