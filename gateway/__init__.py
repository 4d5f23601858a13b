"""ingest-gateway: API keys, passthrough search and ingestion in front of Elasticsearch."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ingest-gateway")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
