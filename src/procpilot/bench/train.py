"""``procpilot bench train``: does fine-tuning the embedded 135M model make it a better command
generator than it was, and than the rules?

1. Collect, as the product does: the retail and workplace packs' conversation tests and bench
   dialogue (the simulated people; retail's tau2 *training* tasks only) run with the rules in one
   database, every turn recorded with what the command generator would read; each conversation a
   dataset version of its tenant (redacted, as any dataset). Only conversations that passed (the
   test, or the scenario's business data) give examples: the verifier picks what to learn.
2. Split by scenario: a quarter of the dialogue scenarios are held out (every fourth by number);
   the conversation tests are training data only.
3. Fine-tune the embedded SmolLM2 on the training turns (the ``tuned`` prompt), export to GGUF.
4. Measure on held-out conversations: the share of turns whose commands are exactly right (the
   untuned model asked with the full instructions, the tuned one with its short prompt), and bench
   dialogue pass^1 on the held-out scenarios with the rules, the untuned model and the tuned model
   as the command generator (the rules answer whenever a model's commands are unusable).

The references are the commands that ran in passing conversations, which the rules produced: on
held-out *turns* the rules are right by construction, so they are compared on whole held-out
*conversations* (pass^1) only.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from procpilot.bench.dialogue import PackFigures, bench_retail, bench_workplace
from procpilot.bench.report import Figures
from procpilot.domain.access import system_principal
from procpilot.domain.errors import UserError
from procpilot.llm import ChatRequest, ChatResponse
from procpilot.llm.providers.embedded import EmbeddedModel, default_model_path
from procpilot.services.packs.conversation_tests import load_cases, run_cases_in
from procpilot.services.platform.container import Container, build
from procpilot.services.platform.settings import Settings
from procpilot.training import command_examples, tuning
from procpilot.understanding.llm_commands import INSTRUCTED, TUNED

PACKS = ("retail", "workplace")
Say = Callable[[str], None]


def held_out(scenario_id: str) -> bool:
    """Every fourth scenario by its number (retail 3, 7, 11...; workplace w3, w7...) is held out."""
    digits = re.sub(r"\D", "", scenario_id)
    return bool(digits) and int(digits) % 4 == 3


def _container(root: Path) -> Container:
    root.mkdir(parents=True, exist_ok=True)
    return build(Settings(data_dir=root, packs_dir=root / "none", database_url=""), load_packs=False)


def _dialogue(
    container: Container,
    packs_dir: Path,
    tasks: Path,
    select: Callable[[str], bool],
    uses: dict[str, Any] | None,
    limit: int | None,
) -> dict[str, PackFigures]:
    out = {}
    out["retail"] = bench_retail(container, packs_dir / "retail", tasks, 1, None, limit, uses, select=select)
    out["workplace"] = bench_workplace(
        container,
        packs_dir / "workplace",
        packs_dir / "workplace" / "bench" / "scenarios.yaml",
        1,
        None,
        limit,
        uses,
        select=select,
    )
    return out


def _collect(
    container: Container, packs_dir: Path, tasks: Path, limit: int | None, say: Say
) -> tuple[
    dict[str, list[command_examples.CommandCase]],
    dict[str, list[command_examples.CommandCase]],
    dict[str, Any],
]:
    """Training and held-out cases per pack, in both prompt formats (keyed ``pack/format``)."""
    passed: dict[str, tuple[str, bool]] = {}  # tenant -> (pack, whether it passed)
    for pack in PACKS:
        _, results = run_cases_in(container, packs_dir / pack, load_cases(packs_dir / pack), f"test-{pack}-")
        for index, result in enumerate(results):
            passed[f"test-{pack}-{index}"] = (pack, result.passed)
        say(f"{pack}: {sum(r.passed for r in results)}/{len(results)} conversation tests passed")
    dialogue = _dialogue(container, packs_dir, tasks, lambda _: True, None, limit)
    held: set[str] = set()
    for pack, figures in dialogue.items():
        for run in figures.runs:
            tenant = f"{'r' if pack == 'retail' else 'w'}{run.scenario}s{run.seed}"
            passed[tenant] = (pack, run.passed)
            if held_out(run.scenario):
                held.add(tenant)
        say(f"{pack}: {sum(r.passed for r in figures.runs)}/{len(figures.runs)} dialogue scenarios passed")
    train: dict[str, list[command_examples.CommandCase]] = {}
    test: dict[str, list[command_examples.CommandCase]] = {}
    stats: dict[str, Any] = {"conversations": 0, "failed conversations left out": 0}
    left: dict[str, int] = {}
    for tenant, (pack, ok) in passed.items():
        if not ok:
            stats["failed conversations left out"] += 1
            continue
        who = system_principal(tenant)
        version = container.datasets.build(who, "bench-train", {"packs": [pack]})
        items = container.datasets.items(who, version["id"])
        pack_def = container.catalog.get(pack).loaded.pack
        stats["conversations"] += 1
        for prompt_format in (TUNED, INSTRUCTED):
            found, left_out = command_examples.cases_from_items(pack_def, items, prompt_format)
            side = test if tenant in held else train
            side.setdefault(f"{pack}/{prompt_format}", []).extend(_grouped(c, tenant) for c in found)
            if prompt_format == TUNED:
                for reason, count in left_out.items():
                    left[reason] = left.get(reason, 0) + count
    return train, test, {**stats, "turns left out": left}


def _grouped(case: command_examples.CommandCase, tenant: str) -> command_examples.CommandCase:
    return command_examples.CommandCase(
        case.prompt, case.context, case.commands, f"{tenant}/{case.group}", case.turn_id, case.reviewed
    )


def _exactness(
    container: Container, path: Path, cases: dict[str, list[command_examples.CommandCase]], prompt_format: str
) -> dict[str, Any]:
    model = EmbeddedModel(path, parallel=1, context=4096)
    try:

        def ask(request: ChatRequest) -> ChatResponse:
            return model.chat(request)

        out = {}
        for pack in PACKS:
            pack_def = container.catalog.get(pack).loaded.pack
            found = command_examples.exactness(
                pack_def, cases.get(f"{pack}/{prompt_format}", []), ask, prompt_format
            )
            out[pack] = {**found.as_dict(), "misses": (found.misses or [])[:5]}
        return out
    finally:
        model.close()


def _pass1(figures: dict[str, PackFigures]) -> dict[str, Any]:
    return {
        pack: {
            "scenarios": len(f.runs),
            "pass^1": round(sum(r.passed for r in f.runs) / max(1, len(f.runs)), 3),
            "understood_by_model": f.as_dict()["messages_understood_by_the_model"],
        }
        for pack, f in figures.items()
        if f.runs
    }


def run_train_bench(
    *,
    packs_dir: Path,
    data_dir: Path,
    steps: int = 120,
    batch_size: int = 8,
    learning_rate: float = 5e-5,
    threads: int = 2,
    limit: int | None = None,
    dialogue: bool = True,
    say: Say = lambda _: None,
) -> dict[str, Any]:
    tasks = data_dir / "retail-shop" / "tasks_train.json"
    if not tasks.is_file():
        raise UserError(f"no {tasks}: pass --data with the folder that holds retail-shop/")
    base = default_model_path()
    report: dict[str, Any] = {"base": str(base), "base_sha256": tuning.file_sha256(base)}
    with tempfile.TemporaryDirectory(prefix="procpilot-bench-train-") as tmp:
        root = Path(tmp)
        container = _container(root / "collect")
        try:
            started = time.perf_counter()
            train, test, stats = _collect(container, packs_dir, tasks, limit, say)
            report["collection"] = {**stats, "seconds": round(time.perf_counter() - started, 1)}
            report["examples"] = {
                side: {k: len(v) for k, v in cases.items() if k.endswith(TUNED)}
                for side, cases in (("training", train), ("held_out", test))
            }
            say(f"examples: {report['examples']}")
            say("the untuned model on the held-out turns")
            report["untuned"] = {"turns": _exactness(container, base, test, INSTRUCTED)}
            examples = [c.example(TUNED) for k, v in train.items() if k.endswith(TUNED) for c in v]
            settings = tuning.TuningSettings(
                steps=steps, batch_size=batch_size, learning_rate=learning_rate, threads=threads,
                checkpoint_every=max(10, steps // 4),
            )  # fmt: skip
            say(f"fine-tuning: {steps} steps of {batch_size} on {len(examples)} examples")
            last = [time.perf_counter()]

            def progress(done: int, total: int, loss: float) -> None:
                if done % 10 == 0 or done == total:
                    say(f"  step {done}/{total} loss {loss} ({time.perf_counter() - last[0]:.0f} s)")

            trained = tuning.train(base, examples, root / "job", settings, progress=progress)
            gguf = tuning.export_gguf(root / "job" / "hf", root / "job" / "model.gguf")
            report["training"] = {
                "steps": trained.steps,
                "examples": trained.examples,
                "seconds": trained.seconds,
                "seconds_per_step": round(trained.seconds / max(1, trained.steps), 2),
                "first_loss": trained.losses[0] if trained.losses else None,
                "final_loss": trained.final_loss,
                "peak_memory_mb": trained.peak_memory_mb,
                "threads": threads,
            }
            say("the tuned model on the held-out turns")
            report["tuned"] = {"turns": _exactness(container, gguf, test, TUNED)}
        finally:
            container.close()
        if dialogue:
            for name, path, prompt_format in (
                ("rules", None, None),
                ("untuned", base, INSTRUCTED),
                ("tuned", gguf, TUNED),
            ):
                say(f"bench dialogue on the held-out scenarios: {name}")
                runner = _container(root / f"dialogue-{name}")
                try:
                    uses = None
                    if path is not None:
                        runner.models.registry.add(EmbeddedModel(path, name=name, parallel=1, context=4096))
                        uses = {
                            "commands": {"model": name, "temperature": 0.0, "prompt_format": prompt_format}
                        }
                    figures = _dialogue(runner, packs_dir, tasks, held_out, uses, limit)
                finally:
                    runner.close()
                report.setdefault(name, {})["dialogue"] = _pass1(figures)
    return report


def figures(report: dict[str, Any]) -> Figures:
    table = Figures(
        "bench train: the embedded SmolLM2-135M fine-tuned as the command generator",
        ["understanding", "retail exact", "retail usable", "workplace exact", "workplace usable",
         "retail pass^1", "workplace pass^1"],
    )  # fmt: skip
    for name in ("rules", "untuned", "tuned"):
        row = report.get(name) or {}
        turns, dialogue = row.get("turns") or {}, row.get("dialogue") or {}

        def cell(pack: str, key: str, source: dict[str, Any]) -> str:
            value = (source.get(pack) or {}).get(key)
            return "-" if value is None else f"{value:.3f}"

        table.add(
            name,
            cell("retail", "commands_exact", turns),
            cell("retail", "commands_usable", turns),
            cell("workplace", "commands_exact", turns),
            cell("workplace", "commands_usable", turns),
            cell("retail", "pass^1", dialogue),
            cell("workplace", "pass^1", dialogue),
        )
    training = report.get("training") or {}
    table.notes.append(
        f"held-out turns: {report.get('examples', {}).get('held_out')}; training: {report.get('examples', {}).get('training')}"
    )
    table.notes.append(
        f"training: {training.get('steps')} steps on {training.get('examples')} examples in {training.get('seconds')} s"
        f" ({training.get('seconds_per_step')} s a step, {training.get('threads')} threads), loss"
        f" {training.get('first_loss')} -> {training.get('final_loss')}, peak memory {training.get('peak_memory_mb')} MB"
    )
    table.notes.append(f"collection: {report.get('collection')}")
    return table
