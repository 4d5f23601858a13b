"""The pure parts of the connection limits: refusal answers and the open-file budget."""

from __future__ import annotations

import json
import resource

from gateway.cli.serve import SPARE_FILES, open_files_plan
from gateway.http.limits import HEAD_TOO_LARGE, refusal


def test_a_refusal_is_a_whole_json_answer_that_closes_the_connection() -> None:
    head, _, body = refusal(408, "request_timeout", "too slow").partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 408 Request Timeout"
    assert b"connection: close" in head and b"content-type: application/json" in head
    assert b"content-length: %d" % len(body) in head
    assert json.loads(body) == {"error": {"code": "request_timeout", "message": "too slow"}}
    assert HEAD_TOO_LARGE.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")


def test_the_open_file_limit_is_raised_for_the_connection_cap_when_the_hard_limit_allows() -> None:
    assert open_files_plan(4096, 1024, 524288) == (4096 + SPARE_FILES, 4096)
    assert open_files_plan(4096, 1024, resource.RLIM_INFINITY) == (4096 + SPARE_FILES, 4096)
    assert open_files_plan(100, 65536, 65536) == (65536, 100)  # room already: unchanged


def test_the_connection_cap_is_lowered_to_what_the_hard_limit_leaves_room_for() -> None:
    assert open_files_plan(4096, 1024, 2048) == (2048, 2048 - SPARE_FILES)
