"""Storage: SQLAlchemy tables, repositories and Alembic migrations.

SQLite (WAL) by default, PostgreSQL by URL; one code path. Every row carries a ``tenant_id``.
Nothing outside this package sees a SQLAlchemy type: repositories take and return plain data.
"""

from procpilot.storage.database import Database

__all__ = ["Database"]
