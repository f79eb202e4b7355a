"""Settings, from environment variables prefixed ``WMS_INTAKE_`` (documented in the README)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./var/wms-intake.sqlite3"
#: The default store's directory, the only one made when missing.
DEFAULT_SQLITE_DIR = Path("var")


class SettingsError(ValueError):
    """A setting that cannot work as given (the message says how to fix it)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WMS_INTAKE_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    public_url: str | None = None
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_batch_items: int = Field(default=10_000, ge=1)
    db_pool_size: int = Field(default=8, ge=1)
    db_max_overflow: int = Field(default=8, ge=0)
    db_pre_ping: bool = False
    db_connect_timeout: int = Field(default=5, ge=1)
    client_timeout_seconds: float = Field(default=60.0, gt=0)
    worker_threads: int = Field(default=16, ge=1)
    projection_poll_interval: float = Field(default=0.2, gt=0)
    projection_coalesce_seconds: float = Field(default=0.05, ge=0)
    aggregate_cache_size: int = Field(default=25_000, ge=0)
    projection_batch_size: int = Field(default=2000, ge=1)
    rate_limit_per_second: float = Field(default=200.0, ge=0)
    rate_limit_burst: int = Field(default=400, ge=1)
    geocoder: Literal["offline-uk", "nominatim", "photon", "pelias", "none"] = "offline-uk"
    geocoder_url: str | None = None
    geocoder_api_key: str | None = None
    geocoder_user_agent: str = "wms-intake/0.1"
    geocoder_rate_per_second: float = Field(default=1.0, gt=0)
    geocoder_timeout_seconds: float = Field(default=10.0, gt=0)
    geocoder_max_attempts: int = Field(default=5, ge=1)
    geocoder_retry_base_seconds: float = Field(default=2.0, gt=0)
    pull_allow_private: bool = False
    pull_timeout_seconds: float = Field(default=30.0, gt=0)
    pull_tick_seconds: float = Field(default=5.0, gt=0)
    pull_max_concurrent: int = Field(default=4, ge=1, le=256)
    sign_in_failures_per_minute: int = Field(default=10, ge=1)
    secret_key: str | None = None
    log_level: str = "INFO"
    session_ttl_minutes: int = Field(default=720, ge=1, le=60 * 24 * 30)
    map_tile_url: str | None = None
    map_tile_attribution: str = ""
    #: How long a read waits for a read model to reach a write's position
    #: before it answers 503 with Retry-After.
    read_wait_seconds: float = Field(default=5.0, gt=0, le=60)
    #: Longest a change-feed request waits for a change (its ``wait`` is capped to it).
    changes_max_wait_seconds: float = Field(default=30.0, ge=0, le=30)
    #: ``serve --processes N``: the per-tenant rate limit is each process's own
    #: (false), or divided among the N processes so it bounds the machine (true).
    rate_limit_divide_by_processes: bool = False

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("database_url must start with sqlite:/// or postgresql://")
        return value

    @field_validator("map_tile_url")
    @classmethod
    def _tile_template(cls, value: str | None) -> str | None:
        if not value:
            return None
        if urlsplit(value).scheme not in ("http", "https") or not all(part in value for part in ("{z}", "{x}", "{y}")):
            raise ValueError("map_tile_url must be an http(s) URL template with {z}, {x} and {y}")
        return value

    @property
    def is_postgres(self) -> bool:
        return urlsplit(self.database_url).scheme in ("postgresql", "postgres")

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file (``sqlite:///relative`` or ``sqlite:////absolute``)."""
        return Path(unquote(self.database_url[len("sqlite:///") :]))

    @property
    def key_file(self) -> Path:
        """Where the embedded default keeps its generated encryption key."""
        if self.is_postgres:
            return Path("var") / "wms-intake.key"
        return self.sqlite_path.with_suffix(".key")
