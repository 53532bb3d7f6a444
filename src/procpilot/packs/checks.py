"""Checks that need the whole pack: references, reachability, and cycles with no way out."""

from __future__ import annotations

import jinja2

from procpilot.domain import expressions
from procpilot.domain.durations import parse_duration
from procpilot.domain.errors import ExpressionError, Problem, UserError
from procpilot.domain.flows import Flow
from procpilot.domain.steps import END, ApprovalStep, CallFlowStep, CallStep, CollectStep, SetStep, Step

_TEMPLATE_ENV = jinja2.Environment()


def _file_line(flow: Flow, step: Step | None = None) -> tuple[str, int | None]:
    file, _, line = flow.source.rpartition(":")
    if step is not None and step.line:
        return file, step.line
    return file, int(line) if line.isdigit() else None


def _successors(flow: Flow, index: int) -> list[str]:
    step = flow.steps[index]
    found = list(step.targets())
    if step.falls_through():
        found.append(flow.steps[index + 1].id if index + 1 < len(flow.steps) else END)
    return found


def check_flows(flows: dict[str, Flow], tools: set[str]) -> list[Problem]:
    """Every problem in ``flows`` given the names of the tools that exist."""
    problems: list[Problem] = []
    for flow in flows.values():
        problems += _check_flow(flow, flows, tools)
    return problems


def _check_flow(flow: Flow, flows: dict[str, Flow], tools: set[str]) -> list[Problem]:
    problems: list[Problem] = []

    def report(step: Step | None, message: str, expected: str = "", found: str = "") -> None:
        file, line = _file_line(flow, step)
        prefix = f"flow {flow.id!r}" + (f", step {step.id!r}" if step is not None else "")
        problems.append(Problem(file, line, f"{prefix}: {message}", expected, found))

    ids = [step.id for step in flow.steps]
    for step in flow.steps:
        if ids.count(step.id) > 1:
            report(step, "step id is used more than once", "unique step ids", step.id)
            break
    known_slots = set(flow.slots)
    for step in flow.steps:
        known_slots.update(step.slots_written())
    for name, slot in flow.slots.items():
        if slot.is_choice and not slot.options and not slot.options_from:
            report(None, f"choice slot {name!r} has no options", "options or options_from")
        if slot.options_from and slot.options_from.split(".")[0] not in known_slots:
            report(
                None,
                f"slot {name!r} takes options from unknown slot {slot.options_from!r}",
                "a slot of this flow",
            )
        if slot.options_from and not slot.option_value:
            report(
                None, f"slot {name!r} takes options from a list but has no option_value", "option_value: KEY"
            )
    for step in flow.steps:
        if isinstance(step, CollectStep) and step.slot not in flow.slots:
            report(step, f"collects undeclared slot {step.slot!r}", "a slot declared under slots:", step.slot)
        if isinstance(step, CallStep) and step.tool not in tools:
            report(
                step,
                f"calls unknown tool {step.tool!r}",
                "one of: " + ", ".join(sorted(tools))[:200],
                step.tool,
            )
        if isinstance(step, CallFlowStep):
            if step.flow not in flows:
                report(step, f"calls unknown flow {step.flow!r}", "a flow id of this pack", step.flow)
            elif step.flow == flow.id:
                report(step, "calls its own flow", "another flow")
        if isinstance(step, ApprovalStep) and not (step.role or step.assignee):
            report(step, "approval names nobody to decide", "approval.role or approval.assignee")
        if isinstance(step, SetStep):
            for target in step.values:
                if "." in target and not target.startswith("conversation."):
                    report(step, f"cannot set {target!r}", "a slot name or conversation.NAME", target)
        for target in step.targets():
            if target != END and target not in ids:
                report(step, f"jumps to unknown step {target!r}", "a step id of this flow or END", target)
        durations = [
            getattr(step, name)
            for name in ("timeout", "retry_delay", "duration")
            if isinstance(getattr(step, name, None), str) and "{" not in getattr(step, name)
        ]
        for duration in durations:
            try:
                parse_duration(duration)
            except UserError as error:
                report(step, str(error), "a duration like 30m, 48h or 2d", duration)
        if isinstance(step, CallStep) and step.retry_delay and not step.retries:
            report(step, "retry_delay without retries", "retries: N (how many more attempts)")
        for source in step.expressions():
            try:
                used = expressions.names(source)
            except ExpressionError as error:
                report(step, f"bad expression: {error}", "a valid expression", source)
                continue
            for name in used:
                root, _, leaf = name.partition(".")
                if root == "slots" and leaf and leaf not in known_slots:
                    report(step, f"expression uses unknown slot {leaf!r}", "a slot of this flow", source)
                elif root not in ("slots", "conversation", "user", "context", "result", "item"):
                    report(
                        step,
                        f"expression uses unknown name {root!r}",
                        "slots., conversation., user., context.",
                        source,
                    )
        for template in step.templates():
            try:
                _TEMPLATE_ENV.parse(template)
            except jinja2.TemplateSyntaxError as error:
                report(step, f"bad template: {error.message}", "a valid Jinja2 template", template[:60])

    if problems:
        return problems
    # Reachability from the first step, and whether every reachable step can still get to END.
    index_of = {step.id: i for i, step in enumerate(flow.steps)}
    reachable, todo = set(), [flow.steps[0].id]
    while todo:
        current = todo.pop()
        if current in reachable or current == END:
            continue
        reachable.add(current)
        todo.extend(_successors(flow, index_of[current]))
    for step in flow.steps:
        if step.id not in reachable:
            report(step, "is unreachable: no step leads to it", "a step that some path reaches")
    ends = {END}
    changed = True
    while changed:
        changed = False
        for step in flow.steps:
            if step.id in ends:
                continue
            successors = _successors(flow, index_of[step.id])
            terminal = not step.falls_through() and not step.targets()
            if terminal or any(s in ends for s in successors):
                ends.add(step.id)
                changed = True
    for step in flow.steps:
        if step.id in reachable and step.id not in ends:
            report(
                step, "is in a cycle with no way out: the flow can never finish from here", "a path to END"
            )
    return problems
