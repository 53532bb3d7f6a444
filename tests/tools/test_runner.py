"""The tool runner: commits on success, rolls back on failure and time-out, never repeats a write."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from procpilot.tools import ToolContext, ToolFailure, Toolset
from procpilot.tools.runner import ToolRunner


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "business.sqlite"
    connection = sqlite3.connect(path)
    connection.executescript("CREATE TABLE ledger (entry TEXT); CREATE TABLE calls (n INTEGER);")
    connection.close()
    return path


def rows(path: Path, sql: str = "SELECT entry FROM ledger") -> list[Any]:
    connection = sqlite3.connect(path)
    try:
        return [r[0] for r in connection.execute(sql)]
    finally:
        connection.close()


def make_runner(db: Path) -> ToolRunner:
    toolset = Toolset()

    @toolset.tool(writes=True)
    def write(ctx: ToolContext, entry: str) -> str:
        assert ctx.db is not None
        ctx.db.execute("INSERT INTO ledger VALUES (?)", (entry,))
        return f"wrote {entry}"

    @toolset.tool(writes=True)
    def write_then_fail(ctx: ToolContext) -> str:
        assert ctx.db is not None
        ctx.db.execute("INSERT INTO ledger VALUES ('half')")
        raise RuntimeError("disk on fire")

    @toolset.tool(writes=True)
    def refuse(ctx: ToolContext) -> str:
        raise ToolFailure("Only pending orders can be cancelled.")

    @toolset.tool(writes=True, timeout=0.2)
    def write_then_hang(ctx: ToolContext) -> str:
        assert ctx.db is not None
        ctx.db.execute("INSERT INTO ledger VALUES ('late')")
        import time

        time.sleep(0.6)
        return "too late"

    @toolset.tool
    def not_json(ctx: ToolContext) -> object:
        return object()

    return ToolRunner(tools=toolset.tools, database=db, default_timeout=2)


def call(runner: ToolRunner, name: str, args: dict[str, Any] | None = None, key: str = "k1") -> Any:
    return runner.call(name, args or {}, tenant="t", conversation_id="c", user_id=None, idempotency_key=key)


def test_a_write_commits(db: Path) -> None:
    outcome = call(make_runner(db), "write", {"entry": "a"})
    assert outcome.ok and outcome.result == "wrote a"
    assert rows(db) == ["a"]


def test_a_retried_write_is_not_repeated(db: Path) -> None:
    runner = make_runner(db)
    first = call(runner, "write", {"entry": "a"}, key="same")
    again = call(runner, "write", {"entry": "a"}, key="same")
    other = call(runner, "write", {"entry": "a"}, key="other")
    assert first.result == again.result and again.replayed and not other.replayed
    assert rows(db) == ["a", "a"]


def test_a_tool_that_raises_leaves_nothing_half_written(db: Path) -> None:
    outcome = call(make_runner(db), "write_then_fail")
    assert not outcome.ok and outcome.error == "write_then_fail is not working right now."
    assert "RuntimeError: disk on fire" in outcome.detail
    assert rows(db) == []
    assert rows(db, "SELECT count(*) FROM procpilot_idempotency") == [0]


def test_a_refusal_is_passed_on_verbatim(db: Path) -> None:
    outcome = call(make_runner(db), "refuse")
    assert outcome.error == "Only pending orders can be cancelled."


def test_a_tool_that_times_out_is_rolled_back(db: Path) -> None:
    outcome = call(make_runner(db), "write_then_hang")
    assert not outcome.ok and outcome.timed_out and "did not finish within 0.2s" in outcome.detail
    assert outcome.error == "write_then_hang took too long to answer, so nothing was changed."
    import time

    time.sleep(0.7)  # let the abandoned thread finish: it must still not commit
    assert rows(db) == []


def test_bad_arguments_are_refused_before_running(db: Path) -> None:
    outcome = call(make_runner(db), "write", {"entry": 5, "surprise": True})
    assert not outcome.ok and "bad arguments for write" in outcome.detail
    assert rows(db) == []


def test_unknown_tools_and_non_json_results_are_errors(db: Path) -> None:
    runner = make_runner(db)
    assert "no tool named" in call(runner, "nope").detail
    assert "tool 'not_json': returned a value that is not JSON" in call(runner, "not_json").detail
