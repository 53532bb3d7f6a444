"""Repositories of training: model versions, their events (the audit trail) and training jobs.
Every query is scoped to one tenant."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from procpilot.storage.database import aware
from procpilot.storage.tables import model_events, model_versions, training_jobs

PROMOTED = "promoted"
CANDIDATE = "candidate"
RETIRED = "retired"
REJECTED = "rejected"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _row(row: Any) -> dict[str, Any]:
    out = dict(row)
    for key in ("created_at", "decided_at", "updated_at"):
        if out.get(key) is not None:
            out[key] = aware(out[key])
    return out


class TrainingRepository:
    def __init__(self, connection: sa.Connection, tenant: str) -> None:
        self.c = connection
        self.tenant = tenant

    # --- model versions ---

    def add_version(self, **values: Any) -> None:
        self.c.execute(model_versions.insert().values(tenant_id=self.tenant, **values))

    def version(self, version_id: str) -> dict[str, Any] | None:
        row = (
            self.c.execute(
                sa.select(model_versions).where(
                    model_versions.c.tenant_id == self.tenant, model_versions.c.id == version_id
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _row(row)

    def versions(self, pack_id: str | None = None, use: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(model_versions).where(model_versions.c.tenant_id == self.tenant)
        if pack_id:
            query = query.where(model_versions.c.pack_id == pack_id)
        if use:
            query = query.where(model_versions.c.use == use)
        rows = self.c.execute(query.order_by(model_versions.c.created_at.desc(), model_versions.c.id.desc()))
        return [_row(r) for r in rows.mappings()]

    def promoted(self, pack_id: str, use: str) -> dict[str, Any] | None:
        found = [v for v in self.versions(pack_id, use) if v["status"] == PROMOTED]
        return found[0] if found else None

    def set_status(self, version_id: str, status: str, by: str | None) -> None:
        self.c.execute(
            model_versions.update()
            .where(model_versions.c.tenant_id == self.tenant, model_versions.c.id == version_id)
            .values(status=status, decided_by=by, decided_at=_now() if by else None)
        )

    def set_figures(self, version_id: str, figures: dict[str, Any]) -> None:
        self.c.execute(
            model_versions.update()
            .where(model_versions.c.tenant_id == self.tenant, model_versions.c.id == version_id)
            .values(figures=figures)
        )

    def all_promoted(self) -> list[dict[str, Any]]:
        return [v for v in self.versions() if v["status"] == PROMOTED]

    # --- the audit trail ---

    def add_event(self, version_id: str, action: str, actor: str, data: dict[str, Any]) -> None:
        self.c.execute(
            model_events.insert().values(
                tenant_id=self.tenant, version_id=version_id, action=action, actor=actor, data=data
            )
        )

    def events(self, version_id: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(model_events).where(model_events.c.tenant_id == self.tenant)
        if version_id:
            query = query.where(model_events.c.version_id == version_id)
        return [_row(r) for r in self.c.execute(query.order_by(model_events.c.id)).mappings()]

    # --- jobs ---

    def add_job(self, **values: Any) -> None:
        self.c.execute(training_jobs.insert().values(tenant_id=self.tenant, **values))

    def job(self, job_id: str) -> dict[str, Any] | None:
        row = (
            self.c.execute(
                sa.select(training_jobs).where(
                    training_jobs.c.tenant_id == self.tenant, training_jobs.c.id == job_id
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _row(row)

    def jobs(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.c.execute(
            sa.select(training_jobs)
            .where(training_jobs.c.tenant_id == self.tenant)
            .order_by(training_jobs.c.created_at.desc(), training_jobs.c.id.desc())
            .limit(limit)
        )
        return [_row(r) for r in rows.mappings()]

    def update_job(self, job_id: str, **values: Any) -> None:
        self.c.execute(
            training_jobs.update()
            .where(training_jobs.c.tenant_id == self.tenant, training_jobs.c.id == job_id)
            .values(updated_at=_now(), **values)
        )
