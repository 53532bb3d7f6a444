"""Training jobs for the embedded language model, model versions, the evaluation gate, promotion.

A job fine-tunes a base model (the embedded SmolLM2 GGUF, or a configured GGUF file or Hugging
Face folder) as a pack's command generator on a dataset version's turns (see
``procpilot.training.command_examples``), in stages:

    preparing   the dataset's usable turns, split by conversation into training and held out
    training    fine-tuning, checkpointed (``procpilot.training.tuning``); resumed after a crash
    exporting   back to GGUF (q8_0), which the embedded provider serves
    evaluating  on the held-out turns: commands exactly right, usable; the same for the baseline
                (the promoted version, or the untuned base); optionally the pack's conversation tests
    recorded    a candidate model version with its figures

A job runs as a durable process (``training_job``) on a worker, or in the command line's own
process (``procpilot train llm``); the stages are steps, so a job killed mid-training is taken up
again and continues from its last checkpoint. A candidate is promoted only when it is at least as
good as the baseline on every figure (the gate), by someone with the ``models`` permission; every
promotion, refusal and roll-back is on record in ``model_events``. The promoted version serves its
use for its tenant and pack (``ModelRegistry.assignment``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from procpilot.domain.access import Permission, Principal, system_principal
from procpilot.domain.errors import NotFound, UserError
from procpilot.domain.flows import Pack
from procpilot.engine.processes import ProcessContext, ProcessEngine, Registry
from procpilot.llm import ChatRequest, ChatResponse
from procpilot.llm.providers.embedded import EmbeddedModel, default_model_path
from procpilot.services.platform.settings import Settings
from procpilot.storage.database import Database
from procpilot.storage.training import CANDIDATE, PROMOTED, REJECTED, RETIRED, TrainingRepository
from procpilot.training import command_examples, tuning
from procpilot.understanding.llm_commands import INSTRUCTED, TUNED

log = structlog.get_logger(__name__)

COMMANDS = "commands"
GATED = ("commands_exact", "commands_usable", "tests_passed")
STAGES = ("queued", "preparing", "training", "exporting", "evaluating", "recorded")


def job_key(tenant: str, job_id: str) -> str:
    return f"training:{tenant}:{job_id}"


def default_threads() -> int:
    return 1 if (os.cpu_count() or 1) <= 2 else 2


@dataclass(frozen=True)
class PromotedModel:
    """What serves a use: the model version's id, its GGUF file and how to prompt it."""

    version_id: str
    path: Path
    prompt_format: str


def training_job(ctx: ProcessContext, tenant: str, job_id: str) -> str:
    """The durable body: each stage a step, so a recovered job skips the stages it finished."""
    ctx.publish("preparing")
    ctx.step("training.prepare", tenant, job_id)
    ctx.publish("training")
    ctx.step("training.train", tenant, job_id)
    ctx.publish("exporting")
    ctx.step("training.export", tenant, job_id)
    ctx.publish("evaluating")
    version = str(ctx.step("training.evaluate", tenant, job_id))
    ctx.publish("recorded")
    return version


TestRunner = Callable[[Pack, Path], dict[str, Any]]


