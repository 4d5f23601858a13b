"""How to reach the cluster: its nodes, credentials and TLS, made once from the gateway's settings.

Both clients take it: the official one (``client.py``) and the passthrough search's (``passthrough.py``).
The Authorization header and the TLS context are built here, once per ``ConnectionSettings``, and both
clients use the same ones, so they cannot disagree about how Elasticsearch is reached.
"""

from __future__ import annotations

import base64
import ssl
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pydantic import SecretStr

from gateway.settings import Settings


@dataclass(frozen=True)
class ConnectionSettings:
    """The nodes (``ES_URL``), the credentials (``ES_USERNAME``/``ES_PASSWORD`` or ``ES_API_KEY``), TLS
    (``ES_CA_CERTS``, ``ES_VERIFY_CERTS``), the request timeout and whether to sniff."""

    urls: tuple[str, ...]
    request_timeout: float
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    ca_certs: Path | None = None
    verify_certs: bool = True
    sniff: bool = False

    def __post_init__(self) -> None:
        if not self.urls:
            raise ValueError("a cluster needs at least one node URL")

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionSettings:
        return cls(
            urls=tuple(settings.es_urls),
            request_timeout=settings.es_request_timeout,
            username=settings.es_username,
            password=settings.es_password,
            api_key=settings.es_api_key,
            ca_certs=settings.es_ca_certs,
            verify_certs=settings.es_verify_certs,
            sniff=settings.es_sniff,
        )

    @property
    def https(self) -> bool:
        return self.urls[0].startswith("https:")  # one scheme for every node (``node_urls``)

    # The two below are built on first use and kept (cached_property stores past the frozen __setattr__).
    @cached_property
    def authorization(self) -> str | None:
        """The ``Authorization`` header's value every request carries, or None without credentials."""
        if self.api_key is not None:
            return f"ApiKey {self.api_key.get_secret_value()}"
        if self.username is not None and self.password is not None:
            pair = f"{self.username}:{self.password.get_secret_value()}".encode()
            return f"Basic {base64.b64encode(pair).decode()}"
        return None

    @cached_property
    def ssl_context(self) -> ssl.SSLContext | None:
        """TLS for https nodes (None for http): the system's CAs, or ``ca_certs``; certificates and host
        names checked unless ``verify_certs`` is off."""
        if not self.https:
            return None
        context = ssl.create_default_context(cafile=str(self.ca_certs) if self.ca_certs else None)
        if not self.verify_certs:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context
