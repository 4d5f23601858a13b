"""A lean HTTP/1.1 client for the passthrough search, the gateway's hot path, across a cluster's nodes.

The general-purpose client stack (elasticsearch-py, elastic-transport, aiohttp) spends several hundred
microseconds of CPU per call on features this one call does not need. Here each search is a prebuilt
request written to a kept-alive connection and a response parsed by httptools (C), whose body bytes go
back to the caller untouched — Elasticsearch's response is never decoded and re-encoded.

Searches that arrive in the same event-loop iteration are sent together, pipelined on one connection
(at most ``MAX_PIPELINE``): one write instead of one per search. On loopback a write costs more than
everything else a search does in the gateway, and Elasticsearch reads the batch at once too; it runs
pipelined requests concurrently and answers them in order. A search never waits for a batch to fill.

With several nodes in ``ES_URL`` (or found by sniffing) batches go round-robin to the nodes believed
alive, each with its own bounded LIFO pool of connections. A node that refuses a connection, drops one
mid-answer or does not answer in time is marked dead and left alone with back-off (1 s, 2 s, … 30 s);
the searches it had not answered go to another node (searches are idempotent), each node at most once per
search. A search that timed out twice fails (a slow search is not run on every node). When every node is
believed dead, a new search tries the one due back first, so a cluster that returns is used at once; a
search that already failed somewhere gives up then. A kept-alive connection that turns out stale is
retried once on a fresh one to the same node without blaming it; a search waiting for a free connection
waits at most the request timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from gateway.clock import SYSTEM_CLOCK, Clock
from gateway.errors import ElasticsearchUnavailable
from gateway.es.connection import Batch, Connection, Node, Pending, RawResponse, Reply
from gateway.es.connection_settings import ConnectionSettings

__all__ = ["MAX_CONNECTIONS", "MAX_PIPELINE", "PassthroughClient", "RawResponse", "Reply"]

MAX_CONNECTIONS = 64  # per node
MAX_PIPELINE = 8


class PassthroughClient:
    """POSTs JSON to the cluster's nodes (``ES_URL``'s, or the sniffed ones), failing over between them."""

    def __init__(
        self,
        cluster: ConnectionSettings,
        on_node_failure: Callable[[], None] | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._cluster = cluster
        self._now = clock.monotonic  # dead nodes' back-off
        self._timeout = cluster.request_timeout
        self._nodes = [Node(url, cluster) for url in cluster.urls]
        self._turn = 0  # round-robin position
        self.on_node_failure = on_node_failure
        self._queue: list[Pending] = []  # searches of this loop iteration, not yet sent
        self._all: set[Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def nodes(self) -> list[str]:
        return [node.url for node in self._nodes]

    def alive(self) -> list[str]:
        """The nodes searches currently go to."""
        now = self._now()
        return [node.url for node in self._nodes if node.dead_until <= now]

    def set_nodes(self, urls: Sequence[str]) -> None:
        """Adopt a new set of nodes (from sniffing): known ones keep their pools, gone ones are dropped."""
        if not urls:
            return
        known: dict[str, Node | None] = {node.url: node for node in self._nodes}
        self._nodes = [known.pop(url, None) or Node(url, self._cluster) for url in urls]
        for gone in filter(None, known.values()):
            gone.removed = True
            idle, gone.idle = gone.idle, []
            for connection in idle:
                connection.close()
            self._requeue_waiting(gone)

    async def post(self, path: str, body: bytes) -> RawResponse:
        future: asyncio.Future[RawResponse] = asyncio.get_running_loop().create_future()
        self.submit(path.encode(), body, future)
        return await future

    def submit(self, path: bytes, body: bytes, reply: Reply) -> None:
        """``post`` for callers that are callbacks: ``reply`` (``connection.Reply``) gets the answer."""
        if self._closing:
            raise ElasticsearchUnavailable("The gateway is shutting down.")
        if not self._queue:
            asyncio.get_running_loop().call_soon(self._flush)
        self._queue.append((path, body, reply))

    def _flush(self) -> None:
        queue, self._queue = self._queue, []
        live = [item for item in queue if not item[2].done()]
        for start in range(0, len(live), MAX_PIPELINE):
            self._dispatch(Batch(live[start : start + MAX_PIPELINE]))

    def _pick(self, batch: Batch) -> Node | None:
        """The next live node this batch was not sent to. When every node left is believed dead, a new
        batch takes the one due back first (a cluster that returns is used at once); a batch that already
        failed on a node gives up instead of trying every dead node in turn."""
        nodes = self._nodes
        if not batch.tried and len(nodes) == 1:
            return nodes[0]
        candidates = [node for node in nodes if node not in batch.tried] if batch.tried else nodes
        if not candidates:
            return None
        now = self._now()
        live = [node for node in candidates if node.dead_until <= now]
        if not live:
            return None if batch.tried else min(candidates, key=lambda node: node.dead_until)
        self._turn = (self._turn + 1) % len(live)
        return live[self._turn]

    def _dispatch(self, batch: Batch, node: Node | None = None) -> None:
        node = node or self._pick(batch)
        if node is None:
            self._reject(batch, ElasticsearchUnavailable(batch.failure))
            return
        while node.idle:
            connection = node.idle.pop()
            if not connection.closed:
                connection.send(batch, self._timeout)
                return
        if node.open < MAX_CONNECTIONS:
            self._open_connection(node, batch)
        else:  # every connection to the node is busy: wait for one, at most the request timeout
            batch.expiry = asyncio.get_running_loop().call_later(self._timeout, self._expire, node, batch)
            node.waiting.append(batch)

    def _expire(self, node: Node, batch: Batch) -> None:
        if batch in node.waiting:
            node.waiting.remove(batch)
            self._reject(batch, ElasticsearchUnavailable("Elasticsearch did not answer in time."))

    def _take_waiting(self, node: Node) -> Batch | None:
        if not node.waiting:
            return None
        batch = node.waiting.popleft()
        if batch.expiry is not None:
            batch.expiry.cancel()
            batch.expiry = None
        return batch

    def _requeue_waiting(self, node: Node) -> None:
        """The node cannot take its waiting batches now: send them wherever they can go (or fail them)."""
        waiting = []
        while (batch := self._take_waiting(node)) is not None:
            waiting.append(batch)
        for batch in waiting:
            self._dispatch(batch)

    def _open_connection(self, node: Node, batch: Batch) -> None:
        """Send ``batch`` on a new connection to ``node``, opened in the background."""
        node.open += 1
        task = asyncio.get_running_loop().create_task(self._connect_and_send(node, batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect_and_send(self, node: Node, batch: Batch) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                _, connection = await loop.create_connection(
                    lambda: Connection(node, self._release, self._failed), node.host, node.port, ssl=node.ssl
                )
        except asyncio.CancelledError:
            node.open -= 1
            self._reject(batch, ElasticsearchUnavailable("The gateway is shutting down."))
            raise
        except Exception:  # refused, timed out, unresolvable, a name IDNA cannot encode, a TLS failure
            node.open -= 1
            self._node_failed(node)
            self._retry_elsewhere(node, batch, "Elasticsearch is unreachable.")
            return
        self._all.add(connection)
        connection.send(batch, self._timeout)

    def _release(self, connection: Connection) -> None:
        node = connection.node
        if not connection.keep_alive or node.removed:
            connection.close()
            return
        connection.reused = True
        batch = self._take_waiting(node)
        if batch is not None:
            connection.send(batch, self._timeout)
        else:
            node.idle.append(connection)

    def _failed(self, connection: Connection, batch: Batch, exc: Exception, stale: bool) -> None:
        node = connection.node
        self._all.discard(connection)
        node.open -= 1
        if self._closing:
            self._reject(batch, ElasticsearchUnavailable("The gateway is shutting down."))
            return
        if batch.searches:
            if stale and not batch.fresh_retry:  # an idle connection went stale: once more, fresh
                batch.fresh_retry = True
                self._open_connection(node, batch)
                return
            self._node_failed(node)
            if not isinstance(exc, TimeoutError):
                self._retry_elsewhere(node, batch, "Elasticsearch closed the connection.")
            elif batch.timed_out:  # a second node did not answer in time either: likely the search itself
                self._reject(batch, ElasticsearchUnavailable("Elasticsearch did not answer in time."))
            else:
                batch.timed_out = True
                self._retry_elsewhere(node, batch, "Elasticsearch did not answer in time.")
        if node.waiting and node.open < MAX_CONNECTIONS:  # a slot is free (the node is alive, or it
            waiting = self._take_waiting(node)  # would have sent its waiting batches elsewhere)
            if waiting is not None:
                self._dispatch(waiting, node)

    def _node_failed(self, node: Node) -> None:
        now = self._now()
        if node.dead_until <= now:  # not already known dead (several connections report one failure)
            node.mark_dead(now)
            if self.on_node_failure is not None:
                self.on_node_failure()
        self._requeue_waiting(node)

    def _retry_elsewhere(self, node: Node, batch: Batch, failure: str) -> None:
        batch.tried.append(node)
        batch.failure = failure
        batch.fresh_retry = False
        self._dispatch(batch)

    @staticmethod
    def _reject(batch: Batch, error: Exception) -> None:
        for _, _, future in batch.searches:
            if not future.done():
                future.set_exception(error)

    async def close(self) -> None:
        self._closing = True
        closing = ElasticsearchUnavailable("The gateway is shutting down.")
        queue, self._queue = self._queue, []
        self._reject(Batch(queue), closing)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for connection in list(self._all):
            connection.close()
        self._all.clear()
        for node in self._nodes:
            node.idle.clear()
            while (batch := self._take_waiting(node)) is not None:
                self._reject(batch, closing)
