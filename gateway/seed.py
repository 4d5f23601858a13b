"""Demo data for the local stack (``make run``): the documented demo administrator.

Only ``gateway up`` calls this; ``gateway serve`` never creates a user with a known password.
"""

from __future__ import annotations

import logging

from elasticsearch import AsyncElasticsearch

from gateway.auth.passwords import PasswordHasher
from gateway.auth.users import UserExists, UserStore, create_user

log = logging.getLogger(__name__)

DEMO_ADMIN = "bob.rodgers@forgerock.com"
DEMO_PASSWORD = "Welcome123"  # noqa: S105 (the original documentation's demo password, demo only)


async def ensure_demo_admin(es: AsyncElasticsearch, admin_group: str) -> bool:
    """Create the documentation's demo admin if missing; True when created."""
    store = UserStore(es)
    if await store.get(DEMO_ADMIN) is None:
        try:
            await create_user(
                store,
                PasswordHasher(),
                DEMO_ADMIN,
                DEMO_PASSWORD,
                display_name="Bob Rodgers",
                uid="bob.rodgers",
                gid_number="999",
                groups=("Zoran User", admin_group),
            )
        except UserExists:
            return False
        created = True
    else:
        created = False
    log.warning(
        "\n%s\nDEMO ADMIN %s is active with the documented demo password (see the README).\n"
        "It exists for the walk-through only: never load the demo seed into a cluster with real data.\n%s",
        "!" * 78,
        DEMO_ADMIN,
        "!" * 78,
    )
    return created
