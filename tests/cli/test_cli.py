"""The procpilot command, run as a person would run it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from procpilot.cli.main import app
from tests.conftest import MINI, ROOT

runner = CliRunner()


def test_validate_a_good_pack() -> None:
    result = runner.invoke(app, ["validate", str(ROOT / "packs" / "retail")])
    assert result.exit_code == 0 and "is valid" in result.output


def test_validate_lists_every_problem_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "pack.yaml").write_text("id: p\n")
    (tmp_path / "flows" / "f.yaml").write_text("id: f\nslots:\n  a: {type: colour}\nsteps:\n  - collect: b\n")
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "flows/f.yaml:3" in result.output and "colour" in result.output


def test_init_creates_a_pack_that_validates_and_passes_its_tests(tmp_path: Path) -> None:
    target = tmp_path / "coffee"
    assert runner.invoke(app, ["init", str(target)]).exit_code == 0
    assert runner.invoke(app, ["validate", str(target)]).exit_code == 0
    result = runner.invoke(app, ["test", str(target)])
    assert result.exit_code == 0, result.output
    assert "1 passed, 0 failed" in result.output
    assert runner.invoke(app, ["init", str(target)]).exit_code == 2  # never overwrites


def test_test_exits_non_zero_when_a_conversation_test_fails() -> None:
    result = runner.invoke(app, ["test", str(MINI)])
    assert result.exit_code == 1
    assert "1 passed, 1 failed" in result.output


def test_schema_prints_json() -> None:
    result = runner.invoke(app, ["schema", "pack"])
    assert result.exit_code == 0 and '"title": "procpilot pack.yaml"' in result.output


def test_chat_returns_an_item_for_a_real_customer(tmp_path: Path) -> None:
    """The terminal chat, as a separate process: verify Noah Brown, return his backpack."""
    env = {**os.environ, "PROCPILOT_DATA_DIR": str(tmp_path), "PROCPILOT_PACKS_DIR": str(ROOT / "packs")}
    lines = [
        "I want to return something",
        "noah.brown7922@example.com",
        "1",  # the first button: his delivered order #W7678072
        "the backpack",
        "1",  # the only allowed refund method: the original PayPal
        "yes",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "procpilot.cli.main", "chat", "--pack", "retail"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Thank you, Noah" in result.stdout
    assert "the return for order #W7678072 is requested" in result.stdout
    connection = sqlite3.connect(tmp_path / "business" / "default" / "retail.sqlite")
    row = connection.execute(
        "SELECT status, return_items, return_payment_method_id FROM orders WHERE order_id = '#W7678072'"
    ).fetchone()
    connection.close()
    assert row == ("return requested", '["3557711149"]', "paypal_5727330")


def test_kb_ingest_then_ask_from_the_command_line(tmp_path: Path) -> None:
    """Ingest a folder, ingest it again (nothing changed), ask a question: separate processes."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "wires.md").write_text("# Wires\n\n## Fees\nInternational wires cost $45 each.\n")
    (docs / "broken.json").write_text("{")
    env = {**os.environ, "PROCPILOT_DATA_DIR": str(tmp_path / "data"), "PROCPILOT_PACKS_DIR": str(tmp_path)}

    def procpilot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "procpilot.cli.main", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    first = procpilot("kb", "ingest", str(docs), "--collection", "help")
    assert first.returncode == 1  # one file could not be read
    assert "1 added" in first.stdout and "1 failed" in first.stdout
    assert "broken.json" in first.stderr and "cannot parse" in first.stderr
    (docs / "broken.json").unlink()
    again = procpilot("kb", "ingest", str(docs), "--collection", "help")
    assert again.returncode == 0 and "0 added, 0 updated, 1 unchanged" in again.stdout
    answer = procpilot("kb", "ask", "how much is an international wire?", "--collection", "help")
    assert answer.returncode == 0, answer.stderr
    assert "**International wires cost $45 each.** [1]" in answer.stdout
    assert "[1] Wires — Fees (wires.md)" in answer.stdout
    missing = procpilot("kb", "ingest", str(tmp_path / "nope"), "--collection", "help")
    assert missing.returncode == 2 and "no such pack, folder or file" in missing.stderr


def test_data_commands_set_up_a_queue_build_list_and_export(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "mini").symlink_to(MINI)
    monkeypatch.setenv("PROCPILOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PROCPILOT_PACKS_DIR", str(packs))
    made = runner.invoke(app, ["data", "queue", "everything", "--signals", "", "--sample", "1"])
    assert made.exit_code == 0, made.output
    assert runner.invoke(app, ["data", "queue", "bad", "--signals", "vibes"]).exit_code == 2
    from procpilot.services.platform.container import build
    from procpilot.services.platform.settings import Settings

    container = build(Settings())
    for text in ("send money to a friend", "Dana Whitfield", "20 dollars"):
        container.conversations.handle(
            tenant="default", pack_id="mini", conversation_id="k1", text=text, user_id="u1"
        )
    container.close()
    empty = runner.invoke(app, ["data", "build", "d", "--packs", "nothing"])
    assert empty.exit_code == 2 and "matches no turns" in empty.output
    built = runner.invoke(app, ["data", "build", "d", "--packs", "mini"])
    assert built.exit_code == 0 and "built d@1" in built.output, built.output
    again = runner.invoke(app, ["data", "build", "d", "--packs", "mini"])
    assert "unchanged" in again.output
    listed = runner.invoke(app, ["data", "list"])
    assert "d@1" in listed.output
    version = next(word for word in built.output.split() if word.startswith("d@1")).rstrip(":")
    out = tmp_path / "sft.jsonl"
    exported = runner.invoke(app, ["data", "export", version, "--format", "openai-sft", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    text = out.read_text()
    assert text.count("\n") == 3 and "Whitfield" not in text and "<PERSON_1>" in text
    assert runner.invoke(app, ["data", "export", version, "--format", "csv"]).exit_code == 2