class TrainingService:
    """``packs``: a pack by id; ``items``: a dataset version's items (the dataset service's);
    ``tests``: runs a pack's conversation tests with a GGUF file as command generator."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        packs: Callable[[str], Pack],
        items: Callable[[Principal, str], list[dict[str, Any]]],
        tests: TestRunner | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.packs = packs
        self.items = items
        self.tests = tests
        self.engine: ProcessEngine | None = None
        self._promoted: dict[tuple[str, str, str], tuple[float, PromotedModel | None]] = {}
        self._lock = threading.Lock()
        self.cache_seconds = 10.0  # another process's promotion is seen within this

    # -- wiring ------------------------------------------------------------------------------

    def register(self, registry: Registry) -> None:
        registry.process("training_job", training_job)
        registry.step("training.prepare", self.prepare)
        registry.step("training.train", self.train)
        registry.step("training.export", self.export)
        registry.step("training.evaluate", self.evaluate)

    def attach(self, engine: ProcessEngine) -> None:
        self.engine = engine

    def folder(self, tenant: str, job_id: str) -> Path:
        return self.settings.data_dir / "models" / "llm" / tenant / job_id

    # -- jobs --------------------------------------------------------------------------------

    def create_job(
        self,
        who: Principal,
        pack_id: str,
        dataset_version: str,
        *,
        base: Path | None = None,
        settings: dict[str, Any] | None = None,
        run_tests: bool = True,
        held_out: float = 0.2,
        start: bool = True,
    ) -> dict[str, Any]:
        """A new job; started on the process engine when this process runs one (``start``)."""
        who.require(Permission.MODELS, "training a model")
        self.packs(pack_id)  # an unknown pack is refused here, not in the job
        if not 0 <= held_out < 1:
            raise UserError("held_out is a share of the conversations, from 0 to below 1")
        self.items(system_principal(who.tenant), dataset_version)  # NotFound for an unknown version
        chosen = base or self.settings.llm_model_path or default_model_path()
        defaults = tuning.TuningSettings(
            threads=self.settings.training_threads or default_threads(), device=self.settings.training_device
        )
        merged = {**defaults.as_dict(), **(settings or {})}
        tuning.TuningSettings.of(merged)  # unknown values fail now
        job_id = "job-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        with self.database.transaction() as c:
            TrainingRepository(c, who.tenant).add_job(
                id=job_id,
                kind="llm",
                pack_id=pack_id,
                use=COMMANDS,
                dataset_version=dataset_version,
                settings={
                    **merged,
                    "base": str(Path(chosen).resolve()),
                    "prompt_format": TUNED,
                    "held_out": held_out,
                    "run_tests": run_tests,
                },
                status="queued",
                stage="queued",
                total=int(merged["steps"]),
                created_by=who.id,
            )
        if start and self.engine is not None:
            self.engine.start("training_job", job_key(who.tenant, job_id), tenant=who.tenant, job_id=job_id)
        return self.job(who, job_id)

    def job(self, who: Principal, job_id: str) -> dict[str, Any]:
        who.require(Permission.MODELS, "reading a training job")
        with self.database.transaction() as c:
            job = TrainingRepository(c, who.tenant).job(job_id)
        if job is None:
            raise NotFound(f"no training job {job_id}")
        return job

    def jobs(self, who: Principal) -> list[dict[str, Any]]:
        who.require(Permission.MODELS, "listing training jobs")
        with self.database.transaction() as c:
            return TrainingRepository(c, who.tenant).jobs()

    def run(self, tenant: str, job_id: str, progress: Callable[[str, int, int], None] | None = None) -> str:
        """Every stage of a job here, in this process (the command line): the same steps the
        durable process runs, each skipped when done already. Returns the model version's id."""
        self.prepare(tenant, job_id)
        self.train(tenant, job_id, progress)
        self.export(tenant, job_id)
        return self.evaluate(tenant, job_id, progress)

    def log_of(self, tenant: str, job_id: str) -> str:
        path = self.folder(tenant, job_id) / "job.log"
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    def _stage(self, tenant: str, job_id: str, stage: str, **values: Any) -> dict[str, Any]:
        with self.database.transaction() as c:
            repo = TrainingRepository(c, tenant)
            job = repo.job(job_id)
            if job is None:
                raise NotFound(f"no training job {job_id}")
            repo.update_job(job_id, stage=stage, status="running", **values)
        self._log(tenant, job_id, f"stage {stage}" + "".join(f" {k}={v}" for k, v in values.items()))
        return job

    def _log(self, tenant: str, job_id: str, line: str) -> None:
        folder = self.folder(tenant, job_id)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "job.log").open("a", encoding="utf-8") as handle:
            handle.write(f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} {line}\n")

    def _failed(self, tenant: str, job_id: str, error: Exception) -> None:
        with self.database.transaction() as c:
            TrainingRepository(c, tenant).update_job(job_id, status="failed", error=str(error))
        self._log(tenant, job_id, f"failed: {error}")

    def _guarded(self, tenant: str, job_id: str, work: Callable[[], Any]) -> Any:
        try:
            return work()
        except Exception as error:  # the job shows failed, with the reason; the step fails too
            self._failed(tenant, job_id, error)
            raise

    # -- stages (durable steps) --------------------------------------------------------------

    def prepare(self, tenant: str, job_id: str) -> int:
        def work() -> int:
            job = self._stage(tenant, job_id, "preparing")
            folder = self.folder(tenant, job_id)
            if (folder / "train.jsonl").is_file():
                return len((folder / "train.jsonl").read_text(encoding="utf-8").splitlines())
            pack = self.packs(job["pack_id"])
            items = self.items(system_principal(tenant), str(job["dataset_version"]))
            cases, left_out = command_examples.cases_from_items(pack, items, job["settings"]["prompt_format"])
            train, held = command_examples.split(cases, float(job["settings"]["held_out"]))
            if not train:
                raise UserError(
                    f"dataset {job['dataset_version']} has no usable turn of pack {pack.id!r} to train on"
                    f" (left out: {json.dumps(left_out)})"
                )
            _write(folder / "heldout.jsonl", _cases_jsonl(held))
            _write(folder / "train.jsonl", _cases_jsonl(train))
            self._log(
                tenant, job_id, f"examples: {len(train)} training, {len(held)} held out; left out {left_out}"
            )
            return len(train)

        return int(self._guarded(tenant, job_id, work))

    def train(self, tenant: str, job_id: str, progress: Callable[[str, int, int], None] | None = None) -> int:
        def work() -> int:
            job = self._stage(tenant, job_id, "training")
            folder = self.folder(tenant, job_id)
            if (folder / "hf" / "config.json").is_file():
                return int(job["step"])
            settings = tuning.TuningSettings.of(job["settings"])
            cases = _read_cases(folder / "train.jsonl")
            examples = [c.example(job["settings"]["prompt_format"]) for c in cases]
            last = [0.0]

            def step(done: int, total: int, loss: float) -> None:
                if progress:
                    progress("training", done, total)
                now = time.monotonic()
                if now - last[0] >= 2 or done == total:  # the job row, not every step's write
                    last[0] = now
                    with self.database.transaction() as c:
                        TrainingRepository(c, tenant).update_job(job_id, step=done)
                self._log(tenant, job_id, f"step {done}/{total} loss {loss}")

            report = tuning.train(Path(job["settings"]["base"]), examples, folder, settings, progress=step)
            if report.resumed_from:
                self._log(tenant, job_id, f"resumed from the checkpoint at step {report.resumed_from}")
            summary = {
                "steps": report.steps,
                "resumed_from": report.resumed_from,
                "seconds": report.seconds,
                "final_loss": report.final_loss,
                "first_loss": report.losses[0] if report.losses else None,
                "peak_memory_mb": report.peak_memory_mb,
                "examples": report.examples,
            }
            _write(folder / "training.json", json.dumps(summary))
            (folder / tuning.CHECKPOINT).unlink(missing_ok=True)  # the weights are in hf/ now
            with self.database.transaction() as c:
                TrainingRepository(c, tenant).update_job(job_id, step=report.steps)
            return report.steps

        return int(self._guarded(tenant, job_id, work))

    def export(self, tenant: str, job_id: str) -> str:
        def work() -> str:
            self._stage(tenant, job_id, "exporting")
            folder = self.folder(tenant, job_id)
            out = folder / "model.gguf"
            if not out.is_file():
                tuning.export_gguf(folder / "hf", out)
            return str(out)

        return str(self._guarded(tenant, job_id, work))

    def evaluate(
        self, tenant: str, job_id: str, progress: Callable[[str, int, int], None] | None = None
    ) -> str:
        def work() -> str:
            job = self._stage(tenant, job_id, "evaluating")
            if job["version_id"]:
                return str(job["version_id"])
            folder = self.folder(tenant, job_id)
            pack = self.packs(job["pack_id"])
            settings = job["settings"]
            held = _read_cases(folder / "heldout.jsonl")
            with self.database.transaction() as c:
                current = TrainingRepository(c, tenant).promoted(job["pack_id"], job["use"])
            baseline_path = Path(current["artifact"]) if current else Path(settings["base"])
            # The untuned base is asked as a general model is: with the instructions.
            baseline_format = current["settings"].get("prompt_format", TUNED) if current else INSTRUCTED
            candidate = self._figures(
                pack, folder / "model.gguf", TUNED, held, bool(settings["run_tests"]), progress
            )
            baseline = self._figures(
                pack, baseline_path, baseline_format, held, bool(settings["run_tests"]), progress
            )
            trained = json.loads((folder / "training.json").read_text())
            version_id = f"{job['pack_id']}-{job['use']}-{job_id.removeprefix('job-')}"
            base = Path(settings["base"])
            figures = {
                "candidate": candidate,
                "baseline": baseline,
                "baseline_version": current["id"] if current else None,
                "training": trained,
            }
            with self.database.transaction() as c:
                repo = TrainingRepository(c, tenant)
                repo.add_version(
                    id=version_id,
                    kind="llm",
                    pack_id=job["pack_id"],
                    use=job["use"],
                    base=str(base),
                    base_sha256=tuning.base_hash(base),
                    dataset_version=job["dataset_version"],
                    settings=settings,
                    figures=figures,
                    status=CANDIDATE,
                    artifact=str(folder / "model.gguf"),
                    created_by=job["created_by"],
                )
                repo.add_event(version_id, "trained", job["created_by"], {"job": job_id, "figures": figures})
                repo.update_job(job_id, status="finished", stage="recorded", version_id=version_id)
            shutil.rmtree(folder / "hf", ignore_errors=True)  # the GGUF file is what serves
            self._log(tenant, job_id, f"recorded {version_id}: {json.dumps(figures)}")
            return version_id

        return str(self._guarded(tenant, job_id, work))

    def _figures(
        self,
        pack: Pack,
        path: Path,
        prompt_format: str,
        held: Sequence[command_examples.CommandCase],
        run_tests: bool,
        progress: Callable[[str, int, int], None] | None,
    ) -> dict[str, Any]:
        model = EmbeddedModel(path, parallel=1, threads=self.settings.llm_threads, context=2048)
        try:

            def ask(request: ChatRequest) -> ChatResponse:
                return model.chat(request)

            say = (lambda done, total: progress("evaluating", done, total)) if progress else None
            figures = command_examples.exactness(pack, held, ask, prompt_format, say).as_dict()
        finally:
            model.close()
        if run_tests and self.tests is not None:
            figures.update(self.tests(pack, path))
        return figures

    # -- versions, the gate, promotion -------------------------------------------------------

    def versions(self, who: Principal, pack_id: str | None = None) -> list[dict[str, Any]]:
        who.require(Permission.MODELS, "listing model versions")
        with self.database.transaction() as c:
            return TrainingRepository(c, who.tenant).versions(pack_id)

    def version(self, who: Principal, version_id: str) -> dict[str, Any]:
        who.require(Permission.MODELS, "reading a model version")
        with self.database.transaction() as c:
            repo = TrainingRepository(c, who.tenant)
            return {**_existing(repo, version_id), "events": repo.events(version_id)}

    def promote(self, who: Principal, version_id: str) -> dict[str, Any]:
        """Promote a candidate that passes the gate; a refusal is recorded and says why."""
        who.require(Permission.MODELS, "promoting a model")
        with self.database.transaction() as c:
            repo = TrainingRepository(c, who.tenant)
            version = _existing(repo, version_id)
            if version["status"] == PROMOTED:
                raise UserError(f"{version_id} is promoted already")
            current = repo.promoted(version["pack_id"], version["use"])
            report = gate(version["figures"], current["id"] if current else None)
            if not report["passed"]:
                repo.add_event(version_id, "refused", who.id, report)
                refused = UserError(f"{version_id} is not promoted: {report['reason']}")
            else:
                refused = None
                if current:
                    repo.set_status(current["id"], RETIRED, who.id)
                repo.set_status(version_id, PROMOTED, who.id)
                repo.add_event(
                    version_id, "promoted", who.id, {**report, "replaces": current["id"] if current else None}
                )
        if refused is not None:
            raise refused
        self._forget(who.tenant, version["pack_id"], version["use"])
        return {**self.version(who, version_id), "gate": report}

    def reject(self, who: Principal, version_id: str, reason: str) -> None:
        who.require(Permission.MODELS, "rejecting a model")
        with self.database.transaction() as c:
            repo = TrainingRepository(c, who.tenant)
            version = _existing(repo, version_id)
            if version["status"] != CANDIDATE:
                raise UserError(f"{version_id} is {version['status']}, not a candidate")
            repo.set_status(version_id, REJECTED, who.id)
            repo.add_event(version_id, "rejected", who.id, {"reason": reason})

    def rollback(self, who: Principal, pack_id: str, use: str = COMMANDS) -> dict[str, Any]:
        """Put back the version promoted before the current one (or none: the pack's own setting)."""
        who.require(Permission.MODELS, "rolling back a model")
        with self.database.transaction() as c:
            repo = TrainingRepository(c, who.tenant)
            current = repo.promoted(pack_id, use)
            if current is None:
                raise UserError(f"nothing to roll back: no model version is promoted for {pack_id} {use}")
            replaced = next(
                (
                    e["data"].get("replaces")
                    for e in reversed(repo.events(current["id"]))
                    if e["action"] == "promoted"
                ),
                None,
            )
            repo.set_status(current["id"], RETIRED, who.id)
            repo.add_event(current["id"], "rolled_back", who.id, {"restored": replaced})
            if replaced:
                repo.set_status(replaced, PROMOTED, who.id)
                repo.add_event(replaced, "restored", who.id, {"after": current["id"]})
        self._forget(who.tenant, pack_id, use)
        return {"rolled_back": current["id"], "restored": replaced}

    # -- serving -----------------------------------------------------------------------------

    def promoted(self, tenant: str, pack_id: str, use: str) -> PromotedModel | None:
        """The promoted model for a use (cached; another process's change shows within seconds)."""
        key = (tenant, pack_id, use)
        now = time.monotonic()
        with self._lock:
            cached = self._promoted.get(key)
            if cached is not None and now - cached[0] < self.cache_seconds:
                return cached[1]
        with self.database.transaction() as c:
            found = TrainingRepository(c, tenant).promoted(pack_id, use)
        model = (
            PromotedModel(found["id"], Path(found["artifact"]), found["settings"].get("prompt_format", TUNED))
            if found
            else None
        )
        with self._lock:
            self._promoted[key] = (now, model)
        return model

    def _forget(self, tenant: str, pack_id: str, use: str) -> None:
        with self._lock:
            self._promoted.pop((tenant, pack_id, use), None)


