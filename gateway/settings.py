"""The one settings object. Nothing else in the code base reads the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Gateway settings, read from ``CPTS_*`` environment variables (and an optional ``.env`` file)."""

    model_config = SettingsConfigDict(env_prefix="CPTS_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///./var/cpts-gateway.db"
    audit_database_url: str | None = Field(
        default=None,
        description="The audit trail's database (security/audit_store.py); unset: the store's. On SQLite a file of its "
        "own keeps every request's audit commit from emptying the store's page caches",
    )
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = Field(
        default=1, ge=1, le=64, description="Worker processes of `serve` (or --workers); more than 1 excludes MLLP"
    )
    request_threads: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="Threads per process that run reads, searches and $capacity (gateway/api/threads.py); unset: 2 "
        "with SQLite, 4 with PostgreSQL. Writes and long operations use a pool of their own",
    )
    sas_threads: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="Of the request threads, how many may run SAS INT_R04 answers at once (gateway/api/threads.py); "
        "unset: half of them, at least 1. The others stay free for interactive requests",
    )
    latency_target_ms: float = Field(
        default=50,
        gt=0,
        le=60_000,
        description="Latency target of interactive requests: waiting ones are served earliest deadline (arrival + "
        "target) first (gateway/api/threads.py)",
    )
    sas_latency_target_ms: float = Field(
        default=150,
        gt=0,
        le=60_000,
        description="Latency target of the SAS INT_R04 query (its contract allows 1 s), in the same order: a SAS query "
        "that waited the difference of the two targets goes before interactive requests that arrive later, and one "
        "that waited its whole target takes any free request thread, beyond CPTS_SAS_THREADS",
    )
    serving_process: bool = Field(
        default=False,
        description="Set by `serve`: the process only serves, so it freezes its start-up heap for the garbage "
        "collector and spaces collections out (gateway/runtime.py)",
    )
    timezone: str = "Europe/Paris"
    base_url: str | None = Field(default=None, description="Public base URL of the API; derived from requests if unset")

    issuer: str = Field(
        default="http://127.0.0.1:8080",
        description="This gateway's OAuth issuer (the `iss` of its tokens; its token endpoint is ISSUER/oauth/token)",
    )
    signing_key_file: Path | None = Field(
        default=None,
        description="JWKS file of the gateway's private signing keys (ES256), newest first; unset in development: "
        "generated under KEYS_DIR",
    )
    data_keys_file: Path | None = Field(
        default=None,
        description="Field-encryption keys with ids (AES-256-GCM) and the blind-index key; unset in development: "
        "generated under KEYS_DIR",
    )
    keys_dir: Path = Field(default=Path("var/keys"), description="Where development keys are generated and kept")
    protocols_dir: Path | None = Field(
        default=None,
        description="Directory of the CPTS's care-pathway protocols (<id>.yaml, docs/pathways.md); unset: the "
        "gateway's mappings/protocols",
    )
    external_issuers: str = Field(
        default="",
        description="Trusted OpenID Connect issuers, as a JSON list of objects "
        '{"issuer", "audience", "profile": "psc"|"generic", optional "jwks_uri", "role", "acr", "tenant_claim", '
        '"leeway"} (security/external.py)',
    )
    open_access: bool = Field(
        default=False,
        description="Development only: requests without a token act as the all-powerful developer principal",
    )
    token_lifetime_seconds: int = Field(default=300, ge=30, le=3600, description="Lifetime of issued access tokens")
    mtls_allowed_subjects: str = Field(
        default="",
        description="Client-certificate subject DNs (RFC 4514, ';'-separated) admitted with the sas-consumer role",
    )
    tls_cert_file: Path | None = Field(
        default=None, description="PEM certificate (chain) of `serve` over HTTPS (or --tls-cert); unset: plain HTTP"
    )
    tls_key_file: Path | None = Field(default=None, description="PEM private key of TLS_CERT_FILE (or --tls-key)")
    tls_client_ca_file: Path | None = Field(
        default=None,
        description="PEM CA certificates that sign the client certificates of mutual TLS (or --tls-client-ca); a "
        "client may still come without a certificate (and a token)",
    )
    rate_limit_per_minute: int = Field(default=1200, ge=0, description="Requests per client per minute (0: none)")
    rate_limit_burst: int = Field(default=200, ge=1, description="Requests a client may send at once")
    fhir_packages: str = ""

    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    default_page_size: int = Field(default=50, ge=1, le=1000)
    max_page_size: int = Field(default=1000, ge=1, le=10000)
    max_include: int = Field(default=2000, ge=1, description="Most resources an _include/_revinclude adds to one page")
    max_bundle_entries: int = Field(default=5000, ge=1)
    search_total_limit: int = Field(
        default=1000,
        ge=0,
        description="Searches count at most this many matches for Bundle.total unless _total=accurate",
    )
    max_ingest_bytes: int = Field(default=200 * 1024 * 1024, ge=1024, description="Largest payload /ingest takes")
    ingest_worker: bool = Field(default=True, description="Run a background ingest worker in each API process")
    ingest_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    ingest_model_validation: bool = Field(
        default=False,
        description="Also check every ingested resource with the fhir.resources models (the walker's strict rules "
        "always apply; the model pass triples the cost and the golden tests already run it on every mapping)",
    )
    ingest_parallel_bytes: int = Field(
        default=512 * 1024,
        ge=0,
        description="Payloads this large are read, mapped and validated by a second process while this one writes",
    )
    ingest_lease_seconds: float = Field(
        default=60, gt=0, description="A job whose worker is silent this long is taken by another worker"
    )
    mllp_port: int | None = Field(default=None, description="Serve the MLLP listener on this port (or --mllp-port)")
    mllp_max_frame_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    mllp_facilities: str = Field(
        default="",
        description="MLLP sending facility (MSH-4.1) → tenant FINESS, as FACILITY=FINESS,...; empty in development "
        "takes the FINESS from MSH-4 itself",
    )
    capacity_stale_after_minutes: int = Field(
        default=60,
        ge=1,
        description="A centre whose last successful slot sync (CSV slots, FHIR, HL7 v2) is older than this many "
        "minutes has its capacity flagged stale (GET /capacity/sync, coordinator views)",
    )
    indicator_small_count_max: int = Field(
        default=10,
        ge=0,
        description="Coordinator-level indicator reports mask every count from 1 to this value (0: no masking), so "
        "that no patient can be singled out (architecture §8; mappings/measures/*.yaml name this setting)",
    )
    dashboard_oidc_issuer: str | None = Field(
        default=None,
        description="The issuer of CPTS_EXTERNAL_ISSUERS that people log in with on GET /dashboard (authorization code "
        "with PKCE); unset: no OIDC login on the dashboard",
    )
    dashboard_client_id: str = Field(default="cpts-dashboard", description="The dashboard's client_id at that issuer")
    dashboard_client_secret: str | None = Field(
        default=None,
        description="Its client secret, for an issuer that registers the dashboard as a confidential client",
    )
    dashboard_session_minutes: int = Field(
        default=480, ge=5, le=1440, description="Lifetime of a dashboard session (the cookie), from login"
    )
    indicator_refresh_seconds: float = Field(
        default=300,
        ge=0,
        le=86400,
        description="Each API process brings the indicators' daily rollups up to date this often, in the background "
        "(0: never; computations always refresh first anyway)",
    )
    subscription_worker: bool = Field(
        default=True, description="Run a background Subscription delivery worker in each API process"
    )
    subscription_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    subscription_timeout_seconds: float = Field(
        default=10, gt=0, le=120, description="Time limit of one notification request to a subscriber's endpoint"
    )
    subscription_retry_base_seconds: float = Field(
        default=30, gt=0, description="Delay before the first retry of a failed notification; doubles each retry"
    )
    subscription_retry_max_seconds: float = Field(default=3600, gt=0, description="Longest delay between retries")
    subscription_max_attempts: int = Field(
        default=6, ge=1, le=50, description="Attempts of one notification before its delivery is marked failed"
    )
    subscription_error_after: int = Field(
        default=10,
        ge=1,
        description="Consecutive failed attempts (over all its notifications) that put a Subscription in status error",
    )
    subscription_endpoints: list[str] = Field(
        default_factory=list,
        description="URL prefixes notification endpoints must start with (a JSON list); empty: any "
        "http(s) endpoint in development, none in production (gateway/subscriptions/endpoints.py)",
    )
    conformance_endpoints: list[str] = Field(
        default_factory=list,
        description="URL prefixes POST /conformance/runs may test (a JSON list); empty: any http(s) URL in "
        "development, none in production (security/outbound.py)",
    )
    subscription_lease_seconds: float = Field(
        default=60, gt=0, description="A delivery whose worker is silent this long is taken by another worker"
    )
    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def mllp_facility_map(self) -> dict[str, str]:
        pairs = (item.split("=", 1) for item in self.mllp_facilities.split(",") if "=" in item)
        return {facility.strip(): finess.strip() for facility, finess in pairs}

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def threads_per_process(self) -> int:
        """``request_threads``, or its default for the database."""
        if self.request_threads is not None:
            return self.request_threads
        return 2 if self.is_sqlite else 4

    @property
    def sas_threads_per_process(self) -> int:
        """``sas_threads`` (at most the request threads), or half the request threads, at least 1."""
        if self.sas_threads is not None:
            return min(self.sas_threads, self.threads_per_process)
        return max(1, self.threads_per_process // 2)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings`` and pass them explicitly)."""
    return Settings()


__all__ = ["Settings", "get_settings"]
