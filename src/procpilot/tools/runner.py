"""Running a tool call: argument validation, time-out, transaction, idempotency."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import structlog

from procpilot.domain.errors import ToolError
from procpilot.tools.context import ToolContext
from procpilot.tools.errors import ToolFailure
from procpilot.tools.http import call_http
from procpilot.tools.toolset import Tool

log = structlog.get_logger(__name__)

_IDEMPOTENCY_TABLE = """
CREATE TABLE IF NOT EXISTS procpilot_idempotency (
    key TEXT PRIMARY KEY,
    tool TEXT NOT NULL,
    result TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class CallOutcome:
    """What a call produced: the result, or the error a person should hear about."""

    ok: bool
    result: Any = None
    error: str = ""
    timed_out: bool = False
    replayed: bool = False
    detail: str = ""


@dataclass
class ToolRunner:
    """Runs tools for one pack. ``database`` is the pack's business SQLite file, if it has one.

    A write's idempotency key is stored in the business database in the same transaction as the
    write itself, so "the write happened" and "the key is recorded" can never disagree: a retry of
    the same key returns the stored result and repeats nothing.
    """

    tools: Mapping[str, Tool]
    database: Path | None = None
    secrets: Mapping[str, str] = field(default_factory=dict)
    default_timeout: float = 10.0

    def call(
        self,
        name: str,
        args: Mapping[str, Any],
        *,
        tenant: str,
        conversation_id: str,
        user_id: str | None,
        idempotency_key: str,
        roles: tuple[str, ...] = (),
    ) -> CallOutcome:
        """Run one call; never raises for a tool's own failure, returns ``ok=False`` instead."""
        tool = self.tools.get(name)
        if tool is None:
            return CallOutcome(ok=False, error=f"{name} is not available.", detail=f"no tool named {name!r}")
        clean = {k: v for k, v in args.items()}
        try:
            jsonschema.validate(clean, tool.parameters)
        except jsonschema.ValidationError as error:
            where = "/".join(str(p) for p in error.absolute_path) or "arguments"
            detail = f"bad arguments for {name} ({where}): {error.message}"
            log.warning("tool.bad_arguments", tool=name, detail=detail)
            return CallOutcome(ok=False, error=f"{name} could not be called correctly.", detail=detail)
        timeout = tool.timeout or self.default_timeout
        try:
            if tool.http is not None:
                result = call_http(
                    tool.http, clean, secrets=self.secrets, idempotency_key=idempotency_key, timeout=timeout
                )
                return CallOutcome(ok=True, result=_jsonable(result, name))
            context = ToolContext(
                tenant, conversation_id, user_id, idempotency_key, secrets=self.secrets, roles=roles
            )
            return self._call_python(tool, clean, context, timeout)
        except ToolError as error:
            # The person hears a plain sentence; the details go to the log and the audit trail.
            log.warning("tool.failed", tool=name, error=str(error), timed_out=error.timed_out)
            if error.timed_out:
                told = f"{name} took too long to answer, so nothing was changed."
            else:
                told = f"{name} is not working right now."
            return CallOutcome(ok=False, error=told, timed_out=error.timed_out, detail=str(error))

    def _call_python(
        self, tool: Tool, args: dict[str, Any], context: ToolContext, timeout: float
    ) -> CallOutcome:
        assert tool.fn is not None
        done = threading.Event()
        abandoned = threading.Event()
        box: dict[str, Any] = {}
        lock = threading.Lock()

        def work() -> None:
            connection = self._connect() if self.database else None
            context.db = connection
            try:
                if connection is not None and tool.writes:
                    stored = connection.execute(
                        "SELECT result FROM procpilot_idempotency WHERE key = ?", (context.idempotency_key,)
                    ).fetchone()
                    if stored is not None:
                        box["replayed"] = json.loads(stored[0])
                        return
                result = tool.fn(context, **args) if tool.wants_context else tool.fn(**args)  # type: ignore[misc]
                result = _jsonable(result, tool.name)
                with lock:
                    if abandoned.is_set():
                        raise ToolError(tool.name, "timed out", timed_out=True)
                    if connection is not None:
                        if tool.writes:
                            connection.execute(
                                "INSERT INTO procpilot_idempotency (key, tool, result) VALUES (?, ?, ?)",
                                (context.idempotency_key, tool.name, json.dumps(result)),
                            )
                        connection.commit()
                        _failpoint("after_tool_commit")
                box["result"] = result
            except BaseException as error:  # the tool's own failure, reported not raised
                box["error"] = error
                if connection is not None:
                    connection.rollback()
            finally:
                if connection is not None:
                    connection.close()
                done.set()

        thread = threading.Thread(target=work, name=f"tool-{tool.name}", daemon=True)
        thread.start()
        if not done.wait(timeout):
            with lock:
                abandoned.set()
            if context.db is not None:
                with contextlib.suppress(sqlite3.ProgrammingError):
                    context.db.interrupt()
            raise ToolError(
                tool.name, f"did not finish within {timeout:g}s; nothing was changed", timed_out=True
            )
        if "replayed" in box:
            return CallOutcome(ok=True, result=box["replayed"], replayed=True)
        if "error" in box:
            error = box["error"]
            if isinstance(error, ToolFailure):
                return CallOutcome(ok=False, error=str(error), detail=str(error))
            if isinstance(error, ToolError):
                raise error
            raise ToolError(tool.name, f"{type(error).__name__}: {error}") from error
        return CallOutcome(ok=True, result=box["result"])

    def _connect(self) -> sqlite3.Connection:
        assert self.database is not None
        connection = sqlite3.connect(
            self.database, timeout=30, isolation_level="DEFERRED", check_same_thread=False
        )
        connection.row_factory = sqlite3.Row
        # WAL: a tool reading the business data does not wait for another one writing it.
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute(_IDEMPOTENCY_TABLE)
        connection.commit()
        return connection


def _jsonable(value: Any, tool: str) -> Any:
    """Results are stored as JSON: reject what cannot round-trip, rather than store it mangled."""
    if isinstance(value, sqlite3.Row):
        return {k: value[k] for k in value.keys()}  # noqa: SIM118
    try:
        return json.loads(json.dumps(value, default=_default))
    except (TypeError, ValueError) as error:
        raise ToolError(tool, f"returned a value that is not JSON: {error}") from None


def _default(value: Any) -> Any:
    if isinstance(value, sqlite3.Row):
        return {k: value[k] for k in value.keys()}  # noqa: SIM118
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _failpoint(name: str) -> None:
    """Fault injection for the crash tests: with ``PROCPILOT_FAILPOINT=name`` the process is killed
    here with SIGKILL (after a tool's write committed, before the conversation's next checkpoint)."""
    if os.environ.get("PROCPILOT_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