def _existing(repo: TrainingRepository, version_id: str) -> dict[str, Any]:
    found = repo.version(version_id)
    if found is None:
        raise NotFound(f"no model version {version_id}")
    return found


def gate(figures: dict[str, Any], promoted_id: str | None) -> dict[str, Any]:
    """At least as good as the baseline on every figure both have; says which figures moved."""
    if figures.get("baseline_version") != promoted_id:
        return {
            "passed": False,
            "reason": (
                f"it was evaluated against {figures.get('baseline_version') or 'the untuned base'}, "
                f"but {promoted_id or 'none'} is promoted now: train it again"
            ),
            "moved": {},
        }
    candidate, baseline = figures.get("candidate") or {}, figures.get("baseline") or {}
    moved = {
        key: {"from": baseline[key], "to": candidate[key]}
        for key in GATED
        if key in candidate and key in baseline and candidate[key] != baseline[key]
    }
    worse = [key for key, change in moved.items() if change["to"] < change["from"]]
    if not candidate.get("cases"):
        return {"passed": False, "reason": "no held-out turns were evaluated", "moved": moved}
    if worse:
        detail = ", ".join(f"{k} {moved[k]['from']} -> {moved[k]['to']}" for k in worse)
        return {"passed": False, "reason": f"worse than the baseline on {detail}", "moved": moved}
    return {"passed": True, "reason": "at least as good as the baseline on every figure", "moved": moved}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(path.suffix + ".tmp")
    temp.write_text(text, encoding="utf-8")
    temp.replace(path)


def _cases_jsonl(cases: Sequence[command_examples.CommandCase]) -> str:
    return "".join(
        json.dumps(
            {
                "prompt": c.prompt,
                "context": c.context,
                "commands": list(c.commands),
                "group": c.group,
                "turn_id": c.turn_id,
                "reviewed": c.reviewed,
            },
            ensure_ascii=False,
        )
        + "\n"
        for c in cases
    )


def _read_cases(path: Path) -> list[command_examples.CommandCase]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        out.append(
            command_examples.CommandCase(
                prompt=row["prompt"],
                context=row["context"],
                commands=tuple(row["commands"]),
                group=row["group"],
                turn_id=row["turn_id"],
                reviewed=row["reviewed"],
            )
        )
    return out
