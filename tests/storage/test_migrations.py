"""The migrations produce exactly the schema that ``tables.py`` describes."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from procpilot.storage.database import Database
from procpilot.storage.tables import metadata


def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    database = Database(database_url)
    database.migrate()
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    database.dispose()
    assert differences == [], "tables.py changed without a migration"


def test_sqlite_runs_in_wal_mode(tmp_path: object) -> None:
    database = Database(f"sqlite:///{tmp_path}/wal.sqlite")
    database.migrate()
    with database.engine.connect() as connection:
        assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    database.dispose()
