"""Which model serves which use, and every call's usage on record.

Resolution for a use (generate, rephrase, commands, knowledge): the tenant's setting, else a model
version trained here and promoted for the tenant, pack and use (``llm_training``), else the pack's
``models:``, else the default (``generate`` uses the embedded model; the others use none, so the
rule-based and extractive paths answer).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from procpilot.domain.errors import UserError
from procpilot.domain.flows import ModelUse, Pack
from procpilot.llm import ChatModel, ChatRequest, ChatResponse, ModelError, Sampling
from procpilot.llm.providers.embedded import EmbeddedModel
from procpilot.llm.providers.openai_compatible import OpenAICompatibleModel
from procpilot.services.platform.settings import Settings
from procpilot.storage.database import Database
from procpilot.storage.usage import UsageRepository

log = structlog.get_logger(__name__)

DEFAULT_USES = {"generate": ModelUse(model="embedded", temperature=0.3, max_tokens=160)}
NONE = "none"


@dataclass(frozen=True)
class Assignment:
    """The model for a use, with its sampling settings."""

    model: ChatModel
    sampling: Sampling
    use: str
    prompt_format: str = "instructed"  # how the command generator asks it (see llm_commands)


class ModelRegistry:
    """Builds models by name, once: ``embedded`` and the OpenAI-compatible ones in Settings."""

    def __init__(self, settings: Settings, extra: dict[str, ChatModel] | None = None) -> None:
        self.settings = settings
        self._models: dict[str, ChatModel] = dict(extra or {})
        self._lock = threading.Lock()
        # (tenant, pack, use) -> the promoted model version, or None; set by the container.
        self.promoted: Callable[[str, str, str], Any] | None = None

    def add(self, model: ChatModel) -> None:
        """Register a ready-made model (tests register ScriptedModel this way)."""
        self._models[model.name] = model

    def get(self, name: str) -> ChatModel:
        with self._lock:
            if name in self._models:
                return self._models[name]
            model = self._build(name)
            self._models[name] = model
            return model

    def tuned(self, version_id: str, path: Path) -> ChatModel:
        """A model version trained here, served by the embedded provider (loaded once)."""
        with self._lock:
            if version_id not in self._models:
                s = self.settings
                self._models[version_id] = EmbeddedModel(
                    path,
                    name=version_id,
                    parallel=s.llm_parallel,
                    threads=s.llm_threads,
                    context=s.llm_context,
                )
            return self._models[version_id]

    def _build(self, name: str) -> ChatModel:
        if name == "embedded":
            s = self.settings
            return EmbeddedModel(
                s.llm_model_path, parallel=s.llm_parallel, threads=s.llm_threads, context=s.llm_context
            )
        config = self.settings.models.get(name)
        if config is None:
            known = ", ".join(["embedded", *sorted(self.settings.models)])
            raise UserError(f"no model named {name!r}; configured: {known} (see PROCPILOT_MODELS)")
        if "base_url" not in config or "model" not in config:
            raise UserError(f"model {name!r} needs base_url and model in PROCPILOT_MODELS")
        key_env = config.get("api_key_env")
        return OpenAICompatibleModel(
            config["base_url"],
            config["model"],
            name=name,
            api_key=os.environ.get(key_env) if key_env else None,
            json_mode=config.get("json_mode", "schema"),
            retries=int(config.get("retries", 3)),
        )

    def assignment(self, tenant: str, pack: Pack, use: str) -> Assignment | None:
        """The model serving ``use`` for this tenant and pack, or None when none is configured."""
        override = self.settings.tenant_models.get(tenant, {}).get(use)
        promoted = self.promoted(tenant, pack.id, use) if self.promoted and not override else None
        if promoted is not None:
            return Assignment(
                self.tuned(promoted.version_id, promoted.path),
                Sampling(temperature=0.0, max_tokens=160),
                use,
                promoted.prompt_format,
            )
        chosen = ModelUse(**override) if override else pack.models.get(use) or DEFAULT_USES.get(use)
        if chosen is None or chosen.model == NONE:
            return None
        sampling = Sampling(
            temperature=chosen.temperature,
            top_p=chosen.top_p,
            top_k=chosen.top_k,
            max_tokens=chosen.max_tokens or 256,
        )
        return Assignment(self.get(chosen.model), sampling, use, chosen.prompt_format)


class ModelService:
    """Calls a model for a use and records the call's tokens, time and outcome."""

    def __init__(self, database: Database, registry: ModelRegistry, timeout: float) -> None:
        self.database = database
        self.registry = registry
        self.timeout = timeout

    def call(
        self, assignment: Assignment, request: ChatRequest, *, tenant: str, conversation_id: str | None
    ) -> ChatResponse:
        """Run the request with the assignment's sampling; raises ModelError after recording it."""
        request = ChatRequest(
            messages=request.messages,
            sampling=assignment.sampling.merged(request.sampling if request.sampling != Sampling() else None),
            json_schema=request.json_schema,
            stop=request.stop,
            timeout=min(request.timeout, self.timeout),
        )
        started = time.perf_counter()
        try:
            response = assignment.model.chat(request)
        except ModelError as error:
            self._record(tenant, conversation_id, assignment, 0, 0, started, str(error))
            log.warning("model.failed", model=assignment.model.name, use=assignment.use, error=str(error))
            raise
        self._record(
            tenant,
            conversation_id,
            assignment,
            response.usage.prompt_tokens,
            response.usage.completion_tokens,
            started,
            None,
        )
        return response

    def _record(
        self,
        tenant: str,
        conversation_id: str | None,
        assignment: Assignment,
        prompt: int,
        completion: int,
        started: float,
        error: str | None,
    ) -> None:
        with self.database.transaction() as c:
            UsageRepository(c, tenant).record(
                conversation_id=conversation_id,
                use=assignment.use,
                model=assignment.model.name,
                prompt_tokens=prompt,
                completion_tokens=completion,
                duration_ms=(time.perf_counter() - started) * 1000,
                ok=error is None,
                error=error,
            )

    def usage(self, tenant: str, conversation_id: str | None = None, after: int = 0) -> dict[str, int]:
        """Calls and tokens of a tenant (or conversation); ``after``: only calls after that mark."""
        with self.database.transaction() as c:
            return UsageRepository(c, tenant).totals(conversation_id, after)

    def usage_mark(self, tenant: str) -> int:
        """A mark to count the calls made from now on (``usage(..., after=mark)``)."""
        with self.database.transaction() as c:
            return UsageRepository(c, tenant).last_id()
