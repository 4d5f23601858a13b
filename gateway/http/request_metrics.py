"""Request counts and latencies, kept as plain numbers and exposed as two Prometheus metrics.

Every request answered by the app or by the search in the protocol is counted
(``gateway_http_requests_total`` by method, route template and status) and timed
(``gateway_http_request_duration_seconds`` by route template); the protocol's own refusals of a request it
cannot take (400 unparsable, 408, 413, 431, see ``limits.py``) are not. prometheus_client's own Counter and
Histogram take a lock per update and walk the buckets in Python: about 2 µs per request, a noticeable part
of the passthrough search's cost. Here an update is a dictionary lookup and three additions on the event
loop's thread; ``collect`` turns the numbers into the same metric families when ``/metrics`` is read.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
_LE = [floatToGoString(bound) for bound in BUCKETS] + ["+Inf"]  # type: ignore[no-untyped-call]


class _Route:
    __slots__ = ("buckets", "created", "sum")

    def __init__(self) -> None:
        self.buckets = [0] * (len(BUCKETS) + 1)  # per bucket (not cumulative); the last one is +Inf
        self.sum = 0.0
        self.created = time.time()


class RequestStats(Collector):
    """What ``RequestRecorder`` counts; registered in the app's registry like any metric."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, int], list[float]] = {}  # → [count, created]
        self._routes: dict[str, _Route] = {}

    def add(self, method: str, route: str, status: int, elapsed: float) -> None:
        count = self._counts.get((method, route, status))
        if count is None:
            count = self._counts[(method, route, status)] = [0, time.time()]
        count[0] += 1
        latency = self._routes.get(route)
        if latency is None:
            latency = self._routes[route] = _Route()
        latency.buckets[bisect_left(BUCKETS, elapsed)] += 1  # a bucket counts values <= its bound
        latency.sum += elapsed

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "gateway_http_requests",
            "HTTP requests served, by route template and status.",
            labels=["method", "route", "status"],
        )
        for (method, route, status), (count, created) in list(self._counts.items()):
            requests.add_metric([method, route, str(status)], count, created=created)
        yield requests
        latency = HistogramMetricFamily(
            "gateway_http_request_duration_seconds",
            "Time from request start to the last response byte.",
            labels=["route"],
        )
        for route, stats in list(self._routes.items()):
            cumulative, buckets = 0, []
            for le, count in zip(_LE, list(stats.buckets), strict=True):
                cumulative += count
                buckets.append((le, float(cumulative)))
            latency.add_metric([route], buckets, stats.sum)
            # prometheus_client's own histograms also expose when each series was created
            latency.samples.append(Sample(f"{latency.name}_created", {"route": route}, stats.created))
        yield latency
