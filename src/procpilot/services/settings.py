"""Configuration, read in one place. Explicit arguments win over the environment."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting has a ``PROCPILOT_`` environment variable, e.g. ``PROCPILOT_DATABASE_URL``."""

    model_config = SettingsConfigDict(env_prefix="PROCPILOT_", extra="ignore")

    data_dir: Path = Field(
        default=Path("var"), description="Where the SQLite files and business databases live."
    )
    database_url: str = Field(default="", description="SQLAlchemy URL; default: SQLite in data_dir.")
    packs_dir: Path = Field(default=Path("packs"), description="Folder whose sub-folders are packs.")
    default_tenant: str = "default"
    host: str = "127.0.0.1"
    port: int = 8000
    log_json: bool = False
    tool_retry_base_seconds: float = 0.2

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'procpilot.sqlite').resolve()}"

    @staticmethod
    def secrets() -> dict[str, str]:
        """Secrets for tools, from ``PROCPILOT_SECRET_<NAME>`` variables (name lower-cased)."""
        prefix = "PROCPILOT_SECRET_"
        return {k[len(prefix) :].lower(): v for k, v in os.environ.items() if k.startswith(prefix)}
