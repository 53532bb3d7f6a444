"""``procpilot bench dialogue``: simulated people talk to a pack's assistant; the business database
afterwards says whether each scenario was done right.

Retail: the 74 training scenarios of tau2-bench's retail domain. A scenario passes when the shop's
database after the conversation equals a fresh copy on which the scenario's expected write actions
were replayed with the pack's own tools (users and orders, every column). Workplace: scenarios
written for procpilot (``workplace_scenarios.yaml``), checked by the rows they must leave.

Figures per pack: pass^1 (the chance one conversation passes) and pass^k (the chance all k seeds
of a scenario pass, tau-bench's estimator), user turns per scenario, facts asked again per
scenario, the share of opening messages routed to the right flow, and time per turn
(understanding alone and the whole turn), p50 and p95.
"""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from math import comb
from pathlib import Path
from typing import Any, Protocol

from procpilot.bench.people import Voice
from procpilot.bench.report import Figures, percentile
from procpilot.bench.shop_customer import ShopCustomer, load_scenarios
from procpilot.bench.workplace_employee import WorkplaceEmployee, load_workplace_scenarios
from procpilot.domain.errors import UserError
from procpilot.services.packs.catalog import PackRuntime, seed_database
from procpilot.services.platform.container import Container, build
from procpilot.services.platform.settings import Settings
from procpilot.storage.accounts import AccountRepository
from procpilot.tools.runner import ToolRunner

MAX_TURNS = 30


class Person(Protocol):
    asked_again: int
    repeated: list[str]
    handed_off: bool

    def opening(self) -> str: ...

    def reply(self, messages: list[str]) -> str | None: ...


@dataclass
class Run:
    """One conversation of one scenario under one seed."""

    scenario: str
    seed: int
    passed: bool
    turns: int
    asked_again: int
    routed: bool | None  # None: the scenario's first request has no flow to route to
    repeated: list[str] = field(default_factory=list)
    by_model: int = 0  # messages whose commands came from the LLM command generator
    understanding_ms: list[float] = field(default_factory=list)
    turn_ms: list[float] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    why: str = ""


@dataclass
class PackFigures:
    pack: str
    runs: list[Run]
    seeds: int

    def as_dict(self) -> dict[str, Any]:
        by_scenario: dict[str, list[bool]] = {}
        for run in self.runs:
            by_scenario.setdefault(run.scenario, []).append(run.passed)

        def pass_k(k: int) -> float:
            values = [comb(sum(p), k) / comb(len(p), k) for p in by_scenario.values() if len(p) >= k]
            return round(statistics.mean(values), 3) if values else 0.0

        routed = [r.routed for r in self.runs if r.routed is not None]
        understanding = [ms for r in self.runs for ms in r.understanding_ms]
        turns = [ms for r in self.runs for ms in r.turn_ms]
        return {
            "pack": self.pack,
            "scenarios": len(by_scenario),
            "seeds": self.seeds,
            "pass^1": pass_k(1),
            f"pass^{self.seeds}": pass_k(self.seeds),
            "user_turns_per_scenario": round(statistics.mean(r.turns for r in self.runs), 2),
            "facts_asked_again_per_scenario": round(statistics.mean(r.asked_again for r in self.runs), 3),
            "facts_asked_again_by_kind": dict(
                Counter(f for r in self.runs for f in r.repeated).most_common()
            ),
            "opening_routed_right": round(sum(routed) / len(routed), 3) if routed else None,
            "understanding_ms_p50": _percentile(understanding, 50),
            "understanding_ms_p95": _percentile(understanding, 95),
            "turn_ms_p50": _percentile(turns, 50),
            "turn_ms_p95": _percentile(turns, 95),
            "messages_understood_by_the_model": round(
                sum(r.by_model for r in self.runs) / max(1, sum(r.turns for r in self.runs)), 3
            ),
            "failed": sorted({f"{r.scenario}/{r.seed}: {r.why}" for r in self.runs if not r.passed}),
        }


def _percentile(values: list[float], q: int) -> float | None:
    return round(percentile(values, q / 100), 1) if values else None


def _talk(
    container: Container, tenant: str, pack_id: str, person: Person, user: dict[str, Any]
) -> tuple[Run, list[dict[str, Any]]]:
    run = Run("", 0, False, 0, 0, None)
    events: list[dict[str, Any]] = []
    text: str | None = person.opening()
    conversation_id = None
    while text is not None and run.turns < MAX_TURNS:
        started = time.perf_counter()
        reply = container.conversations.handle(
            tenant=tenant,
            pack_id=pack_id,
            conversation_id=conversation_id,
            text=text,
            user_id=user.get("id"),
            roles=user.get("roles", []),
        )
        run.turn_ms.append((time.perf_counter() - started) * 1000)
        run.understanding_ms.append(reply.understanding_seconds * 1000)
        run.by_model += reply.understood_by == "model"
        conversation_id = reply.conversation_id
        run.turns += 1
        run.transcript += [f"> {text}", *(f"< {m['text']}" for m in reply.messages)]
        events += reply.events
        text = person.reply([m["text"] for m in reply.messages])
    run.asked_again = person.asked_again
    run.repeated = list(person.repeated)
    return run, events


