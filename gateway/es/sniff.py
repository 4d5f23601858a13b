"""Sniffing (``ES_SNIFF=true``): the passthrough client learns the cluster's HTTP nodes from the cluster.

The official client sniffs for itself (``sniff_on_start``/``sniff_on_node_failure``, see ``client.py``);
``NodeSniffer`` does the same for the passthrough client: at start, after a node failed (at most every
``MIN_DELAY`` seconds) and every ``INTERVAL`` seconds. The addresses come from ``GET _nodes/_all/http``,
as in the official clients; dedicated master nodes are left out, and the scheme and path stay those of
``ES_URL``. A sniff that finds nothing, or fails, keeps the nodes already known.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import urlsplit

from elasticsearch import ApiError, AsyncElasticsearch, TransportError

from gateway.es.client import SNIFF_MIN_DELAY as MIN_DELAY
from gateway.es.client import SNIFF_TIMEOUT
from gateway.es.passthrough import PassthroughClient
from gateway.node_urls import valid_host

log = logging.getLogger(__name__)

INTERVAL = 300.0


def sniffed_urls(info: Any, like: str) -> list[str]:
    """Node URLs from a ``_nodes/_all/http`` answer, with the scheme and path of the URL ``like``."""
    base = urlsplit(like)
    urls: list[str] = []
    nodes = info.get("nodes") if isinstance(info, dict) else None
    for node in (nodes or {}).values():
        if not isinstance(node, dict) or node.get("roles") == ["master"]:
            continue
        address = (node.get("http") or {}).get("publish_address")
        if not isinstance(address, str) or ":" not in address:
            continue
        name, _, ip_and_port = address.partition("/")  # "name/ip:port" when http.publish_host is set
        host, _, port = (ip_and_port or name).rpartition(":")
        if ip_and_port and name:
            host = name
        if not port.isdigit() or not host or not valid_host(host):
            continue
        urls.append(f"{base.scheme}://{host}:{int(port)}{base.path.rstrip('/')}")
    return sorted(set(urls))


class NodeSniffer:
    """Keeps a passthrough client's nodes in line with the cluster's."""

    def __init__(self, es: AsyncElasticsearch, passthrough: PassthroughClient, like: str) -> None:
        self._es = es
        self._passthrough = passthrough
        self._like = like
        self._last = -MIN_DELAY
        self._task: asyncio.Task[None] | None = None
        self._periodic: asyncio.Task[None] | None = None

    async def sniff(self) -> list[str]:
        """Ask the cluster for its nodes now and adopt them; the URLs found (empty: none, nodes kept)."""
        self._last = asyncio.get_running_loop().time()
        try:
            info = await self._es.options(request_timeout=SNIFF_TIMEOUT).nodes.info(
                node_id="_all", metric="http", filter_path=["nodes.*.http.publish_address", "nodes.*.roles"]
            )
        except (ApiError, TransportError) as exc:
            log.warning("sniffing Elasticsearch nodes failed: %s", type(exc).__name__)
            return []
        urls = sniffed_urls(info.body, self._like)
        if urls and urls != self._passthrough.nodes:
            log.info("Elasticsearch nodes for searches: %s", ", ".join(urls))
            self._passthrough.set_nodes(urls)
        return urls

    def node_failed(self) -> None:
        """Called by the passthrough client when it marks a node dead: sniff soon, not too often."""
        loop = asyncio.get_running_loop()
        if self._task is None and loop.time() - self._last >= MIN_DELAY:
            self._task = loop.create_task(self._sniff_once())

    async def _sniff_once(self) -> None:
        try:
            await self.sniff()
        finally:
            self._task = None

    async def start(self) -> None:
        await self.sniff()
        self._periodic = asyncio.get_running_loop().create_task(self._every_interval())

    async def _every_interval(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL)
            await self.sniff()

    async def close(self) -> None:
        for task in (self._task, self._periodic):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
