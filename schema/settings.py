"""Settings read once, at the entry point, from the environment; everything below receives them as arguments."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from captable.ocf.limits import PackageLimits
from cost.locations import CostSources, configured_sources, source_from_config
from db.location import driver_dsn
from policies.tokens import check_hs256_secret
from resolvers.common.limits import RequestLimits

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
_ASSETS_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/%@+-]*)?")


def _default_jocf_schema_dir() -> Path | None:
    folder = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "jocf" / "schema"
    return folder if folder.is_dir() else None


def _default_home() -> Path:
    return platformdirs.user_data_path("roundpool")


class CostSourceSetting(BaseModel):
    """One entry of ROUNDPOOL_COST_SOURCES: a local folder or an s3://bucket/prefix imports may read from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    url: str
    endpoint: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key_file: Path | None = None
    operators: list[str] | None = None  # operator tenant slugs that may use it; unset: every operator


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROUNDPOOL_", extra="ignore")

    # The app role's DSN. Absent → an embedded PostgreSQL in `home`.
    database_url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL"))
    # The owner role's DSN, used only to run migrations.
    migration_database_url: str | None = Field(default=None, validation_alias=AliasChoices("MIGRATION_DATABASE_URL"))
    home: Path = Field(default_factory=_default_home)
    environment: Literal["development", "production"] = "development"

    jwt_secret: str | None = None
    jwt_public_key_file: Path | None = None
    jwt_jwks_file: Path | None = None
    jwt_audience: str = "roundpool"
    jwt_issuer: str | None = None

    graphiql: bool | None = None
    introspection: bool | None = None
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2_000
    max_body_bytes: int = 100_000
    max_page_size: int = 100
    statement_timeout_ms: int = 5_000
    # Work one request may cause: rows of non-paginated list fields across aliases (`costs`, `margins`, …), an
    # uploaded file's decoded bytes, an OCF archive's decompressed bytes and member count, JSON nesting (request
    # bodies, variables and package members).
    max_response_rows: int = Field(default=20_000, ge=1)
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    max_zip_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    max_zip_files: int = Field(default=1_000, ge=1)
    max_json_depth: int = Field(default=64, ge=2)
    # Persisted queries (schema/trusted_documents.py): a JSON {sha256 hex: document text}; with _ONLY, nothing else.
    trusted_documents: Path | None = None
    trusted_documents_only: bool = False
    # The JOCF JSON Schemas (not shipped: CC BY-ND). Default: ../shared/data/jocf/schema beside the project when
    # present; unset and absent: JOCF items are checked structurally only (results say so).
    jocf_schema_dir: Path | None = Field(default_factory=_default_jocf_schema_dir)
    pool_size: int = 10
    # Root of the Parquet cost store: a local folder or an object-store URI (s3://bucket/prefix).
    cost_store: str | None = None
    # Where imports may read (JSON list of CostSourceSetting); ROUNDPOOL_COST_IMPORT_ROOTS adds local folders.
    # Neither set: any absolute local path in development, nothing in production.
    cost_sources: list[CostSourceSetting] | None = None
    cost_import_roots: list[Path] | None = None
    # A TrueType font for invoice PDFs (must cover Japanese for Japanese invoices); unset: known system fonts.
    invoice_font: Path | None = None
    # Background jobs: a worker heartbeats every `job_heartbeat_s`; one silent for `job_stalled_after_s` counts as
    # dead, and its running jobs are retried (at most `job_max_retries` times, then they end failed). Every
    # worker checks at start and every `job_recovery_interval_s`.
    job_heartbeat_s: float = Field(default=10.0, gt=0)
    job_stalled_after_s: float = Field(default=60.0, gt=0)
    job_max_retries: int = Field(default=2, ge=0)
    job_recovery_interval_s: int = Field(default=60, ge=1, le=3600)
    # Registered report sources (registerReportSource) are listed for new deliveries this often by every worker.
    report_sync_interval_s: int = Field(default=900, ge=1, le=3600)
    # Each operator's store is vacuumed (import folders no catalog or staging assembly uses) this often; 0: never.
    store_vacuum_interval_s: int = Field(default=6 * 3600, ge=0, le=86_400)
    # HTTP conventions. Browser origins allowed to call /graphql (JSON list of scheme://host[:port]; none: no
    # CORS headers). /metrics exists only with a token (scrapers send `Authorization: Bearer <token>`). Tracing
    # exports OTLP/HTTP spans to `otel_endpoint` (needs the `tracing` extra). Requests per minute per tenant.
    cors_origins: list[str] = Field(default_factory=list)
    metrics_token: str | None = Field(default=None, min_length=16)
    metrics_max_operations: int = Field(default=100, ge=1, le=10_000)
    otel_endpoint: str | None = None
    otel_service_name: str = "roundpool"
    rate_limit_per_minute: int | None = Field(default=None, ge=1)
    # uvicorn's line per request on stdout (`roundpool serve`); off by default: it costs ≈ 1.5 % of a request.
    access_log: bool = False
    # Peers whose X-Forwarded-For / X-Forwarded-Proto name the client (a reverse proxy): comma-separated
    # addresses or networks, "*" for any. Others' headers are ignored. The rate limit's anonymous bucket is
    # per client address, so behind a proxy that is not listed every anonymous client counts as the proxy.
    forwarded_allow_ips: str = "127.0.0.1"
    # Base URL the GraphiQL page loads its scripts and styles from (the same paths as on the CDN).
    graphiql_assets_url: str = "https://unpkg.com"
    # Subscriptions (graphql-transport-ws on /graphql): per connection at most this many at once; each polls its
    # job this often and ends after its lifetime; a connection is closed when connection_init is late or when
    # nothing (not even a pong to the server's pings) arrived for the idle timeout.
    subscription_max_per_connection: int = Field(default=10, ge=1, le=1_000)
    subscription_poll_interval_s: float = Field(default=0.5, ge=0.05, le=60)
    subscription_max_lifetime_s: float = Field(default=3_600, gt=0)
    subscription_init_timeout_s: float = Field(default=10, gt=0, le=300)
    subscription_idle_timeout_s: float = Field(default=60, gt=0, le=3_600)

    @field_validator("database_url")
    @classmethod
    def _driver_options_are_clear(cls, url: str | None) -> str | None:
        if url is not None:
            driver_dsn(url)  # `?prepare_threshold=` (db/location.py); refuses without quoting the DSN
        return url

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_exact(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no path, no wildcard)")
        return [origin.lower() for origin in origins]  # browsers send the Origin header in lower case

    @field_validator("graphiql_assets_url")
    @classmethod
    def _assets_url_is_plain(cls, url: str) -> str:
        if not _ASSETS_URL.fullmatch(url):
            raise ValueError(f"{url!r} is not an http(s) URL without query, fragment or quotes")
        return url.rstrip("/")

    @property
    def request_limits(self) -> RequestLimits:
        package = PackageLimits(
            max_bytes=self.max_zip_bytes, max_files=self.max_zip_files, max_depth=self.max_json_depth
        )
        return RequestLimits(
            max_response_rows=self.max_response_rows,
            max_upload_bytes=self.max_upload_bytes,
            package=package,
            jocf_schema_dir=self.jocf_schema_dir,
        )

    @property
    def development(self) -> bool:
        return self.environment == "development"

    @property
    def cost_store_root(self) -> str:
        return self.cost_store or str(self.home / "cost-store")

    @field_validator("jwt_secret")
    @classmethod
    def _jwt_secret_is_strong_in_production(cls, secret: str | None, info: ValidationInfo) -> str | None:
        if secret and info.data.get("environment") != "development":
            check_hs256_secret(secret)
        return secret

    @model_validator(mode="after")
    def _sources_are_valid(self) -> Settings:
        self.cost_import_sources  # noqa: B018 -- builds and checks every entry once, at start-up
        return self

    @property
    def cost_import_sources(self) -> CostSources:
        entries = None
        if self.cost_sources is not None:
            entries = [source_from_config(**entry.model_dump()) for entry in self.cost_sources]
        return configured_sources(entries, self.cost_import_roots, development=self.development)

    @property
    def graphiql_enabled(self) -> bool:
        return self.development if self.graphiql is None else self.graphiql

    @property
    def introspection_enabled(self) -> bool:
        return self.development if self.introspection is None else self.introspection
