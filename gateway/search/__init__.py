"""Passthrough search on the data-source index: the guard (an allow-listed grammar) and the service."""

from gateway.search.guard import check_search_body
from gateway.search.rules import SearchRejected
from gateway.search.service import (
    CACHED_BODY_BYTES,
    MAX_BODY_BYTES,
    parse_request,
    prepare_search,
    search_datasources,
)

__all__ = [
    "CACHED_BODY_BYTES",
    "MAX_BODY_BYTES",
    "SearchRejected",
    "check_search_body",
    "parse_request",
    "prepare_search",
    "search_datasources",
]
