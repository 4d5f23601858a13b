"""Preparing a passthrough search (pure): the checked body gets a timeout; rejections are never remembered."""

from __future__ import annotations

import orjson
import pytest

from gateway.errors import InvalidInput
from gateway.search.service import (
    CACHED_BODY_BYTES,
    _lost_a_node,
    _prepare_small_search,
    prepare_search,
    reason_for_caller,
)


def test_the_checked_body_carries_the_default_timeout() -> None:
    raw = orjson.dumps({"query": {"size": 1, "query": {"match_all": {}}}})
    assert orjson.loads(prepare_search(raw)) == {"size": 1, "query": {"match_all": {}}, "timeout": "10s"}
    assert _prepare_small_search(raw) == prepare_search(raw)


def test_a_rejected_body_is_rejected_every_time() -> None:
    raw = orjson.dumps({"query": {"script_fields": {"x": {"script": "1"}}}})
    assert len(raw) <= CACHED_BODY_BYTES
    for _ in range(3):
        with pytest.raises(InvalidInput, match="script_fields"):
            _prepare_small_search(raw)


def test_a_reason_only_in_the_caused_by_chain_reaches_the_caller() -> None:
    failure = {
        "error": {
            "root_cause": [],
            "type": "search_phase_execution_exception",
            "reason": "",
            "caused_by": {
                "type": "illegal_argument_exception",
                "reason": "",
                "caused_by": {"reason": "deep"},
            },
        }
    }
    assert reason_for_caller(failure, "idx") == "deep"


def _shard_failure(kind: str) -> dict[str, object]:
    reason = {"type": kind, "reason": "[node-1][127.0.0.1:9301][indices:data/read/search[phase/fetch/id]] x"}
    return {
        "error": {
            "root_cause": [reason],
            "type": "search_phase_execution_exception",
            "reason": "all shards failed",
            "phase": "fetch",
            "failed_shards": [{"shard": 0, "index": "i", "node": "n", "reason": reason}],
        },
        "status": 500,
    }


@pytest.mark.parametrize(
    ("kind", "retried"),
    [
        ("node_disconnected_exception", True),
        ("node_not_connected_exception", True),
        ("connect_transport_exception", True),
        ("query_shard_exception", False),  # the body's fault: the same again would fail again
        ("no_shard_available_action_exception", False),  # no copy to go to: an outage, not a lost node
        ("es_rejected_execution_exception", False),
    ],
)
def test_only_searches_that_lost_a_node_mid_way_are_sent_again(kind: str, retried: bool) -> None:
    assert _lost_a_node(_shard_failure(kind)) is retried
    assert _lost_a_node(None) is False and _lost_a_node({"error": "x"}) is False


def test_a_deeply_nested_failure_body_is_walked_without_recursion() -> None:
    body: dict[str, object] = {"type": "node_disconnected_exception"}
    for _ in range(5000):
        body = {"caused_by": body}
    assert _lost_a_node({"error": body}) is True
