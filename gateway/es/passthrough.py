"""A client for the passthrough search that hands back Elasticsearch's response bytes untouched.

Decoding a search response into Python objects and encoding it again would cost more CPU than the rest of
the request; the passthrough endpoint returns Elasticsearch's body as is, so this client's JSON
"deserializer" is the identity on bytes. Request bodies are encoded once, by the caller.
"""

from __future__ import annotations

from typing import Any

from elastic_transport import JsonSerializer
from elasticsearch import AsyncElasticsearch

from gateway.es.client import client_options
from gateway.settings import Settings


class RawJsonSerializer(JsonSerializer):
    """Encodes like the default serializer; decoding returns the raw bytes."""

    def loads(self, data: bytes) -> Any:
        return data


def build_passthrough_client(settings: Settings) -> AsyncElasticsearch:
    raw = RawJsonSerializer()
    options = client_options(settings)
    options["max_retries"] = 1  # a search is cheap to fail; a stuck client is not
    return AsyncElasticsearch(
        settings.es_url,
        serializers={"application/json": raw, "application/vnd.elasticsearch+json": raw},
        **options,
    )
