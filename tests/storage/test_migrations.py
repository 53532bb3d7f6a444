"""The migrations produce exactly the schema that ``tables.py`` describes."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from procpilot.storage.database import Database
from procpilot.storage.tables import DIALECT_ONLY, metadata


def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    database = Database(database_url)
    database.migrate()
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": _not_dialect_only, "include_name": _not_dialect_only_name}
        )
        differences = compare_metadata(context, metadata)
    database.dispose()
    assert differences == [], "tables.py changed without a migration"


def _not_dialect_only_name(name: str | None, type_: str, parent_names: object) -> bool:
    # The FTS5 table and its shadow tables (kb_fts_data, ...) exist on SQLite only.
    return not (name or "").startswith(DIALECT_ONLY)


def _not_dialect_only(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (name or "").startswith(DIALECT_ONLY)


def test_sqlite_runs_in_wal_mode(tmp_path: object) -> None:
    database = Database(f"sqlite:///{tmp_path}/wal.sqlite")
    database.migrate()
    with database.engine.connect() as connection:
        assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    database.dispose()
