"""Stored responses of POST requests sent with an ``Idempotency-Key``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from procpilot.storage.tables import idempotency_records


class IdempotencyRepository:
    """One caller's keys: a key is unique per tenant and principal, never shared between callers."""

    def __init__(self, connection: sa.Connection, tenant_id: str, principal: str) -> None:
        self.c = connection
        self.tenant = tenant_id
        self.principal = principal

    def _where(self, key: str) -> Any:
        t = idempotency_records.c
        return sa.and_(t.tenant_id == self.tenant, t.principal == self.principal, t.key == key)

    def get(self, key: str) -> dict[str, Any] | None:
        row = self.c.execute(sa.select(idempotency_records).where(self._where(key))).mappings().first()
        return dict(row) if row else None

    def claim(self, key: str, request_hash: str) -> bool:
        """Record that a request with this key is under way; False when the key was used already."""
        try:
            with self.c.begin_nested():
                self.c.execute(
                    idempotency_records.insert().values(
                        tenant_id=self.tenant, principal=self.principal, key=key, request_hash=request_hash
                    )
                )
        except sa.exc.IntegrityError:
            return False
        return True

    def complete(self, key: str, status_code: int, content_type: str, body: str) -> None:
        self.c.execute(
            idempotency_records.update()
            .where(self._where(key))
            .values(status_code=status_code, content_type=content_type, body=body)
        )

    def release(self, key: str) -> None:
        """Forget a claim whose request failed, so the same key may be tried again."""
        self.c.execute(idempotency_records.delete().where(self._where(key)))

    def purge(self, older_than: dt.datetime) -> int:
        result = self.c.execute(
            idempotency_records.delete().where(idempotency_records.c.created_at < older_than)
        )
        return result.rowcount
