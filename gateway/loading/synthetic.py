"""Coherent synthetic entity data sets: the showcase seed and large sets for benchmarks.

Deterministic for a given seed. Every manager, owner and assignment refers to an identity, application or
entitlement of the same set; the management chain has no cycles (a manager always comes earlier). Rows are
written as they are made, so a million identities take no more memory than ten.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from gateway.ingest.entities import APPLICATIONS, ASSIGNMENTS, ENTITLEMENTS, IDENTITIES

FIRST_NAMES = [
    "Aiko",
    "Alba",
    "Amir",
    "Ana",
    "Arjun",
    "Ben",
    "Bianca",
    "Carlos",
    "Chen",
    "Dana",
    "Elena",
    "Emeka",
    "Farah",
    "Felix",
    "Grace",
    "Hana",
    "Ivan",
    "Jamal",
    "Jonas",
    "Julia",
    "Kai",
    "Lars",
    "Leila",
    "Liam",
    "Maya",
    "Mei",
    "Mohammed",
    "Nadia",
    "Noah",
    "Olga",
    "Omar",
    "Priya",
    "Rafael",
    "Sara",
    "Sofia",
    "Tariq",
    "Tomas",
    "Uma",
    "Victor",
    "Yara",
    "Zoe",
]
LAST_NAMES = [
    "Adams",
    "Baker",
    "Costa",
    "Dubois",
    "Edwards",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kim",
    "Larsen",
    "Mendes",
    "Nakamura",
    "Novak",
    "Okafor",
    "Patel",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Silva",
    "Tanaka",
    "Usman",
    "Varga",
    "Walsh",
    "Wong",
    "Yilmaz",
    "Zhang",
]
DEPARTMENTS = {
    "Engineering": ("Software Engineer", "Site Reliability Engineer", "Engineering Manager"),
    "Finance": ("Accountant", "Financial Analyst", "Controller"),
    "Sales": ("Account Executive", "Sales Engineer", "Regional Sales Director"),
    "Human Resources": ("HR Generalist", "Recruiter", "HR Business Partner"),
    "Operations": ("Operations Analyst", "Facilities Coordinator", "Operations Manager"),
    "Security": ("Security Analyst", "Identity Engineer", "CISO Office Lead"),
}
CITIES = ("Austin", "Berlin", "Bristol", "Lyon", "Singapore", "Toronto", "Vancouver")
APP_NAMES = (
    "Salesforce",
    "Workday",
    "ServiceNow",
    "GitHub",
    "Jira",
    "SAP ERP",
    "Concur",
    "Slack",
    "Okta Admin",
    "Snowflake",
    "Zendesk",
    "NetSuite",
)
PERMISSIONS = ("Read Only", "User", "Power User", "Approver", "Administrator")


@dataclass(frozen=True)
class GeneratedCounts:
    applications: int
    entitlements: int
    identities: int
    assignments: int


def generate(
    out_dir: Path, identities: int, *, seed: int = 2022, assignments_per_identity: int = 3
) -> GeneratedCounts:
    """Write applications.csv, entitlements.csv, identities.csv and assignments.csv into ``out_dir``."""
    if identities < 1:
        raise ValueError("at least one identity")
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)  # noqa: S311 (reproducible test data, not secrets)
    managers = max(1, identities // 8)  # the first eighth of the identities manage and own things
    n_apps = max(8, identities // 2000)
    app_ids = [f"app-{a:04d}" for a in range(n_apps)]
    ent_ids: list[str] = []

    def user(index: int) -> str:
        return f"usr-{index:07d}"

    with (out_dir / "applications.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(APPLICATIONS.columns)
        for a, app_id in enumerate(app_ids):
            name = APP_NAMES[a % len(APP_NAMES)]
            if a >= len(APP_NAMES):
                name = f"{name} {a // len(APP_NAMES) + 1}"
            writer.writerow((app_id, name, user(rng.randrange(managers))))

    with (out_dir / "entitlements.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(ENTITLEMENTS.columns)
        for a, app_id in enumerate(app_ids):
            app_name = APP_NAMES[a % len(APP_NAMES)]
            for p, permission in enumerate(PERMISSIONS):
                ent_id = f"ent-{a:04d}-{p}"
                ent_ids.append(ent_id)
                writer.writerow((ent_id, f"{app_name} {permission}", user(rng.randrange(managers)), app_id))

    identity_columns = (*IDENTITIES.columns, "department", "job_title", "city", "email")
    assignments = 0
    with (
        (out_dir / "identities.csv").open("w", newline="", encoding="utf-8") as people,
        (out_dir / "assignments.csv").open("w", newline="", encoding="utf-8") as grants,
    ):
        people_writer = csv.writer(people, lineterminator="\n")
        grants_writer = csv.writer(grants, lineterminator="\n")
        people_writer.writerow(identity_columns)
        grants_writer.writerow(ASSIGNMENTS.columns)
        for i in range(identities):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            department = rng.choice(list(DEPARTMENTS))
            manager = "" if i == 0 else user(rng.randrange(min(i, managers)))
            people_writer.writerow(
                (
                    user(i),
                    f"{first} {last}",
                    manager,
                    department,
                    rng.choice(DEPARTMENTS[department]),
                    rng.choice(CITIES),
                    f"{first}.{last}.{i}@example.com".lower(),
                )
            )
            count = rng.randint(1, 2 * assignments_per_identity - 1)
            for ent_id in rng.sample(ent_ids, min(count, len(ent_ids))):
                grants_writer.writerow((user(i), ent_id))
                assignments += 1
    return GeneratedCounts(len(app_ids), len(ent_ids), identities, assignments)
