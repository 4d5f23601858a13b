"""The gateway's one exception tree. Domain code raises these; it knows nothing of HTTP.

Each error has a stable ``code`` that clients see in ``{"error": {"code", "message"}}``; the status code and
headers are chosen in one place, ``gateway.http.errors``. An error may carry ``details`` (a JSON value)
for the client, and the few facts an HTTP answer needs (which credential scheme failed, how long to wait).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# Why a presented API key was refused, as the audit trail counts it (SPEC §10).
RefusalReason = Literal["scope", "datasource", "network", "rate", "revoked", "expired", "tenant"]


@dataclass(frozen=True)
class Refusal:
    """A refused use of a known key: which key (record id and name) and why. Never the key itself."""

    key_id: str
    key_name: str
    reason: RefusalReason


class GatewayError(Exception):
    """Base of every error the gateway reports to a client."""

    code = "internal_error"
    # Set when the error refuses a known API key's use; the HTTP layer reports it to the audit trail.
    refusal: Refusal | None = None

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def refusing(self, key_id: str, key_name: str, reason: RefusalReason) -> GatewayError:
        """This error, marked as the refusal of a known key's use (for the audit trail)."""
        self.refusal = Refusal(key_id, key_name, reason)
        return self


class InvalidInput(GatewayError):
    """The caller sent something malformed or outside what is accepted."""

    code = "bad_request"


class TooLarge(GatewayError):
    """A body or batch over its limit."""

    code = "payload_too_large"


class NotAuthenticated(GatewayError):
    """Missing or invalid credentials; ``scheme`` names what the caller should present."""

    code = "not_authenticated"

    def __init__(self, message: str, *, scheme: Literal["Bearer", "ApiKey"] | None = None) -> None:
        super().__init__(message)
        self.scheme = scheme


class NotPermitted(GatewayError):
    """Valid credentials that do not allow this action."""

    code = "forbidden"


class NotFound(GatewayError):
    code = "not_found"


class Conflict(GatewayError):
    """Refused because of the current state (another run holds the lease, a run that is not live)."""

    code = "conflict"


class TooManyAttempts(GatewayError):
    """Refused until ``retry_after`` seconds have passed (login throttling)."""

    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(GatewayError):
    """A dependency cannot serve now; the same request may succeed later (after ``retry_after`` seconds)."""

    code = "service_unavailable"
    # Short: a lost node is failed over within seconds, and a cluster that comes back is served at once.
    retry_after = 2


class ElasticsearchUnavailable(Unavailable):
    code = "elasticsearch_unavailable"


class ElasticsearchRejected(InvalidInput):
    """Elasticsearch refused what the caller asked for (its reason is the message)."""

    code = "elasticsearch_rejected"
