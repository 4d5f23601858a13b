"""Builds the AsyncElasticsearch client from the connection settings (nodes, credentials, TLS, sniffing)."""

from __future__ import annotations

from typing import Any

from elasticsearch import AsyncElasticsearch

from gateway.es.connection_settings import ConnectionSettings

SNIFF_MIN_DELAY = 10.0
SNIFF_TIMEOUT = 2.0


def client_options(cluster: ConnectionSettings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "request_timeout": cluster.request_timeout,
        # Retried on another node: connection errors and 429/502/503/504 answers (elastic-transport's
        # defaults), never a timeout. Bulk writes opt out (``es/bulk.py``): they may have been applied.
        "max_retries": 2,
        "retry_on_timeout": False,
    }
    # The same header and TLS context as the passthrough client's (``connection_settings.py``).
    if cluster.authorization is not None:
        options["headers"] = {"authorization": cluster.authorization}
    if cluster.ssl_context is not None:
        options["ssl_context"] = cluster.ssl_context
    return options


def build_client(cluster: ConnectionSettings) -> AsyncElasticsearch:
    """A client over every node (round-robin, dead nodes left alone with back-off)."""
    options = client_options(cluster)
    if cluster.sniff:
        options.update(
            sniff_on_start=True,
            sniff_on_node_failure=True,
            min_delay_between_sniffing=SNIFF_MIN_DELAY,
            sniff_timeout=SNIFF_TIMEOUT,
        )
    return AsyncElasticsearch(list(cluster.urls), **options)
