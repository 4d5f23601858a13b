"""Schemathesis hooks for fuzzing the gateway (loaded through ``SCHEMATHESIS_HOOKS=tests.fuzz.hooks``).

Credentials come from the environment the fuzz test (or a developer, see docs/fuzzing.md) sets. Each
operation cycles through the credential forms it declares, plus a non-admin token, a wrong tenant, no
credentials at all and whatever the generator made up, so both the authenticated paths and the refusals
get exercised. The logout operation gets a session of its own (``FUZZ_LOGOUT_TOKEN``, optional): ending
the admin's or the viewer's session would turn every later case of theirs into a 401.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import schemathesis

AUTH_HEADERS = ("authorization", "x-api-key", "x-tenant-id")
LOGOUT = "/api/authentication/logout"
OTHER_TENANT = "11111111-2222-4333-8444-555555555555"

Form = dict[str, str] | None  # None: keep the generated headers (often garbage)


@dataclass(frozen=True)
class Credentials:
    admin_token: str
    viewer_token: str
    key: str
    tenant: str
    logout_token: str | None = None

    @classmethod
    def from_env(cls) -> Credentials:
        return cls(
            admin_token=os.environ["FUZZ_ADMIN_TOKEN"],
            viewer_token=os.environ["FUZZ_VIEWER_TOKEN"],
            key=os.environ["FUZZ_API_KEY"],
            tenant=os.environ["FUZZ_TENANT_ID"],
            logout_token=os.environ.get("FUZZ_LOGOUT_TOKEN"),
        )

    def logout_forms(self) -> list[Form]:
        """The first case ends the dedicated session (204); later ones find it ended (401)."""
        own: list[Form] = [{"authorization": f"Bearer {self.logout_token}"}] if self.logout_token else []
        return [*own, {}, None]

    def forms(self, api_key_operation: bool) -> list[Form]:
        tenant = {"x-tenant-id": self.tenant}
        admin = {"authorization": f"Bearer {self.admin_token}"}
        viewer = {"authorization": f"Bearer {self.viewer_token}"}
        if not api_key_operation:
            return [admin, admin, admin, viewer, {}, None]
        return [
            {"x-api-key": self.key, **tenant},
            {"authorization": self.key, **tenant},
            {"authorization": f"ApiKey {self.key}"},
            {**admin, **tenant},
            {"x-api-key": self.key, "x-tenant-id": OTHER_TENANT},
            viewer,
            {},
            None,
        ]


_cycles: dict[str, Iterator[Form]] = {}


# retry_on=[]: a 401 here is an expected answer to a deliberately bad credential, not an expired token.
@schemathesis.auth(refresh_interval=None, retry_on=[])
class GatewayCredentials:
    def get(self, case: schemathesis.Case[Any], context: schemathesis.AuthContext) -> Credentials:
        return Credentials.from_env()

    def set(self, case: schemathesis.Case[Any], data: Credentials, context: schemathesis.AuthContext) -> None:
        security: list[Any] = case.operation.definition.raw.get("security") or []
        if not security:
            return
        # Only the API-key operations list more than the one admin bearer requirement.
        forms = data.logout_forms() if case.operation.path == LOGOUT else data.forms(len(security) > 1)
        cycle = _cycles.setdefault(case.operation.label, itertools.cycle(forms))
        form = next(cycle)
        if form is None:
            return
        headers = case.headers if case.headers is not None else {}
        for name in [name for name in headers if name.lower() in AUTH_HEADERS]:
            del headers[name]
        headers.update(form)
        case.headers = headers
