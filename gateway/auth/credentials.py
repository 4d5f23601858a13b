"""Reading credentials from request headers, in the forms the original product's clients send."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple


class Credentials(NamedTuple):  # read on every request: a tuple is the cheapest immutable record
    scheme: Literal["api_key", "bearer"]
    value: str

    def __repr__(self) -> str:
        return f"Credentials({self.scheme}, <redacted>)"


def credentials_from_headers(headers: Mapping[str, str]) -> Credentials | None:
    """``X-API-KEY: <key>``, ``Authorization: ApiKey <key>``, ``Authorization: Bearer <jwt>``, or the raw key
    in ``Authorization`` (as the original documentation's curl example sends it)."""
    api_key = headers.get("x-api-key", "").strip()
    if api_key:
        return Credentials("api_key", api_key)
    authorization = headers.get("authorization", "").strip()
    if not authorization:
        return None
    scheme, _, rest = authorization.partition(" ")
    rest = rest.strip()
    if scheme.lower() == "bearer" and rest:
        return Credentials("bearer", rest)
    if scheme.lower() == "apikey" and rest:
        return Credentials("api_key", rest)
    return Credentials("api_key", authorization)
