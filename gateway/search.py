"""Passthrough search guardrails: what a body sent to the data-source index may contain.

The body is walked completely. Top-level keys come from an allow-list; anywhere in the tree, constructs that
reach other indices or run code are refused, each with a message naming the construct and where it was
found. Sizes and nesting are bounded. The caller then adds a server-side timeout.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson

from gateway.errors import BadRequest, GatewayError, es_status_error, reason_from_body
from gateway.es.passthrough import PassthroughClient

MAX_BODY_BYTES = 256 * 1024
MAX_DEPTH = 32
MAX_RESULT_WINDOW = 10_000  # Elasticsearch's index.max_result_window default
MAX_AGG_SIZE = 10_000
DEFAULT_TIMEOUT = "10s"
MAX_TIMEOUT_MS = 10_000
_TIME_UNITS_MS = {"ms": 1, "s": 1000}

ALLOWED_TOP_LEVEL = frozenset(
    {
        "query", "sort", "size", "from", "track_total_hits", "_source", "fields", "docvalue_fields",
        "stored_fields", "highlight", "aggs", "aggregations", "post_filter", "search_after", "min_score",
        "timeout", "terminate_after", "track_scores", "explain", "version", "seq_no_primary_term",
        "collapse", "rescore", "suggest", "profile",
    }
)  # fmt: skip

# Keys that run code, wherever they appear.
SCRIPT_KEYS = frozenset(
    {
        "script", "_script", "script_score", "script_fields", "runtime_mappings", "scripted_metric",
        "bucket_script", "bucket_selector", "moving_fn", "minimum_should_match_script", "init_script",
        "map_script", "combine_script", "reduce_script", "collate",
    }
)  # fmt: skip

# Keys that read other indices or stored objects, or hide a query from this check.
FOREIGN_KEYS = {
    "percolate": "percolate queries read documents by index and id",
    "indexed_shape": "pre-indexed shapes read another index",
    "wrapper": "wrapper queries hide an encoded query from the guardrails",
    "pit": "point-in-time ids may name other indices",
    "indices_boost": "indices_boost names other indices",
}


class SearchRejected(BadRequest):
    code = "search_rejected"


def _where(path: tuple[str, ...]) -> str:
    return ".".join(path) or "<body>"


def _check_size(value: Any, path: tuple[str, ...], limit: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SearchRejected(f"'{_where(path)}' must be an integer")
    if value < 0 or value > limit:
        raise SearchRejected(f"'{_where(path)}' must be between 0 and {limit}")


def _check_terms_lookup(value: Any, path: tuple[str, ...]) -> None:
    if not isinstance(value, dict):
        return
    for field, terms in value.items():
        if isinstance(terms, dict) and ("index" in terms or "id" in terms or "path" in terms):
            raise SearchRejected(f"terms lookup at '{_where((*path, field))}' reads another document")


def _walk(node: Any, path: tuple[str, ...], in_aggs: bool) -> None:
    if len(path) > MAX_DEPTH:
        raise SearchRejected(f"the body nests deeper than {MAX_DEPTH} levels")
    if isinstance(node, list):
        for index, item in enumerate(node):
            _walk(item, (*path, str(index)), in_aggs)
        return
    if not isinstance(node, dict):
        return
    if "_index" in node and ("_id" in node or "doc" in node):
        raise SearchRejected(f"'{_where(path)}' references a document of another index")
    for key, value in node.items():
        here = (*path, key)
        if key in SCRIPT_KEYS:
            raise SearchRejected(f"scripts are not allowed ('{_where(here)}')")
        if key in FOREIGN_KEYS:
            raise SearchRejected(f"'{_where(here)}' is not allowed: {FOREIGN_KEYS[key]}")
        if key == "terms" and not in_aggs:
            _check_terms_lookup(value, here)
        if in_aggs and key in ("size", "shard_size"):
            _check_size(value, here, MAX_AGG_SIZE)
        _walk(value, here, in_aggs or key in ("aggs", "aggregations"))


def check_search_body(body: Any) -> dict[str, Any]:
    """Return the search body, checked; raise SearchRejected naming the first offending construct."""
    if not isinstance(body, dict):
        raise SearchRejected("the search body must be a JSON object")
    unknown = sorted(set(body) - ALLOWED_TOP_LEVEL)
    if unknown:
        raise SearchRejected(f"unsupported search option(s): {', '.join(unknown)}")
    size = body.get("size", 10)
    start = body.get("from", 0)
    _check_size(size, ("size",), MAX_RESULT_WINDOW)
    _check_size(start, ("from",), MAX_RESULT_WINDOW)
    if size + start > MAX_RESULT_WINDOW:
        raise SearchRejected(f"'from' + 'size' must not exceed {MAX_RESULT_WINDOW}")
    if "timeout" in body:
        _check_timeout(body["timeout"])
    _walk(body, (), in_aggs=False)
    return body


def _check_timeout(value: Any) -> None:
    text = value if isinstance(value, str) else ""
    unit = "ms" if text.endswith("ms") else "s" if text.endswith("s") else ""
    number = text[: -len(unit)] if unit else ""
    if not number.isdigit() or not 0 < int(number) * _TIME_UNITS_MS[unit] <= MAX_TIMEOUT_MS:
        raise SearchRejected(f'\'timeout\' must be like "500ms" or "5s", at most {MAX_TIMEOUT_MS // 1000}s')


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


def prepare_search(raw: bytes) -> bytes:
    """A raw ``{"query": ...}`` request → the checked search body Elasticsearch gets (with a timeout)."""
    try:
        envelope: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from exc
    body = parse_request(envelope)
    body["timeout"] = body.get("timeout", DEFAULT_TIMEOUT)
    return orjson.dumps(body)


# Ingestion jobs send the same few searches over and over: remember the checked form of small bodies.
# (Rejections raise, so they are never remembered.)
_prepare_small_search = functools.lru_cache(maxsize=256)(prepare_search)
CACHED_BODY_BYTES = 4096


async def search_datasources(client: PassthroughClient, index: str, raw: bytes) -> bytes:
    """Check a raw ``{"query": ...}`` request and return Elasticsearch's response bytes unchanged."""
    body = _prepare_small_search(raw) if len(raw) <= CACHED_BODY_BYTES else prepare_search(raw)
    # allow_partial_search_results=false: a shard failure (e.g. a bad date in a range) becomes a 400,
    # never a silently partial answer.
    response = await client.post(f"/{index}/_search?allow_partial_search_results=false", body)
    if response.status != 200:
        status, error, _ = es_status_error(
            response.status, reason_from_body(response.body) or "search failed"
        )
        raise SearchFailed(status, error)
    return response.body


class SearchFailed(GatewayError):
    """Elasticsearch refused the search; carries the mapped status and error body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body["error"]["message"])
        self.status_code = status
        self.code = body["error"]["code"]
