"""Server secrets: the JWT signing key and the HMAC key for API-key digests.

Several replicas must share them, so they come from configuration (``GATEWAY_JWT_SECRET``,
``GATEWAY_API_KEY_SECRET``). A single development node may leave them unset: they are then generated once
and kept in ``<state dir>/secrets.json``, created with mode 0600 and never logged.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from gateway.settings import Settings

log = logging.getLogger(__name__)

SECRETS_FILE = "secrets.json"


@dataclass(frozen=True, repr=False)
class ServerSecrets:
    jwt_key: bytes
    api_key_hmac_key: bytes

    def __repr__(self) -> str:  # never print key material, even in a traceback
        return "ServerSecrets(<redacted>)"


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a JSON object")
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
        log.warning("%s was readable by others; its mode is now 0600", path)
    return {str(k): str(v) for k, v in data.items()}


def _create(path: Path) -> dict[str, str]:
    """Write a fresh secrets file; if another process won the race, use its file instead."""
    fresh = {name: base64.b64encode(secrets.token_bytes(32)).decode() for name in ("jwt", "api_key")}
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(fresh, handle)
    log.warning(
        "generated server secrets in %s; set GATEWAY_JWT_SECRET and GATEWAY_API_KEY_SECRET to run replicas",
        path,
    )
    return fresh


def load_secrets(settings: Settings) -> ServerSecrets:
    jwt_key = settings.jwt_secret.get_secret_value().encode() if settings.jwt_secret else None
    hmac_key = settings.api_key_secret.get_secret_value().encode() if settings.api_key_secret else None
    if jwt_key is None or hmac_key is None:
        path = settings.state_dir / SECRETS_FILE
        stored = _read(path) or _create(path)
        jwt_key = jwt_key or base64.b64decode(stored["jwt"])
        hmac_key = hmac_key or base64.b64decode(stored["api_key"])
    return ServerSecrets(jwt_key=jwt_key, api_key_hmac_key=hmac_key)
