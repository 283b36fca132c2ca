"""Settings, read once from the environment (prefix KRAT_) or a .env file."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = f"sqlite:///{Path('data') / 'krat.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KRAT_", env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    admin_token: str | None = Field(
        default=None, description="Accepted as an admin bearer token; for development only."
    )
    max_body_bytes: int = 1024 * 1024
    plan_period_months: int = 24
    cors_origins: list[str] = []
    docs_enabled: bool = True
    log_level: str = "INFO"
    base_url: str = "https://krat.example"
    sqlite_busy_timeout_ms: int = 15_000
    # Connections a server process keeps open. Each request in flight holds one, and one opened
    # beyond the pool is closed again after its request: opening is the cost to avoid.
    db_pool_size: int = Field(default=20, ge=1)


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (tests clear the cache to change them)."""
    return Settings()
