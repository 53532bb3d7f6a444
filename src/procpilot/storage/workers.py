"""Worker leases: heartbeats in the database's own clock, and claiming a dead worker's work once."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from procpilot.storage.tables import worker_leases


def _cutoff(connection: sa.Connection, seconds: float) -> Any:
    if connection.dialect.name == "sqlite":
        return sa.func.datetime("now", f"-{int(seconds)} seconds")
    return sa.func.now() - sa.text(f"interval '{float(seconds)} seconds'")


class LeaseRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self.c = connection

    def beat(self, executor_id: str) -> bool:
        """Renew this worker's lease; False when it had none (new, or claimed by another worker)."""
        updated = self.c.execute(
            worker_leases.update()
            .where(worker_leases.c.executor_id == executor_id)
            .values(heartbeat_at=sa.func.current_timestamp())
        ).rowcount
        return updated == 1

    def register(self, executor_id: str) -> None:
        if not self.beat(executor_id):
            self.c.execute(worker_leases.insert().values(executor_id=executor_id))

    def expired(self, seconds: float) -> list[str]:
        rows = self.c.execute(
            sa.select(worker_leases.c.executor_id).where(
                worker_leases.c.heartbeat_at < _cutoff(self.c, seconds)
            )
        )
        return [r for (r,) in rows]

    def claim(self, executor_id: str, seconds: float) -> bool:
        """Take over a worker whose lease expired; exactly one claimer succeeds.

        The dead worker's row stays, renewed, until the claimer has resumed all its processes
        (``forget``): a claimer that dies half-way lets the row expire again, and the next claimer
        resumes the rest.
        """
        renewed = self.c.execute(
            worker_leases.update()
            .where(
                worker_leases.c.executor_id == executor_id,
                worker_leases.c.heartbeat_at < _cutoff(self.c, seconds),
            )
            .values(heartbeat_at=sa.func.current_timestamp())
        ).rowcount
        return renewed == 1

    def touch(self, executor_id: str) -> None:
        self.c.execute(
            worker_leases.update()
            .where(worker_leases.c.executor_id == executor_id)
            .values(heartbeat_at=sa.func.current_timestamp())
        )

    def forget(self, executor_id: str) -> None:
        self.c.execute(worker_leases.delete().where(worker_leases.c.executor_id == executor_id))

    def release(self, executor_id: str) -> None:
        """Let the others take over at once: the lease is marked as long expired."""
        self.c.execute(
            worker_leases.update()
            .where(worker_leases.c.executor_id == executor_id)
            .values(heartbeat_at=sa.literal("1970-01-01 00:00:00").cast(sa.DateTime(timezone=True)))
        )

    def live(self) -> list[str]:
        return [r for (r,) in self.c.execute(sa.select(worker_leases.c.executor_id))]
