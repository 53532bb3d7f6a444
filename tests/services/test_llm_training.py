"""Fine-tuning the embedded model as a command generator, end to end, on the real pieces: turns
recorded by real conversations, a redacted dataset version, the SmolLM2 GGUF read by transformers,
a few optimiser steps, llama.cpp's converter back to GGUF, the embedded provider serving it,
evaluated, gated, promoted, serving a conversation, rolled back, all on record. And a job killed
mid-training resumes from its checkpoint."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from procpilot.domain.access import Principal, system_principal
from procpilot.domain.errors import PermissionDenied, UserError
from procpilot.services.models.llm_training import gate
from procpilot.services.platform.container import Container, build
from procpilot.services.platform.settings import Settings

STEWARD = Principal("default", "mia", ("model_steward", "data_steward"))
REVIEWER = Principal("default", "rev", ("reviewer",))
TINY = {"steps": 2, "batch_size": 2, "checkpoint_every": 1, "max_length": 256, "warmup_steps": 1}


@pytest.fixture
def container(tmp_path: Path, packs_dir: Path) -> Iterator[Container]:
    c = build(Settings(data_dir=tmp_path / "data", packs_dir=packs_dir, database_url=""))
    yield c
    c.close()


def talk(c: Container, conversation: str, *lines: str) -> None:
    for line in lines:
        c.conversations.handle(
            tenant="default", pack_id="mini", conversation_id=conversation, text=line, user_id="u1"
        )


def dataset(c: Container) -> str:
    """Conversations of people, recorded turn by turn, in a dataset version."""
    for n in range(4):
        talk(c, f"leave{n}", "I need some days off", str(n + 2))
        talk(c, f"balance{n}", "what is my balance")
    return str(c.datasets.build(STEWARD, "commands", {"packs": ["mini"]})["id"])


def test_a_turn_records_what_the_command_generator_would_read(container: Container) -> None:
    talk(container, "c1", "I need some days off", "3")
    version = container.datasets.build(STEWARD, "ctx", {"packs": ["mini"]})
    items = container.datasets.items(STEWARD, version["id"])
    asked = next(i for i in items if i["text"] == "3")
    assert asked["context"]["kind"] == "slot"
    assert asked["context"]["slot"] == "days"
    assert asked["context"]["flow"] == items[0]["commands"][0]["flow"]
    assert items[0]["context"]["kind"] == "nothing"


def test_train_export_evaluate_promote_serve_and_roll_back(container: Container) -> None:
    c = container
    version_of_data = dataset(c)
    with pytest.raises(PermissionDenied):
        c.training.create_job(REVIEWER, "mini", version_of_data)
    with pytest.raises(UserError, match="no pack"):
        c.training.create_job(STEWARD, "nosuch", version_of_data)
    job = c.training.create_job(
        STEWARD, "mini", version_of_data, settings=TINY, run_tests=False, held_out=0.3
    )
    assert job["status"] == "queued" and job["total"] == 2
    seen: list[tuple[str, int, int]] = []
    version_id = c.training.run("default", job["id"], lambda *a: seen.append(a))
    assert ("training", 2, 2) in seen
    version = c.training.version(STEWARD, version_id)
    assert version["status"] == "candidate"
    gguf = Path(version["artifact"])
    assert gguf.is_file() and gguf.read_bytes()[:4] == b"GGUF"
    assert version["dataset_version"] == version_of_data and len(version["base_sha256"]) == 64
    figures = version["figures"]
    assert figures["training"]["steps"] == 2 and figures["training"]["peak_memory_mb"] > 0
    for side in ("candidate", "baseline"):
        assert figures[side]["cases"] >= 1
        assert 0 <= figures[side]["commands_exact"] <= figures[side]["commands_usable"] <= 1
    assert figures["baseline_version"] is None  # the untuned base: nothing was promoted
    assert c.training.job(STEWARD, job["id"])["stage"] == "recorded"
    assert "stage evaluating" in c.training.log_of("default", job["id"])

    # The gate decides; a refusal is on record. Forced figures show both ways.
    worse = {**figures, "candidate": {**figures["candidate"], "commands_exact": -1.0}}
    assert not gate(worse, None)["passed"] and "commands_exact" in gate(worse, None)["reason"]
    assert gate({**figures, "candidate": figures["baseline"]}, None)["passed"]
    promoted_or_refused = None
    try:
        promoted_or_refused = c.training.promote(STEWARD, version_id)
    except UserError as error:
        assert "worse than the baseline" in str(error)
        actions = [e["action"] for e in c.training.version(STEWARD, version_id)["events"]]
        assert actions == ["trained", "refused"]
        pytest.skip(f"two steps made the model worse on the held-out turns: {figures}")
    assert promoted_or_refused is not None and promoted_or_refused["status"] == "promoted"

    # Promoted: it serves the pack's command generator for this tenant, and says so per turn.
    assignment = c.models.registry.assignment("default", c.catalog.get("mini").loaded.pack, "commands")
    assert assignment is not None and assignment.model.name == version_id
    assert assignment.prompt_format == "tuned"
    assert c.models.registry.assignment("other", c.catalog.get("mini").loaded.pack, "commands") is None
    reply = c.conversations.handle(
        tenant="default", pack_id="mini", conversation_id="after", text="what is my balance", user_id="u1"
    )
    assert reply.understood_by in ("model", "rules")  # the rules answer when its commands are unusable
    assert c.models.usage("default", "after")["calls"] >= 1

    # Roll back: nothing promoted, so the pack's own setting (the rules) serves again.
    assert c.training.rollback(STEWARD, "mini") == {"rolled_back": version_id, "restored": None}
    assert c.models.registry.assignment("default", c.catalog.get("mini").loaded.pack, "commands") is None
    actions = [e["action"] for e in c.training.version(STEWARD, version_id)["events"]]
    assert actions == ["trained", "promoted", "rolled_back"]
    assert c.training.version(STEWARD, version_id)["status"] == "retired"


def test_a_training_job_killed_mid_training_resumes_from_its_checkpoint(
    tmp_path: Path, packs_dir: Path
) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "PROCPILOT_DATA_DIR": str(data), "PROCPILOT_PACKS_DIR": str(packs_dir)}
    c = build(Settings(data_dir=data, packs_dir=packs_dir, database_url=""))
    try:
        job = c.training.create_job(
            system_principal("default"),
            "mini",
            dataset(c),
            settings={**TINY, "steps": 4},
            run_tests=False,
            held_out=0.0,
        )
    finally:
        c.close()
    checkpoint = data / "models" / "llm" / "default" / job["id"] / "checkpoint.pt"
    command = [sys.executable, "-m", "procpilot.cli.main", "train", "resume", job["id"]]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 600
    while not checkpoint.is_file() and first.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(subprocess.TimeoutExpired):
            first.wait(timeout=0.2)  # returns at once if the process ends first
    assert checkpoint.is_file(), first.stdout.read().decode() if first.stdout else ""
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=60)
    if first.stdout:
        first.stdout.close()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    log = (checkpoint.parent / "job.log").read_text()
    resumed = [line for line in log.splitlines() if "resumed from the checkpoint at step" in line]
    assert resumed, log
    step = int(resumed[0].rsplit(" ", 1)[1])
    assert 1 <= step < 4
    # The second run trained the steps after the checkpoint only.
    second = log.split("stage training")[-1]
    steps = re.findall(r" step (\d+/\d+) loss", second)
    assert steps == [f"{n}/4" for n in range(step + 1, 5)], log
    assert (checkpoint.parent / "model.gguf").is_file()
    assert "model version mini-commands-" in done.stdout
