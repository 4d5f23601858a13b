"""The passthrough search as a service: check the body (cached), send it, pass Elasticsearch's answer on.

The body is checked by the grammar in ``guard.py``; the caller's form of it is never sent, only the checked
one with a server-side timeout. Elasticsearch's response goes back byte for byte. Its rejection reasons go
back too (they are useful to a caller), after ``reason_for_caller`` has made sure they come from the
data-source index alone.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from typing import Any

import orjson

from gateway.errors import ElasticsearchRejected, InvalidInput
from gateway.es.failures import failure_for_status, reason_from_body
from gateway.es.passthrough import PassthroughClient, RawResponse
from gateway.search.guard import check_search_body
from gateway.search.limits import limit
from gateway.search.rules import SearchRejected
from gateway.search.scoping import limited_check, scope_body

log = logging.getLogger(__name__)

MAX_BODY_BYTES = limit("request body bytes")
DEFAULT_TIMEOUT = "10s"
WITHHELD = "Elasticsearch rejected the search; the reason concerns another index and is withheld"


def parse_request(envelope: Any) -> dict[str, Any]:
    """Unwrap ``{"query": <search body>}`` (the original's request shape) and check the inner body."""
    if not isinstance(envelope, dict):
        raise SearchRejected('the request body must be a JSON object like {"query": {...}}')
    if "query" not in envelope:
        raise SearchRejected("the request body needs a 'query' member holding the search body")
    extra = sorted(set(envelope) - {"query"})
    if extra:
        raise SearchRejected(f"unknown request member(s): {', '.join(extra)}")
    return check_search_body(envelope["query"])


def prepare_search(raw: bytes, datasources: tuple[str, ...] | None = None) -> bytes:
    """A raw ``{"query": ...}`` request → the checked search body Elasticsearch gets (with a timeout).

    With ``datasources`` (a key limited to them), the body is checked with the limited keys' refusals and
    scoped to those data sources (``scoping.py``); without, it is sent as the caller wrote it.
    """
    try:
        envelope: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the request body is not valid JSON: {exc}") from exc
    if datasources is None:
        body = parse_request(envelope)
    else:
        with limited_check():
            body = scope_body(parse_request(envelope), datasources)
    body["timeout"] = body.get("timeout", DEFAULT_TIMEOUT)
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError as exc:  # the grammar bounds nesting well below orjson's; never a 500
        raise SearchRejected(f"the search body cannot be sent on: {exc}") from exc


# Ingestion jobs send the same few searches over and over: remember the checked form of small bodies.
# (Rejections raise, so they are never remembered.)
_prepare_small_search = functools.lru_cache(maxsize=256)(prepare_search)
CACHED_BODY_BYTES = 4096


def checked_search(raw: bytes, datasources: tuple[str, ...] | None = None) -> bytes:
    """The body Elasticsearch gets for a raw ``{"query": ...}`` request (``prepare_search``, remembered for
    small bodies); raises the 400s of the grammar."""
    if len(raw) <= CACHED_BODY_BYTES:
        return _prepare_small_search(raw, datasources)
    return prepare_search(raw, datasources)


def search_path(index: str) -> str:
    # allow_partial_search_results=false: a shard failure (e.g. a bad date in a range) becomes a 400,
    # never a silently partial answer.
    return f"/{index}/_search?allow_partial_search_results=false"


async def search_datasources(
    client: PassthroughClient, index: str, raw: bytes, datasources: tuple[str, ...] | None = None
) -> bytes:
    """Check a raw ``{"query": ...}`` request and return Elasticsearch's response bytes unchanged;
    ``datasources``: the data sources the caller's key is limited to (None: no limit)."""
    body = checked_search(raw, datasources)
    return await settle(client, index, body, await client.post(search_path(index), body))


async def settle(client: PassthroughClient, index: str, body: bytes, response: RawResponse) -> bytes:
    """Elasticsearch's first ``response`` to a search → the answer's bytes, or the error to answer with.

    A 200 is returned as is. A search that failed because a node left is sent again; other failures
    become the gateway's errors, with Elasticsearch's reason when it concerns the data-source index only.
    """
    path = search_path(index)
    for _ in range(NODE_LOSS_RETRIES):
        if response.status < 500 or not _lost_a_node(_decode(response.body)):
            break
        # A node left while the search ran on it (e.g. between its query and fetch phases, which
        # Elasticsearch does not move to another copy): the search is idempotent, run it again.
        response = await client.post(path, body)
    if response.status != 200:
        failure = _decode(response.body)
        reason = reason_for_caller(failure, index) or "search failed"
        if response.status == 500 and _failed_on_the_body(failure):
            # Elasticsearch answers some rejections of a body with 500 (a nested query on a path that is
            # not nested, inside an aggregation): the shards failed on the body itself, so sending it
            # again cannot succeed. That is the caller's error, not a retryable outage.
            raise ElasticsearchRejected(reason)
        raise failure_for_status(response.status, reason)
    return response.body


# Shard failures caused by the body itself; anything else (a node gone, a cancelled task) stays a 503.
_BODY_FAILURES = frozenset(
    {
        "illegal_state_exception",
        "illegal_argument_exception",
        "query_shard_exception",
        "parsing_exception",
        "x_content_parse_exception",
        "number_format_exception",
        "aggregation_execution_exception",
        "search_parse_exception",
    }
)


# A search that failed only because a node went away mid-search. Elasticsearch retries the query phase
# on another copy of a shard but not the later phases; the gateway sends such a search again.
NODE_LOSS_RETRIES = 2
_NODE_LOSS = frozenset(
    {
        "node_disconnected_exception",
        "node_not_connected_exception",
        "node_closed_exception",
        "connect_transport_exception",
        "send_request_transport_exception",
    }
)


def _lost_a_node(info: Any) -> bool:
    return any(kind in _NODE_LOSS for kind in _error_types(info))


def _error_types(body: Any) -> Iterator[str]:
    """Every ``type`` in an Elasticsearch error body (root causes, shard failures, caused_by chains).

    Walked with an explicit stack: a body nested deeper than Python's recursion limit is still only data.
    """
    stack = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if isinstance(node.get("type"), str):
                yield node["type"]
            stack.extend(value for value in node.values() if isinstance(value, dict | list))


def _decode(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _failed_on_the_body(info: Any) -> bool:
    error = info.get("error") if isinstance(info, dict) else None
    if not isinstance(error, dict) or error.get("type") != "search_phase_execution_exception":
        return False
    failures = error.get("failed_shards")
    return (
        isinstance(failures, list)
        and bool(failures)
        and all(
            isinstance(f, dict)
            and isinstance(f.get("reason"), dict)
            and f["reason"].get("type") in _BODY_FAILURES
            for f in failures
        )
    )


def reason_for_caller(info: Any, index: str) -> str | None:
    """Elasticsearch's reason for a failed search (its decoded error body), or ``WITHHELD`` if any part of
    it names another index.

    The grammar already keeps every other index out of the search; this is the second wall. Every
    ``index`` an error names (root causes, shard failures, nested causes) must be the data-source index,
    and so must every index named in an ``index_not_found``-style reason.
    """
    named = set(_indices_named(info))
    if named - {index}:
        log.warning("search failure naming other indices withheld from the caller: %s", sorted(named))
        return WITHHELD
    return reason_from_body(info)


def _indices_named(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _indices_named(item)
    elif isinstance(node, dict):
        if isinstance(node.get("index"), str):
            yield node["index"]
        if node.get("resource.type") == "index_or_alias":
            yield str(node.get("resource.id"))
        for value in node.values():
            yield from _indices_named(value)
