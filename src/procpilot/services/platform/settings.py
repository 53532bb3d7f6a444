"""Configuration, read in one place. Explicit arguments win over the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

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
    embedding_model_path: Path | None = Field(
        default=None,
        description="Sentence-embedding model folder (default: all-MiniLM-L6-v2 from its package).",
    )
    embedding_precision: Literal["auto", "float32", "bfloat16"] = Field(
        default="auto",
        description="auto: bfloat16 where the CPU computes it natively (AVX-512 BF16, AMX), else float32.",
    )
    spacy_model: str | None = Field(
        default=None,
        description="spaCy model (installed name or folder) that finds names when redacting "
        "(default: en_core_web_sm when installed; without one, patterns alone).",
    )
    llm_model_path: Path | None = Field(
        default=None, description="GGUF file of the embedded model (default: SmolLM2)."
    )
    llm_threads: int | None = Field(default=None, description="llama.cpp threads (default: 1 on 2 cores).")
    llm_parallel: int = Field(default=4, description="Parallel slots: conversations generating at once.")
    llm_context: int = Field(default=2048, description="Context tokens per slot.")
    llm_timeout: float = Field(default=30.0, description="Seconds a model call may take.")
    training_threads: int | None = Field(
        default=None, description="Threads a training job uses (default: 1 on 2 cores, else 2)."
    )
    training_device: str = Field(
        default="cpu",
        description="Where training runs: cpu, cuda, cuda:N, or auto (a GPU if torch sees one).",
    )
    models: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description='OpenAI-compatible models by name, as JSON: {"big": {"base_url": "...", "model": "...", '
        '"api_key_env": "BIG_KEY", "json_mode": "schema"}}',
    )
    tenant_models: dict[str, dict[str, dict[str, Any]]] = Field(
        default_factory=dict,
        description='Per-tenant model uses, as JSON: {"acme": {"generate": {"model": "big", "temperature": 0.3}}}',
    )

    webhook_url: str | None = Field(
        default=None, description="URL that receives approval events (decided, expired) as JSON POSTs."
    )
    worker_id: str | None = Field(
        default=None, description="This worker's executor id (default: host name and process id)."
    )
    lease_seconds: float = Field(
        default=15.0,
        description="A worker whose heartbeat is older than this is dead; others resume its work.",
    )

    stalled_seconds: float = Field(
        default=120.0,
        description="A conversation left mid-effect this long (its process died) is finished by a worker.",
    )
    schedule_catch_up_seconds: float = Field(
        default=3600.0,
        description="A scheduled flow's run missed while no worker ran is made up if at most this late.",
    )

    session_hours: float = Field(default=12.0, description="How long a login lasts.")
    cookie_secure: bool | None = Field(
        default=None,
        description="Send the session cookie over HTTPS only; default: when the request came over HTTPS.",
    )
    metrics_token: str | None = Field(
        default=None, description="When set, /metrics answers only 'Authorization: Bearer <token>'."
    )
    max_body_bytes: int = Field(
        default=1_048_576, description="Largest request body accepted (document uploads: 20 MiB)."
    )

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'procpilot.sqlite').resolve()}"

    def system_database_url(self) -> str:
        """Where the process engine (DBOS) keeps its records: the same PostgreSQL, or its own SQLite file."""
        if self.database_url and not self.database_url.startswith("sqlite"):
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'processes.sqlite').resolve()}"

    @staticmethod
    def secrets() -> dict[str, str]:
        """Secrets for tools, from ``PROCPILOT_SECRET_<NAME>`` variables (name lower-cased)."""
        prefix = "PROCPILOT_SECRET_"
        return {k[len(prefix) :].lower(): v for k, v in os.environ.items() if k.startswith(prefix)}
