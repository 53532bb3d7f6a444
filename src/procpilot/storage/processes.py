"""Process instances (one per flow run) and approval tasks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from procpilot.storage.tables import approvals, conversations, process_instances


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

    def instances(
        self,
        conversation_id: str | None = None,
        *,
        user_id: str | None = None,
        status: str | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """The tenant's instances (oldest first), with who started each; filtered when asked."""
        query = (
            sa.select(process_instances, conversations.c.user_id)
            .select_from(
                process_instances.join(
                    conversations,
                    sa.and_(
                        conversations.c.id == process_instances.c.conversation_id,
                        conversations.c.tenant_id == process_instances.c.tenant_id,
                    ),
                )
            )
            .where(process_instances.c.tenant_id == self.tenant)
        )
        if conversation_id:
            query = query.where(process_instances.c.conversation_id == conversation_id)
        if user_id is not None:
            query = query.where(conversations.c.user_id == user_id)
        if status:
            query = query.where(process_instances.c.status == status)
        query = query.order_by(process_instances.c.started_at, process_instances.c.id).limit(limit)
        return [dict(r) for r in self.c.execute(query).mappings()]

    def instance(self, instance_id: str) -> dict[str, Any] | None:
        found = [i for i in self.instances(instance_id.split("/")[0]) if i["id"] == instance_id]
        return found[0] if found else None

    def approvals(
        self,
        *,
        conversation_id: str | None = None,
        instance_id: str | None = None,
        status: str | None = None,
        assignee: str | None = None,
        roles: tuple[str, ...] | None = None,
    ) -> list[dict[str, Any]]:
        """Approval tasks, oldest first. With ``assignee``/``roles``: those assigned to that person
        or to one of their roles (a person's inbox)."""
        query = sa.select(approvals).where(approvals.c.tenant_id == self.tenant)
        if conversation_id:
            query = query.where(approvals.c.conversation_id == conversation_id)
        if instance_id:
            query = query.where(approvals.c.instance_id == instance_id)
        if status:
            query = query.where(approvals.c.status == status)
        if assignee is not None or roles is not None:
            mine = [approvals.c.assignee == assignee] if assignee else []
            if roles:
                mine.append(sa.and_(approvals.c.assignee.is_(None), approvals.c.role.in_(roles)))
            query = query.where(sa.or_(*mine) if mine else sa.false())
        return [dict(r) for r in self.c.execute(query.order_by(approvals.c.created_at)).mappings()]

    def withdraw(self, approval_id: str, by: str) -> bool:
        """Withdraw a pending task whose process was cancelled."""
        return self.decide(approval_id, "withdrawn", by, "the process was cancelled")

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

    def decide(
        self, approval_id: str, status: str, by: str | None, comment: str, text: str | None = None
    ) -> bool:
        """Decide a pending task; False when it was already decided (the caller lost the race)."""
        result = self.c.execute(
            approvals.update()
            .where(
                approvals.c.tenant_id == self.tenant,
                approvals.c.id == approval_id,
                approvals.c.status == "pending",
            )
            .values(status=status, decided_by=by, comment=comment, decided_at=_now(), decided_text=text)
        )
        return result.rowcount == 1

    def mark_resumed(self, approval_id: str) -> None:
        """The flow has the decision: nothing is left to resume."""
        self.c.execute(
            approvals.update()
            .where(approvals.c.tenant_id == self.tenant, approvals.c.id == approval_id)
            .values(resumed_at=_now())
        )


def decided_unresumed(connection: sa.Connection, seconds: float, limit: int = 100) -> list[tuple[str, str]]:
    """(tenant, approval) pairs decided more than ``seconds`` ago whose flow never got the
    decision (the deciding process died in between). A system query across tenants, for workers."""
    cutoff = _now() - dt.timedelta(seconds=seconds)
    rows = connection.execute(
        sa.select(approvals.c.tenant_id, approvals.c.id)
        .where(
            approvals.c.status != "pending",
            approvals.c.resumed_at.is_(None),
            approvals.c.decided_at < cutoff,
        )
        .order_by(approvals.c.decided_at)
        .limit(limit)
    )
    return [(tenant, approval) for tenant, approval in rows]
