"""The grammar of every id that becomes part of an Elasticsearch URL path (a document id).

The Elasticsearch client percent-encodes a path part (``/``, ``?``, ``#``, ``%`` and the rest), but ``.``
and ``..`` are left as they are, and every HTTP stack on the way normalises them: ``GET
/gateway-users/_doc/..`` is the index itself, ``/_doc/.`` an endpoint that does not exist. An empty id
names no document either. So each kind of id has an allow-list grammar, checked at the place the id
reaches the client: it starts with a letter, a digit or ``_`` (no id of only dots can match) and goes on
with those and a few punctuation marks, never a control, format (bidi), separator, space, ``/``, ``?``,
``#`` or ``%`` character. A username that does not match is an unknown user; any other id is refused
with ``InvalidId`` (400). docs/security.md lists the grammars.

The ids the gateway makes itself are hex digests by construction: an API key's record is stored under
the key's HMAC-SHA-256 (``KEY_DIGEST``). Entity ids (SHA-512 of the primary key) travel in bulk bodies,
never in a path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.errors import InvalidInput


class InvalidId(InvalidInput):
    """An id outside its kind's grammar."""

    code = "invalid_id"


@dataclass(frozen=True)
class IdGrammar:
    """One kind of id: what it is called, its regular expression (whole value), its size in UTF-8 bytes,
    and the rule in words (the message of a refusal)."""

    what: str
    pattern: str  # a Python regular expression for the whole value
    max_bytes: int
    characters: str

    @property
    def anchored(self) -> str:
        """The pattern as JSON Schema and OpenAPI take it (anchored at both ends)."""
        return f"^{self.pattern}$"

    @property
    def rule(self) -> str:
        return f"{self.what} is 1 to {self.max_bytes} bytes: {self.characters}"

    def valid(self, value: object) -> bool:
        return (
            isinstance(value, str)
            and re.fullmatch(self.pattern, value) is not None
            and len(value.encode()) <= self.max_bytes
        )

    def check(self, value: str) -> str:
        """``value`` when it is in the grammar; InvalidId (400) otherwise."""
        if not self.valid(value):
            raise InvalidId(self.rule)
        return value


DATASOURCE_ID = IdGrammar(
    "a data-source id",
    r"[A-Za-z0-9_][A-Za-z0-9_.:@+~-]*",
    256,  # the data-source index keeps ids up to 256 characters as keywords (ignore_above)
    "an ASCII letter, digit or _, then those and . : @ + ~ -",
)
# Unicode letters and digits: an administrator's e-mail address may have them (Python's \w).
USERNAME = IdGrammar("a username", r"\w[\w.@+'-]*", 256, "a letter, digit or _, then those and . @ + ' -")
KEY_DIGEST = IdGrammar("an API key digest", r"[0-9a-f]{64}", 64, "64 lower-case hex digits")
