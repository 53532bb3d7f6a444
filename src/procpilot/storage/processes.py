"""Process instances (one per flow run) and approval tasks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from procpilot.storage.tables import approvals, process_instances


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ProcessRepository:
    """One tenant's process instances and approvals."""

    def __init__(self, connection: sa.Connection, tenant_id: str) -> None:
        self.c = connection
        self.tenant = tenant_id

    def start_instance(
        self, instance_id: str, conversation_id: str, pack_id: str, version: str, flow_id: str
    ) -> None:
        self.c.execute(
            process_instances.insert().values(
                id=instance_id,
                tenant_id=self.tenant,
                conversation_id=conversation_id,
                pack_id=pack_id,
                pack_version=version,
                flow_id=flow_id,
                status="running",
            )
        )

    def end_instance(self, instance_id: str, status: str) -> None:
        self.c.execute(
            process_instances.update()
            .where(process_instances.c.tenant_id == self.tenant, process_instances.c.id == instance_id)
            .values(status=status, ended_at=_now())
        )

    def instances(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(process_instances).where(process_instances.c.tenant_id == self.tenant)
        if conversation_id:
            query = query.where(process_instances.c.conversation_id == conversation_id)
        return [dict(r) for r in self.c.execute(query.order_by(process_instances.c.started_at)).mappings()]

    def create_approval(self, **values: Any) -> str:
        """Create the task unless one with this key exists; returns its id either way."""
        existing = self.c.execute(
            sa.select(approvals.c.id).where(
                approvals.c.tenant_id == self.tenant, approvals.c.key == values["key"]
            )
        ).scalar()
        if existing:
            return str(existing)
        self.c.execute(approvals.insert().values(tenant_id=self.tenant, status="pending", **values))
        return str(values["id"])

    def approval(self, approval_id: str) -> dict[str, Any] | None:
        row = (
            self.c.execute(
                sa.select(approvals).where(
                    approvals.c.tenant_id == self.tenant, approvals.c.id == approval_id
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def pending_approvals(self) -> list[dict[str, Any]]:
        rows = self.c.execute(
            sa.select(approvals)
            .where(approvals.c.tenant_id == self.tenant, approvals.c.status == "pending")
            .order_by(approvals.c.created_at)
        ).mappings()
        return [dict(r) for r in rows]

    def decide(self, approval_id: str, status: str, by: str | None, comment: str) -> bool:
        """Decide a pending task; False when it was already decided (the caller lost the race)."""
        result = self.c.execute(
            approvals.update()
            .where(
                approvals.c.tenant_id == self.tenant,
                approvals.c.id == approval_id,
                approvals.c.status == "pending",
            )
            .values(status=status, decided_by=by, comment=comment, decided_at=_now())
        )
        return result.rowcount == 1
