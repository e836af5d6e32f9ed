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
    host: str = "127.0.0.1"
    port: int = 8080
    timezone: str = "Europe/Paris"
    base_url: str | None = Field(default=None, description="Public base URL of the API; derived from requests if unset")

    issuer: str = "http://127.0.0.1:8080"
    signing_key_file: Path | None = None
    data_keys_file: Path | None = None
    external_issuers: str = ""
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
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings`` and pass them explicitly)."""
    return Settings()


__all__ = ["Settings", "get_settings"]
