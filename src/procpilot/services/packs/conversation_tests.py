"""Conversation tests: a pack's ``tests/*.yaml``, run against the real engine, tools and database.

A test is a list of user turns, each with assertions on what happened in that turn, and checks of
the pack's business database afterwards::

    tests:
      - name: return an item
        user: {id: u1, roles: [customer]}          # optional
        steps:
          - user: I want to return something
            expect:
              flow_started: return_items
              bot_contains: email address
          - user: "yes"
            expect: {tool_called: {name: return_delivered_order_items, args: {order_id: "#W7678072"}}}
        never_called: [cancel_pending_order]      # over the whole conversation
        db:
          - query: SELECT status FROM orders WHERE order_id = '#W7678072'
            equals: [[return requested]]

Turn assertions: bot_contains, bot_not_contains, bot_regex, flow_started, flow_completed,
flow_cancelled, slots, tool_called, tool_not_called, commands, handoff, active_flows, and
``approval: {role, assignee, summary}`` for the task waiting in the conversation after the turn. Besides a ``user``
turn, a step can be an approver's (``approve: {by, outcome, comment}``, with ``error`` to expect a
refusal such as the four-eyes rule), the deadline passing (``expire: true``) or the time of
every waiting timer passing (``elapse: true``: wait steps, delayed tool retries); their assertions
are on what the requester's conversation then shows.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from procpilot.domain.errors import ProcpilotError, UserError
from procpilot.llm.providers.embedded import EmbeddedModel
from procpilot.packs.loader import load_pack
from procpilot.services.conversations.messages import Reply
from procpilot.services.models import intent_models
from procpilot.services.packs.catalog import seed_database
from procpilot.services.platform.container import Container, build
from procpilot.services.platform.settings import Settings
from procpilot.storage.accounts import AccountRepository

TURN_KEYS = {
    "approval",
    "error",
    "bot_contains",
    "bot_not_contains",
    "bot_regex",
    "flow_started",
    "flow_completed",
    "flow_cancelled",
    "slots",
    "tool_called",
    "tool_not_called",
    "commands",
    "handoff",
    "active_flows",
}


@dataclass
class CaseResult:
    file: str
    name: str
    passed: bool
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    transcript: list[str] = field(default_factory=list)


@dataclass
class TestReport:
    pack: str
    results: list[CaseResult]

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def load_cases(pack_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    """All test cases of a pack, with the file each came from; malformed files raise UserError."""
    cases = []
    for file in sorted((pack_dir / "tests").glob("*.y*ml")):
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise UserError(f"{file.name}: malformed YAML: {error}") from None
        if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
            raise UserError(f"{file.name}: expected a mapping with a 'tests' list")
        for index, case in enumerate(data["tests"]):
            if not isinstance(case, dict) or "name" not in case or not isinstance(case.get("steps"), list):
                raise UserError(f"{file.name}: test #{index + 1} needs a name and a list of steps")
            for step in case["steps"]:
                unknown = set((step or {}).get("expect") or {}) - TURN_KEYS
                if unknown:
                    raise UserError(
                        f"{file.name}: test {case['name']!r}: unknown assertion(s) {sorted(unknown)}"
                    )
            cases.append((file.name, case))
    return cases


def _check_turn(expect: dict[str, Any], reply: Any) -> list[str]:
    failures: list[str] = []
    text = "\n".join(
        m["text"] + "".join(f"\n[{b['title']}]" for b in m.get("buttons") or []) for m in reply.messages
    )
    lowered = text.lower()
    events = reply.events

    def kinds(kind: str) -> list[dict[str, Any]]:
        return [e["data"] for e in events if e["kind"] == kind]

    for needle in _as_list(expect.get("bot_contains", [])):
        if str(needle).lower() not in lowered:
            failures.append(f"bot did not say {needle!r}; it said {text!r}")
    for needle in _as_list(expect.get("bot_not_contains", [])):
        if str(needle).lower() in lowered:
            failures.append(f"bot said {needle!r}, which it must not; it said {text!r}")
    for pattern in _as_list(expect.get("bot_regex", [])):
        if not re.search(str(pattern), text, re.IGNORECASE | re.DOTALL):
            failures.append(f"bot text does not match /{pattern}/; it said {text!r}")
    for key, kind in (
        ("flow_started", "flow.started"),
        ("flow_completed", "flow.completed"),
        ("flow_cancelled", "flow.cancelled"),
    ):
        seen = [e["flow"] for e in kinds(kind)]
        for flow in _as_list(expect.get(key, [])):
            if flow not in seen:
                failures.append(f"{key.replace('_', ' ')}: expected {flow!r}, saw {seen}")
    for slot, value in (expect.get("slots") or {}).items():
        values = [e["value"] for e in kinds("slot.set") if e["slot"] == slot]
        if value not in values:
            failures.append(f"slot {slot!r} was not set to {value!r} (set to {values})")
    calls = [e for e in kinds("tool.requested")]
    for wanted in _as_list(expect.get("tool_called", [])):
        name = wanted["name"] if isinstance(wanted, dict) else wanted
        args = wanted.get("args", {}) if isinstance(wanted, dict) else {}
        matching = [
            c for c in calls if c["tool"] == name and all(c["args"].get(k) == v for k, v in args.items())
        ]
        if not matching:
            failures.append(
                f"tool {name!r} was not called with {args}; calls: {[(c['tool'], c['args']) for c in calls]}"
            )
    for name in _as_list(expect.get("tool_not_called", [])):
        if any(c["tool"] == name for c in calls):
            failures.append(f"tool {name!r} was called but must not be")
    names = [c["command"] for c in reply.commands]
    for command in _as_list(expect.get("commands", [])):
        if command not in names:
            failures.append(f"command {command!r} not produced; commands: {names}")
    if "handoff" in expect and bool(expect["handoff"]) != bool(kinds("handoff.requested")):
        failures.append(f"handoff expected {expect['handoff']}, got {bool(kinds('handoff.requested'))}")
    if "active_flows" in expect:
        active = [f for f in reply.active_flows if not f.startswith("pattern_")]
        if active != list(expect["active_flows"]):
            failures.append(f"active flows {active}, expected {expect['active_flows']}")
    return failures


def _check_db(checks: list[dict[str, Any]], path: Path | None) -> list[str]:
    if not checks:
        return []
    if path is None:
        return ["db checks given, but the pack has no business database"]
    failures = []
    connection = sqlite3.connect(path)
    try:
        for check in checks:
            rows = [list(r) for r in connection.execute(check["query"]).fetchall()]
            if "equals" in check and rows != check["equals"]:
                failures.append(f"db: {check['query']} gave {rows}, expected {check['equals']}")
    except sqlite3.Error as error:
        failures.append(f"db query failed: {error}")
    finally:
        connection.close()
    return failures


def run_pack_tests(
    pack_dir: Path,
    *,
    only: str | None = None,
    database_url: str | None = None,
    progress: Callable[[CaseResult], None] | None = None,
    understanding: str = "rules",
    commands_model: Path | None = None,
    prompt_format: str = "tuned",
) -> TestReport:
    """Run the pack's conversation tests, each in its own tenant with a fresh business database.

    ``understanding`` is ``rules`` (the example matcher) or ``classifier`` (an intent classifier
    trained for this run, exactly as ``procpilot train intents`` would train it).
    ``commands_model``: a GGUF file that serves the ``commands`` use (the LLM command generator,
    asked in ``prompt_format``), as a model version trained here would: the rules answer whenever
    its commands are unusable.
    """
    if understanding not in ("rules", "classifier"):
        raise UserError(f"understanding must be 'rules' or 'classifier', not {understanding!r}")
    pack_dir = pack_dir.resolve()
    cases = load_cases(pack_dir)
    if only:
        cases = [(f, c) for f, c in cases if only.lower() in c["name"].lower()]
    with tempfile.TemporaryDirectory(prefix="procpilot-test-") as tmp:
        root = Path(tmp)
        settings = Settings(data_dir=root, packs_dir=root / "none", database_url=database_url or "")
        container = build(settings, load_packs=False)
        try:
            if understanding == "classifier":
                intent_models.train(load_pack(pack_dir).pack, container.encoder.get(), root)
            if commands_model is not None:
                container.models.registry.add(EmbeddedModel(commands_model, name="candidate", parallel=1))
                uses = {
                    "commands": {"model": "candidate", "temperature": 0.0, "prompt_format": prompt_format}
                }
                settings.tenant_models.update({f"t{index}": uses for index in range(len(cases))})
            runtime_id, results = run_cases_in(container, pack_dir, cases, "t", progress)
        finally:
            container.close()
    return TestReport(runtime_id, results)


def run_cases_in(
    container: Container,
    pack_dir: Path,
    cases: list[tuple[str, dict[str, Any]]],
    prefix: str,
    progress: Callable[[CaseResult], None] | None = None,
) -> tuple[str, list[CaseResult]]:
    """Run ``cases`` of the pack in ``pack_dir`` in a container, case n in tenant ``{prefix}{n}``
    (the records stay in its database: a benchmark learns from them)."""
    runtime = container.catalog.add(pack_dir)
    # The pack's documents are ingested here, before any conversation, as `procpilot setup`
    # does: not inside a test's first question, where a busy machine runs past the search
    # tool's time-out.
    container.knowledge.sync_pack(runtime.loaded.pack)
    template = None
    if runtime.loaded.pack.database_seed:
        template = container.settings.data_dir / f"{runtime.id}-tests-template.sqlite"
        seed_database(runtime, template)
    results = []
    for index, (file, case) in enumerate(cases):
        result = _run_case(container, runtime.id, file, case, f"{prefix}{index}", template)
        results.append(result)
        if progress:
            progress(result)
    return runtime.id, results


def _pending_task(container: Container, tenant: str, conversation_id: str | None) -> dict[str, Any] | None:
    tasks = [t for t in container.approvals.pending(tenant) if t["conversation_id"] == conversation_id]
    return tasks[-1] if tasks else None


def _check_task(spec: dict[str, Any] | None, task: dict[str, Any] | None) -> str | None:
    """``approval: {role, assignee, summary}``: the task waiting in this conversation."""
    if spec is None:
        return None
    if task is None:
        return "expected an approval to be waiting, there is none"
    for key in ("role", "assignee"):
        if key in spec and task.get(key) != spec[key]:
            return f"approval {key}: expected {spec[key]!r}, got {task.get(key)!r}"
    if "summary" in spec and str(spec["summary"]) not in str(task.get("summary")):
        return f"approval summary: expected it to contain {spec['summary']!r}, got {task.get('summary')!r}"
    return None


def _run_case(
    container: Container, pack_id: str, file: str, case: dict[str, Any], tenant: str, template: Path | None
) -> CaseResult:
    started = time.perf_counter()
    result = CaseResult(file, case["name"], passed=True)
    runtime = container.catalog.get(pack_id)
    business = None
    if template is not None:
        business = container.workspace.path(tenant, pack_id)
        business.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(template, business)
    with container.database.transaction() as c:
        AccountRepository(c).ensure_tenant(tenant)
    user = case.get("user") or {}
    conversation_id = None
    all_calls: list[str] = []
    for number, step in enumerate(case["steps"], start=1):
        expect = dict(step.get("expect") or {})
        if "elapse" in step:
            # The time of every waiting timer passes (wait steps, delayed retries).
            text = "elapse"
            fired: list[Reply] = container.timers.elapse(tenant, conversation_id) if conversation_id else []
            if not fired:
                result.failures.append(f"turn {number} (elapse): no timer is waiting in this conversation")
                break
            reply = Reply(
                fired[-1].conversation_id,
                [m for r in fired for m in r.messages],
                events=[e for r in fired for e in r.events],
                active_flows=fired[-1].active_flows,
            )
            result.transcript += ["[time passes]", *(f"< {m['text']}" for m in reply.messages)]
        elif "user" not in step:
            # An approver's turn (approve: {by, outcome, comment}) or the deadline passing (expire: true).
            text = "approve" if "approve" in step else "expire"
            task = _pending_task(container, tenant, conversation_id)
            if task is None:
                result.failures.append(f"turn {number} ({text}): no approval is waiting in this conversation")
                break
            decided: Reply | None
            try:
                if "approve" in step:
                    spec = step["approve"] or {}
                    decided = container.approvals.decide(
                        tenant=tenant,
                        approval_id=task["id"],
                        outcome=str(spec.get("outcome", "approved")),
                        by=str(spec.get("by", "approver")),
                        comment=str(spec.get("comment", "")),
                    )
                else:
                    decided = container.approvals.expire(tenant=tenant, approval_id=task["id"])
            except ProcpilotError as error:
                if "error" in expect and str(expect.pop("error")) in str(error):
                    continue
                result.failures.append(f"turn {number} ({text}) raised {type(error).__name__}: {error}")
                break
            if decided is None:
                result.failures.append(f"turn {number} ({text}): the approval was already decided")
                break
            reply = decided
            if "approval" in expect:
                failure = _check_task(
                    expect.pop("approval"), _pending_task(container, tenant, conversation_id)
                )
                if failure:
                    result.failures.append(f"turn {number} ({text}): {failure}")
            who = (
                f"[{spec.get('by', 'approver')} {spec.get('outcome', 'approved')}]"
                if "approve" in step
                else "[deadline passed]"
            )
            result.transcript += [who, *(f"< {m['text']}" for m in reply.messages)]
        else:
            text = str(step["user"])
            try:
                reply = container.conversations.handle(
                    tenant=tenant,
                    pack_id=pack_id,
                    conversation_id=conversation_id,
                    text=text,
                    user_id=user.get("id"),
                    roles=user.get("roles", []),
                )
            except ProcpilotError as error:
                result.failures.append(f"turn {number} ({text!r}) raised {type(error).__name__}: {error}")
                break
            conversation_id = reply.conversation_id
            result.transcript += [f"> {text}", *(f"< {m['text']}" for m in reply.messages)]
            if "approval" in expect:
                failure = _check_task(
                    expect.pop("approval"), _pending_task(container, tenant, conversation_id)
                )
                if failure:
                    result.failures.append(f"turn {number} ({text!r}): {failure}")
        all_calls += [e["data"]["tool"] for e in reply.events if e["kind"] == "tool.requested"]
        for failure in _check_turn(expect, reply):
            result.failures.append(f"turn {number} ({text!r}): {failure}")
    for name in _as_list(case.get("never_called", [])):
        if name in all_calls:
            result.failures.append(f"tool {name!r} was called during the conversation but must never be")
    result.failures += _check_db(case.get("db") or [], business)
    runtime.runners.pop(tenant, None)
    result.passed = not result.failures
    result.seconds = time.perf_counter() - started
    return result
