"""Connecting, migrating, and the unit of work."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config


def aware(value: dt.datetime) -> dt.datetime:
    """A stored time with its zone: SQLite hands datetimes back naive; every one was written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def sqlite_module() -> Any:
    """A DB-API ``sqlite3`` module that can load extensions: the interpreter's own, else pysqlite3.

    Some Python builds (pyenv's, by default) leave out ``enable_load_extension``; sqlite-vec needs it.
    """
    import sqlite3

    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    try:
        from pysqlite3 import dbapi2  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # pragma: no cover - platforms without the wheel: vectors scored in Python
        return sqlite3
    return dbapi2


class Database:
    """One database (SQLite file or PostgreSQL URL) shared by the repositories.

    On SQLite the transactions of one process take turns (``_turns``): SQLite lets one writer in
    at a time, and a writer that finds the file locked sleeps in SQLite's busy handler for up to
    100 ms a try, so under a burst some waited seconds while others went first (p99 2 s, the
    longest 6 s, on 200 conversations from 20 clients). Waiting on a lock in the process, each
    is let in the moment the one before it commits; the busy handler is left for other
    processes (a worker) on the same file.

    ``vectors`` says how knowledge vectors are searched here: ``sqlite-vec`` or ``pgvector`` inside
    the query, or ``python`` (an exact scan in NumPy over the rows the query selected).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.sqlite_vec = False
        self._vectors: str | None = None
        # Re-entrant: a repository call inside a transaction may open another on the same thread.
        self._turns = threading.RLock() if self.is_sqlite else None
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            kwargs["module"] = sqlite_module()
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs["pool_pre_ping"] = True
        self.engine = sa.create_engine(url, **kwargs)
        if self.is_sqlite:
            sa.event.listen(self.engine, "connect", self._on_sqlite_connect)

    def _on_sqlite_connect(self, dbapi_connection: Any, record: Any) -> None:
        _sqlite_pragmas(dbapi_connection, record)
        self.sqlite_vec = _load_sqlite_vec(dbapi_connection)

    @property
    def vectors(self) -> str:
        """How vector search runs on this database: sqlite-vec, pgvector or python."""
        if self._vectors is None:
            if self.is_sqlite:
                with self.engine.connect():
                    pass
                self._vectors = "sqlite-vec" if self.sqlite_vec else "python"
            else:
                with self.engine.connect() as connection:
                    found = connection.execute(
                        sa.text(
                            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
                            " AND table_name = 'kb_chunks' AND column_name = 'embedding_vec'"
                        )
                    ).scalar()
                self._vectors = "pgvector" if found else "python"
        return self._vectors

    def migrate(self) -> None:
        """Bring the schema to the newest migration (safe to call on every start)."""
        location = resources.files("procpilot.storage").joinpath("migrations")
        with resources.as_file(location) as path, self.engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(path))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """A connection inside a transaction: committed on success, rolled back on error."""
        if self._turns is None:
            with self.engine.begin() as connection:
                yield connection
            return
        with self._turns, self.engine.begin() as connection:
            yield connection

    def ping(self) -> bool:
        """Whether the database answers a query."""
        try:
            with self.engine.connect() as c:
                c.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()


def _load_sqlite_vec(dbapi_connection: Any) -> bool:
    """Load sqlite-vec into a new connection; False where this SQLite cannot load extensions."""
    try:
        import sqlite_vec

        dbapi_connection.enable_load_extension(True)
        sqlite_vec.load(dbapi_connection)
        dbapi_connection.enable_load_extension(False)
    except Exception:  # no extension loading, or no sqlite-vec: vectors are scored in Python
        return False
    return True


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
