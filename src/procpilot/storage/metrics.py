"""Totals across tenants for ``/metrics``: read from the records, so every worker's work counts."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from procpilot.storage.tables import (
    approvals,
    conversations,
    handoffs,
    model_calls,
    process_instances,
    tool_calls,
)


def totals(c: sa.Connection) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Each metric's samples as (labels, value)."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}

    def grouped(name: str, query: sa.Select, *labels: str) -> None:
        out[name] = [
            ({label: str(value) for label, value in zip(labels, row[:-1], strict=True)}, float(row[-1] or 0))
            for row in c.execute(query)
        ]

    count = sa.func.count()
    grouped(
        "conversations",
        sa.select(conversations.c.tenant_id, count).group_by(conversations.c.tenant_id),
        "tenant",
    )
    grouped(
        "flows",
        sa.select(process_instances.c.tenant_id, process_instances.c.status, count).group_by(
            process_instances.c.tenant_id, process_instances.c.status
        ),
        "tenant",
        "status",
    )
    grouped(
        "tool_calls",
        sa.select(tool_calls.c.tenant_id, tool_calls.c.status, count).group_by(
            tool_calls.c.tenant_id, tool_calls.c.status
        ),
        "tenant",
        "status",
    )
    grouped(
        "approvals_pending",
        sa.select(approvals.c.tenant_id, count)
        .where(approvals.c.status == "pending")
        .group_by(approvals.c.tenant_id),
        "tenant",
    )
    _handoffs(c, out)
    out["model_tokens"] = []
    rows = c.execute(
        sa.select(
            model_calls.c.tenant_id,
            sa.func.sum(model_calls.c.prompt_tokens),
            sa.func.sum(model_calls.c.completion_tokens),
        ).group_by(model_calls.c.tenant_id)
    )
    for tenant, prompt, completion in rows:
        out["model_tokens"].append(({"tenant": tenant, "kind": "prompt"}, float(prompt or 0)))
        out["model_tokens"].append(({"tenant": tenant, "kind": "completion"}, float(completion or 0)))
    return out


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _handoffs(c: sa.Connection, out: dict[str, list[tuple[dict[str, str], float]]]) -> None:
    """The agents' queue: how many wait now and the longest wait, and the waits of those taken
    (request to take, summed and counted), per tenant. Computed here: date arithmetic differs
    between the databases."""
    now = dt.datetime.now(dt.UTC)
    waiting: dict[str, int] = {}
    oldest: dict[str, float] = {}
    waited: dict[str, list[float]] = {}
    rows = c.execute(
        sa.select(handoffs.c.tenant_id, handoffs.c.status, handoffs.c.requested_at, handoffs.c.taken_at)
    )
    for tenant, status, requested, taken in rows:
        if status == "waiting":
            waiting[tenant] = waiting.get(tenant, 0) + 1
            oldest[tenant] = max(oldest.get(tenant, 0.0), (now - _utc(requested)).total_seconds())
        if taken is not None:
            waited.setdefault(tenant, []).append(max(0.0, (_utc(taken) - _utc(requested)).total_seconds()))
    out["handoffs_waiting"] = [({"tenant": t}, float(n)) for t, n in waiting.items()]
    out["handoff_oldest_wait"] = [({"tenant": t}, s) for t, s in oldest.items()]
    out["handoff_wait_sum"] = [({"tenant": t}, sum(w)) for t, w in waited.items()]
    out["handoff_wait_count"] = [({"tenant": t}, float(len(w))) for t, w in waited.items()]
