"""Gateway configuration, read once from the environment (or a .env file) and validated up front."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.bundled import REPO_ROOT as REPO_ROOT  # re-exported: the benchmarks import it from here
from gateway.bundled import bundled_dir
from gateway.ids import USERNAME
from gateway.node_urls import node_urls

# The original documentation's tenant: the demo's (make run), the tests' and the benchmarks'.
DEMO_TENANT_ID = "8700f5cb-eaca-461e-8c2e-245a25f2399d"
MIN_PASSWORD_LENGTH = 8  # for administrators, wherever they are created


class Settings(BaseSettings):
    """Every knob of the gateway. Environment variable names are given by each field's alias."""

    model_config = SettingsConfigDict(
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
        frozen=True,
        validate_default=True,
        hide_input_in_errors=True,  # a refused secret must not be echoed into logs with the error
    )

    # --- tenancy ---
    tenant_id: UUID = Field(alias="TENANT_ID", description="The tenant this deployment serves (a UUID).")
    tenant_name: str = Field(
        "autonomous-iam", alias="TENANT_NAME", description="Tenant name used as the index-name prefix."
    )

    # --- Elasticsearch ---
    es_url: str = Field(
        "http://127.0.0.1:9200",
        alias="ES_URL",
        description="Elasticsearch URL, or several nodes' URLs separated by commas (same scheme).",
    )
    es_username: str | None = Field(None, alias="ES_USERNAME", description="Basic-auth user.")
    es_password: SecretStr | None = Field(None, alias="ES_PASSWORD", description="Basic-auth password.")
    es_api_key: SecretStr | None = Field(None, alias="ES_API_KEY", description="Elasticsearch API key.")
    es_ca_certs: Path | None = Field(None, alias="ES_CA_CERTS", description="CA bundle for an HTTPS cluster.")
    es_verify_certs: bool = Field(
        True, alias="ES_VERIFY_CERTS", description="Verify the cluster certificate."
    )
    es_sniff: bool = Field(
        False,
        alias="ES_SNIFF",
        description="Discover the cluster's nodes from the ES_URL ones, at start and after a node fails.",
    )
    es_request_timeout: float = Field(
        10.0, gt=0, alias="ES_REQUEST_TIMEOUT", description="Seconds before an Elasticsearch call fails."
    )

    # --- HTTP server ---
    host: str = Field("127.0.0.1", alias="GATEWAY_HOST", description="Address to bind.")
    port: int = Field(8443, ge=0, le=65535, alias="GATEWAY_PORT", description="Port to bind.")
    tls: bool = Field(
        True, alias="GATEWAY_TLS", description="Serve HTTPS (false: plain HTTP behind a proxy)."
    )
    trusted_proxies: str = Field(
        "",
        alias="GATEWAY_TRUSTED_PROXIES",
        description="Comma-separated proxy addresses whose X-Forwarded-For is believed (none by default).",
    )
    access_log: bool = Field(
        True, alias="GATEWAY_ACCESS_LOG", description="Log one line per request (route templates only)."
    )
    header_timeout: float = Field(
        20.0, gt=0, alias="GATEWAY_HEADER_TIMEOUT", description="Seconds a request head may take (408)."
    )
    body_timeout: float = Field(
        60.0, gt=0, alias="GATEWAY_BODY_TIMEOUT", description="Seconds a body may take after its head (408)."
    )
    max_connections: int = Field(
        4096,
        ge=1,
        alias="GATEWAY_MAX_CONNECTIONS",
        description="Open connections; new ones beyond are closed.",
    )
    tls_cert: Path | None = Field(None, alias="GATEWAY_TLS_CERT", description="PEM certificate chain.")
    tls_key: Path | None = Field(None, alias="GATEWAY_TLS_KEY", description="PEM private key.")

    # --- local state ---
    state_dir: Path = Field(
        Path(".state"),
        alias="GATEWAY_STATE_DIR",
        description="Where the self-signed certificate and the embedded node's data live.",
    )
    templates_dir: Path = Field(
        bundled_dir("index_templates"),
        alias="GATEWAY_TEMPLATES_DIR",
        description="Index template JSON files.",
    )
    embedded_es_port: int = Field(
        9200, ge=1, le=65535, alias="EMBEDDED_ES_PORT", description="HTTP port of the embedded node."
    )

    # --- admin authentication ---
    admin_group: str = Field(
        "Zoran Admin", alias="GATEWAY_ADMIN_GROUP", description="Group whose members may administer keys."
    )
    admin_username: str | None = Field(
        None, alias="GATEWAY_ADMIN_USERNAME", description="First admin, created at start if missing."
    )
    admin_password: SecretStr | None = Field(
        None,
        alias="GATEWAY_ADMIN_PASSWORD",
        description="Password of that first admin.",
    )
    jwt_secret: SecretStr | None = Field(
        None,
        alias="GATEWAY_JWT_SECRET",
        min_length=32,
        description="HS256 key for admin tokens, the same on every replica (else generated once).",
    )
    token_ttl_minutes: int = Field(
        30, ge=1, le=24 * 60, alias="GATEWAY_TOKEN_TTL_MINUTES", description="Admin token lifetime."
    )
    session_lifetime_hours: float = Field(
        12, gt=0, le=24 * 30, alias="GATEWAY_SESSION_LIFETIME_HOURS", description="Admin session lifetime."
    )
    login_max_failures_per_account_client: int = Field(
        5,
        ge=1,
        alias="GATEWAY_LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_CLIENT",
        description="Failed logins for one account from one client before that client gets 429.",
    )
    login_max_failures_per_client: int = Field(
        20, ge=1, alias="GATEWAY_LOGIN_MAX_FAILURES_PER_CLIENT", description="Same, per client, any account."
    )
    login_max_failures_per_account: int = Field(
        100,
        ge=1,
        alias="GATEWAY_LOGIN_MAX_FAILURES_PER_ACCOUNT",
        description="Same, per account from all clients; clients that logged in to it before are exempt.",
    )
    login_failure_window_seconds: float = Field(
        300, gt=0, alias="GATEWAY_LOGIN_FAILURE_WINDOW_SECONDS", description="How long a failure counts."
    )

    # --- API keys ---
    api_key_secret: SecretStr | None = Field(
        None,
        alias="GATEWAY_API_KEY_SECRET",
        min_length=32,
        description="HMAC-SHA-256 key for stored key digests; the same on every replica (else generated).",
    )
    key_rate_limit: str = Field(
        "off",
        alias="GATEWAY_KEY_RATE_LIMIT",
        description="Rate limit of keys without one of their own: N/S (N requests per S seconds) or off.",
    )
    key_cache_ttl_seconds: float = Field(
        60, gt=0, alias="GATEWAY_KEY_CACHE_TTL_SECONDS", description="How long a verified key stays cached."
    )
    revocation_window_seconds: float = Field(
        1.0,
        gt=0,
        alias="GATEWAY_REVOCATION_WINDOW_SECONDS",
        description="Bound on how long another replica may still accept a revoked key.",
    )
    audit_retention_days: int = Field(
        90, ge=1, le=3650, alias="GATEWAY_AUDIT_RETENTION_DAYS", description="Days of audit trail kept."
    )

    # --- ingestion ---
    ingest_max_items: int = Field(
        10_000, ge=1, le=100_000, alias="GATEWAY_INGEST_MAX_ITEMS", description="Items per ingest request."
    )
    ingest_max_body_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1024,
        alias="GATEWAY_INGEST_MAX_BODY_BYTES",
        description="Largest ingest request body (413 beyond).",
    )
    ingest_wait_for_active_shards: int | Literal["all"] = Field(
        1,
        alias="GATEWAY_INGEST_WAIT_FOR_ACTIVE_SHARDS",
        description=(
            "Shard copies (a positive integer, or all) that must be active before an ingest write starts "
            "and must have written an item before it is reported ok."
        ),
    )
    sync_lease_seconds: float = Field(
        300.0,
        ge=1,
        le=86_400,
        alias="GATEWAY_SYNC_LEASE_SECONDS",
        description="How long a sync run's lease on its data source lasts unless renewed (jobs renew it).",
    )
    sync_max_delete_share: float = Field(
        0.25,
        ge=0,
        le=1,
        alias="GATEWAY_SYNC_MAX_DELETE_SHARE",
        description=(
            "Largest share of a data source's entities of one type a full sync may delete without force."
        ),
    )
    data_root: Path = Field(
        bundled_dir("seed"),
        alias="GATEWAY_DATA_ROOT",
        description="Root that data-source file: URIs resolve under (file:/data/x.csv → <root>/data/x.csv).",
    )

    @field_validator("es_url")
    @classmethod
    def _es_urls_are_plain_node_urls(cls, value: str) -> str:
        node_urls(value)
        return value

    @field_validator("admin_username")
    @classmethod
    def _admin_username_is_a_username(cls, value: str | None) -> str | None:
        if value is not None and not USERNAME.valid(value.strip().lower()):
            raise ValueError(f"GATEWAY_ADMIN_USERNAME: {USERNAME.rule}")
        return value

    @field_validator("admin_password")
    @classmethod
    def _admin_password_is_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # The password rules' own minimum, checked here: a short password stops the start with the
        # variable's name instead of failing the admin's creation later (readiness stuck at 500).
        if value is not None and len(value.get_secret_value()) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"GATEWAY_ADMIN_PASSWORD needs at least {MIN_PASSWORD_LENGTH} characters")
        return value

    @field_validator("key_rate_limit", mode="before")
    @classmethod
    def _rate_limit(cls, value: Any) -> str:
        text = str(value).strip().lower()
        if text == "off":
            return text
        requests, _, seconds = text.partition("/")
        numbers = all(part.isascii() and part.isdigit() for part in (requests, seconds))
        # The bounds of a key's own limit (gateway.auth.restrictions.check_rate).
        if numbers and 1 <= int(requests) <= 1_000_000 and 1 <= int(seconds) <= 86_400:
            return f"{int(requests)}/{int(seconds)}"
        raise ValueError("GATEWAY_KEY_RATE_LIMIT must be off or N/S: 1 to 1000000 requests per 1 to 86400 s")

    @field_validator("ingest_wait_for_active_shards", mode="before")
    @classmethod
    def _shard_count(cls, value: Any) -> int | str:
        text = str(value).strip().lower()
        if text == "all":
            return "all"
        if not isinstance(value, bool) and text.isascii() and text.isdigit() and 1 <= int(text) <= 1000:
            return int(text)
        raise ValueError("GATEWAY_INGEST_WAIT_FOR_ACTIVE_SHARDS must be all or an integer from 1 to 1000")

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("GATEWAY_TLS_CERT and GATEWAY_TLS_KEY must be set together")
        if self.es_api_key is not None and self.es_username is not None:
            raise ValueError("set either ES_API_KEY or ES_USERNAME/ES_PASSWORD, not both")
        if (self.admin_username is None) != (self.admin_password is None):
            raise ValueError("GATEWAY_ADMIN_USERNAME and GATEWAY_ADMIN_PASSWORD must be set together")
        if (self.es_username is None) != (self.es_password is None):
            raise ValueError("ES_USERNAME and ES_PASSWORD must be set together")
        return self

    @property
    def es_urls(self) -> list[str]:
        """Each node's URL from ``ES_URL``, in the order given."""
        return node_urls(self.es_url)

    @property
    def datasource_index(self) -> str:
        return f"{self.tenant_name}_common_datasources_latest"

    @property
    def mappings_index(self) -> str:
        return f"{self.tenant_name}_common_mappings_latest"

    @property
    def ingest_shard_timeout(self) -> float:
        """Seconds an ingest write waits for its shard copies: half of ES_REQUEST_TIMEOUT, so Elasticsearch
        answers every item (503 when copies are missing) while the client still waits for the answer."""
        return self.es_request_timeout / 2

    @property
    def es_data_dir(self) -> Path:
        return self.state_dir / "elasticsearch"
