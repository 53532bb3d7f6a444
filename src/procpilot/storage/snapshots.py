"""Versions of packs' flows that conversations ran under (not tenant data: a pack is shared)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from procpilot.storage.tables import pack_snapshots


class SnapshotRepository:
    def __init__(self, connection: sa.Connection) -> None:
        self.c = connection

    def ensure(self, pack_id: str, digest: str, version: str, files: dict[str, str]) -> None:
        if self.get(pack_id, digest) is None:
            try:
                with self.c.begin_nested():
                    self.c.execute(
                        pack_snapshots.insert().values(
                            pack_id=pack_id, digest=digest, version=version, files=files
                        )
                    )
            except sa.exc.IntegrityError:
                pass  # another worker stored the same version first

    def get(self, pack_id: str, digest: str) -> dict[str, Any] | None:
        row = (
            self.c.execute(
                sa.select(pack_snapshots).where(
                    pack_snapshots.c.pack_id == pack_id, pack_snapshots.c.digest == digest
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None
