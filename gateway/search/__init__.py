"""Passthrough search on the data-source index: the guard (an allow-listed grammar) and the service."""

from gateway.search.guard import check_search_body
from gateway.search.rules import SearchRejected
from gateway.search.service import (
    CACHED_BODY_BYTES,
    MAX_BODY_BYTES,
    checked_search,
    parse_request,
    prepare_search,
    search_datasources,
    search_path,
    settle,
)

__all__ = [
    "CACHED_BODY_BYTES",
    "MAX_BODY_BYTES",
    "SearchRejected",
    "check_search_body",
    "checked_search",
    "parse_request",
    "prepare_search",
    "search_datasources",
    "search_path",
    "settle",
]
