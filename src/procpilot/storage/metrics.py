"""Totals across tenants for ``/metrics``: read from the records, so every worker's work counts."""

from __future__ import annotations

import sqlalchemy as sa

from procpilot.storage.tables import approvals, conversations, model_calls, process_instances, tool_calls


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