def _first_flow(events: list[dict[str, Any]], skip: set[str]) -> str | None:
    for event in events:
        if event["kind"] == "flow.started" and not event["data"].get("pattern"):
            flow = str(event["data"]["flow"])
            if flow not in skip:
                return flow
    return None


def _rows(path: Path, tables: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    connection = sqlite3.connect(path)
    try:
        return {t: connection.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}
    finally:
        connection.close()


def _business(
    container: Container, tenant: str, pack_id: str, template: Path, uses: dict[str, Any] | None
) -> Path:
    path = container.workspace.path(tenant, pack_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, path)
    with container.database.transaction() as c:
        AccountRepository(c).ensure_tenant(tenant)
    if uses is not None:
        container.settings.tenant_models[tenant] = uses  # the model registry reads these per call
    return path


def _replay(runtime: PackRuntime, path: Path, writes: list[dict[str, Any]], user_id: str) -> list[str]:
    """Perform the expected writes; the ones the shop's rules refuse change nothing (as in tau2)."""
    runner = ToolRunner(tools=runtime.tools, database=path)
    refused = []
    for number, action in enumerate(writes):
        args = {"user_id": user_id, **action["arguments"]}
        if action["name"] == "transfer_to_human_agents":
            continue  # writes nothing in the shop
        outcome = runner.call(
            action["name"],
            args,
            tenant="expected",
            conversation_id="expected",
            user_id=user_id,
            idempotency_key=f"expected/{number}",
        )
        if not outcome.ok:
            refused.append(f"{action['name']}: {outcome.detail or outcome.error}")
    return refused


def _prepare(container: Container, pack_dir: Path) -> tuple[PackRuntime, Path]:
    """The pack loaded, and a seeded copy of its business database to start each scenario from."""
    runtime = container.catalog.add(pack_dir)
    template = container.settings.data_dir / f"{runtime.id}-template.sqlite"
    seed_database(runtime, template)
    return runtime, template


def bench_retail(
    container: Container,
    pack_dir: Path,
    tasks: Path,
    seeds: int,
    progress: Callable[[Run], None] | None,
    limit: int | None = None,
    uses: dict[str, Any] | None = None,
    select: Callable[[str], bool] | None = None,
) -> PackFigures:
    """``select``: which scenario ids to run (all by default)."""
    runtime, template = _prepare(container, pack_dir)
    root = container.settings.data_dir
    scenarios = load_scenarios(tasks, pack_dir / "data" / "db.json")[:limit]
    scenarios = [s for s in scenarios if select is None or select(s.id)]
    runs = []
    tables = ["users", "orders"]
    for scenario in scenarios:
        expected = root / f"expected-{scenario.id}.sqlite"
        shutil.copy(template, expected)
        _replay(runtime, expected, scenario.writes, scenario.user["user_id"])
        want = _rows(expected, tables)
        for seed in range(seeds):
            tenant = f"r{scenario.id}s{seed}"
            business = _business(container, tenant, runtime.id, template, uses)
            customer = ShopCustomer(scenario, Voice(seed * 1000 + int(scenario.id)))
            run, events = _talk(container, tenant, runtime.id, customer, {})
            run.scenario, run.seed = scenario.id, seed
            if scenario.requests and not scenario.requests[0].flow.startswith("pattern_"):
                run.routed = _first_flow(events, {"authenticate"}) == scenario.requests[0].flow
            got = _rows(business, tables)
            run.passed = got == want
            if not run.passed:
                run.why = _difference(got, want) or "database differs"
            elif customer.handed_off and not any(
                w["name"] == "transfer_to_human_agents" for w in scenario.writes
            ):
                run.passed, run.why = False, "handed off"
            runtime.runners.pop(tenant, None)
            business.unlink(missing_ok=True)
            runs.append(run)
            if progress:
                progress(run)
        expected.unlink(missing_ok=True)
    return PackFigures("retail", runs, seeds)


def _difference(got: dict[str, list[tuple[Any, ...]]], want: dict[str, list[tuple[Any, ...]]]) -> str:
    for table, rows in want.items():
        missing = set(rows) - set(got[table])
        extra = set(got[table]) - set(rows)
        if missing or extra:
            ids = sorted({str(r[0]) for r in missing | extra})
            return f"{table} {', '.join(ids[:4])} not as expected"
    return ""


def bench_workplace(
    container: Container,
    pack_dir: Path,
    scenarios_file: Path,
    seeds: int,
    progress: Callable[[Run], None] | None,
    limit: int | None = None,
    uses: dict[str, Any] | None = None,
    select: Callable[[str], bool] | None = None,
) -> PackFigures:
    runtime, template = _prepare(container, pack_dir)
    runs = []
    for loaded in load_workplace_scenarios(scenarios_file)[:limit]:
        if select is not None and not select(loaded.id):
            continue
        for seed in range(seeds):
            # Each conversation its own copy: the employee settles what their words mean.
            scenario = dataclasses.replace(loaded, facts=dict(loaded.facts), approvals=[])
            tenant = f"w{scenario.id}s{seed}"  # "ww1s0": scenario ids start with w
            business = _business(container, tenant, runtime.id, template, uses)
            employee = WorkplaceEmployee(scenario, Voice(seed * 1000 + scenario.number), today=scenario.today)
            user = {"id": scenario.employee, "roles": ["employee"]}
            run, events = _talk(container, tenant, runtime.id, employee, user)
            run.scenario, run.seed = scenario.id, seed
            run.routed = _first_flow(events, set()) == scenario.flow
            spent = [
                e["data"]["value"]
                for e in events
                if e["kind"] == "slot.set" and e["data"]["slot"] == "spent_on"
            ]
            scenario.approvals = [
                {**task, "spent_on": spent[-1] if spent else None}
                for task in container.approvals.pending(tenant)
            ]
            run.why = scenario.check(business)
            run.passed = not run.why and not employee.handed_off
            if employee.handed_off and not run.why:
                run.why = "handed off"
            runtime.runners.pop(tenant, None)
            business.unlink(missing_ok=True)
            runs.append(run)
            if progress:
                progress(run)
    return PackFigures("workplace", runs, seeds)


def run_dialogue_bench(
    *,
    packs_dir: Path,
    data_dir: Path,
    packs: tuple[str, ...] = ("retail", "workplace"),
    seeds: int = 3,
    only: str | None = None,
    progress: Callable[[Run], None] | None = None,
    keep_transcripts: Path | None = None,
    commands_model: str | None = None,
    limit: int | None = None,
) -> list[PackFigures]:
    """Run the dialogue benchmark for ``packs``; ``data_dir`` holds ``retail-shop/tasks_train.json``.

    ``commands_model`` names a model (``embedded``, or one of ``PROCPILOT_MODELS``) to serve the
    ``commands`` use, so the LLM command generator understands instead of the rules; ``limit``
    runs the first scenarios only (a model on two cores takes seconds a message)."""
    tasks = data_dir / "retail-shop" / "tasks_train.json"
    if "retail" in packs and not tasks.is_file():
        raise UserError(f"no {tasks}: pass --data with the folder that holds retail-shop/")
    figures = []
    with tempfile.TemporaryDirectory(prefix="procpilot-bench-dialogue-") as tmp:
        root = Path(tmp)
        settings = Settings(data_dir=root, packs_dir=root / "none", database_url="")
        container = build(settings, load_packs=False)
        # With a command model, each tenant the benchmark makes has it serve its understanding.
        uses = {"commands": {"model": commands_model, "temperature": 0.0}} if commands_model else None
        try:
            if "retail" in packs:
                figures.append(
                    bench_retail(container, packs_dir / "retail", tasks, seeds, progress, limit, uses)
                )
            if "workplace" in packs:
                scenarios = packs_dir / "workplace" / "bench" / "scenarios.yaml"
                figures.append(
                    bench_workplace(
                        container, packs_dir / "workplace", scenarios, seeds, progress, limit, uses
                    )
                )
        finally:
            container.close()
    if keep_transcripts is not None:
        keep_transcripts.mkdir(parents=True, exist_ok=True)
        for pack in figures:
            lines = []
            for run in pack.runs:
                if only and only != run.scenario:
                    continue
                lines += [f"## {run.scenario} seed {run.seed}: {'pass' if run.passed else 'FAIL ' + run.why}"]
                lines += [*run.transcript, ""]
            (keep_transcripts / f"{pack.pack}.md").write_text("\n".join(lines), encoding="utf-8")
    return figures


def figures(report: list[dict[str, Any]], seeds: int, how: str) -> Figures:
    """The table of ``[PackFigures.as_dict(), ...]``; ``how`` says what understood the messages."""
    k = [f"pass^{seeds}"] if seeds > 1 else []
    table = Figures(
        f"bench dialogue ({seeds} seeds, understanding: {how})",
        [
            "pack",
            "scenarios",
            "pass^1",
            *k,
            "turns",
            "asked again",
            "routed",
            "und. p50 ms",
            "und. p95 ms",
            "turn p50 ms",
        ],
    )
    for row in report:
        routed = row["opening_routed_right"]
        table.add(
            row["pack"], row["scenarios"], f"{row['pass^1']:.3f}", *[f"{row[c]:.3f}" for c in k],
            row["user_turns_per_scenario"], row["facts_asked_again_per_scenario"],
            f"{routed:.1%}" if routed is not None else "-",
            row["understanding_ms_p50"], row["understanding_ms_p95"], row["turn_ms_p50"],
        )  # fmt: skip
    table.notes += [f"{row['pack']} {failure}" for row in report for failure in row["failed"]]
    return table
