"""Builds the AsyncElasticsearch client from settings (nodes, basic auth, API key, custom CA, sniffing)."""

from __future__ import annotations

from typing import Any

from elasticsearch import AsyncElasticsearch

from gateway.settings import Settings

SNIFF_MIN_DELAY = 10.0
SNIFF_TIMEOUT = 2.0


def client_options(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "request_timeout": settings.es_request_timeout,
        # Retried on another node: connection errors and 429/502/503/504 answers (elastic-transport's
        # defaults), never a timeout. Bulk writes opt out (``es/bulk.py``): they may have been applied.
        "max_retries": 2,
        "retry_on_timeout": False,
    }
    if settings.es_username is not None and settings.es_password is not None:
        options["basic_auth"] = (settings.es_username, settings.es_password.get_secret_value())
    if settings.es_api_key is not None:
        options["api_key"] = settings.es_api_key.get_secret_value()
    if settings.es_ca_certs is not None:
        options["ca_certs"] = str(settings.es_ca_certs)
    if not settings.es_verify_certs:
        options["verify_certs"] = False
        options["ssl_show_warn"] = False
    return options


def build_client(settings: Settings) -> AsyncElasticsearch:
    """A client over every ``ES_URL`` node (round-robin, dead nodes left alone with back-off)."""
    options = client_options(settings)
    if settings.es_sniff:
        options.update(
            sniff_on_start=True,
            sniff_on_node_failure=True,
            min_delay_between_sniffing=SNIFF_MIN_DELAY,
            sniff_timeout=SNIFF_TIMEOUT,
        )
    return AsyncElasticsearch(settings.es_urls, **options)
