"""The job's side of a key's rate limit: a request refused for it is waited out and sent again.

The gateway refuses a request over the key's limit with 429, ``Retry-After`` and the ``RateLimit`` field
(``gateway.auth.ratelimit``). Nothing of such a request was done, so the job waits ``Retry-After`` (at most
``MAX_WAIT`` seconds a time) and sends the same request again: a batch is never counted as failed for it, and
it uses none of the job's retries (``gateway.jobs.ingest_job``). This sits under every request of the job
(the search, sync-run steps and lease renewals too). One request waits ``PATIENCE`` seconds in all at most
(a key allowed a request a day should stop the job, not hold it for a day): then its 429 is the job's, as
is a 429 without ``RateLimit`` (Elasticsearch's), left to the job's own retries.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

log = logging.getLogger(__name__)

MAX_WAIT = 60.0  # seconds waited at most before a new attempt, whatever Retry-After says
PATIENCE = 900.0  # seconds one request may wait in all for the key's rate limit


def rate_limit_wait(response: httpx.Response, max_wait: float = MAX_WAIT) -> float | None:
    """Seconds to wait before sending the request again, when the answer is a refusal for the key's limit."""
    if response.status_code != 429 or "ratelimit" not in response.headers:
        return None
    seconds = response.headers.get("retry-after", "").strip()
    delay = float(seconds) if seconds.isascii() and seconds.isdigit() else 1.0
    return min(max(delay, 1.0), max_wait)  # whole seconds, at least one: the gateway never says 0


class PacedClient(httpx.AsyncClient):
    """The job's HTTP client: every request waits out the key's rate limit; ``waits`` counts how often.

    Built on ``send``, so the transport, TLS verification and proxies stay httpx's own."""

    def __init__(self, *, max_wait: float = MAX_WAIT, patience: float = PATIENCE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_wait = max_wait
        self.patience = patience
        self.waits = 0

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        waited = 0.0
        while True:
            response = await super().send(request, **kwargs)
            delay = rate_limit_wait(response, self.max_wait)
            if delay is None or waited + delay > self.patience:
                return response
            await response.aclose()
            self.waits += 1
            waited += delay
            log.info("the key is over its rate limit: waiting %.0f s, then sending the request again", delay)
            await asyncio.sleep(delay)
