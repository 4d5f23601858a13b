"""Preparing a passthrough search (pure): the checked body gets a timeout; rejections are never remembered."""

from __future__ import annotations

import orjson
import pytest

from gateway.errors import InvalidInput
from gateway.search.service import CACHED_BODY_BYTES, _prepare_small_search, prepare_search, reason_for_caller


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
    assert reason_for_caller(orjson.dumps(failure), "idx") == "deep"
