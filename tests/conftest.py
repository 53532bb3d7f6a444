"""Shared fixtures. Tests use real components: SQLite, the machine's PostgreSQL, loopback HTTP.

The network guard lets sockets reach loopback (and Unix sockets) only.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RETAIL = ROOT / "packs" / "retail"
MINI = Path(__file__).resolve().parent / "fixtures" / "packs" / "mini"
PG_ADMIN_URL = os.environ.get("PROCPILOT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
        host = str(address[0])
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise RuntimeError(f"tests may only reach loopback, not {host}")
    _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """Logging is process-global: every test starts from structlog's defaults (no order effects)."""
    import structlog

    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def retail_loaded():  # type: ignore[no-untyped-def]
    from procpilot.packs.loader import load_pack

    return load_pack(RETAIL)


@pytest.fixture(scope="session")
def mini_loaded():  # type: ignore[no-untyped-def]
    from procpilot.packs.loader import load_pack

    return load_pack(MINI)


@pytest.fixture(scope="session")
def minilm():  # type: ignore[no-untyped-def]
    """The real embedding model, loaded once per session (a few seconds)."""
    from procpilot.understanding.embeddings import MiniLMEncoder

    encoder = MiniLMEncoder()
    encoder.load()
    return encoder


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    import sqlalchemy as sa

    name = f"procpilot_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:  # pragma: no cover - a machine without the service
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is needed for these tests: {error}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each storage test runs on SQLite and on PostgreSQL (in a schema of its own, dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite'}"
        return
    yield request.getfixturevalue("pg_schema_url")


@pytest.fixture
def pg_schema_url(postgres_url: str) -> Iterator[str]:
    """The machine's PostgreSQL, in a schema of this test's own (dropped after)."""
    import sqlalchemy as sa

    base = postgres_url
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(sa.text(f"CREATE SCHEMA {schema}"))
    yield f"{base}?options=-csearch_path%3D{schema}"
    with engine.connect() as c:
        c.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def pgvector_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL with pgvector, from the pgserver package, in a temporary folder (the machine's
    PostgreSQL 15 has no pgvector). Yields its admin URL; stopped at the end of the session."""
    runtime = tmp_path_factory.mktemp("runtime")
    runtime.chmod(0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))  # else platformdirs warns
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pgvector"), cleanup_mode="stop")
    uri = server.get_uri()
    yield uri.replace("postgresql://", "postgresql+psycopg://", 1)
    server.cleanup()


@pytest.fixture
def pgvector_url(pgvector_server: str) -> Iterator[str]:
    """A fresh database on the pgvector server for one test."""
    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pgvector_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base, _, query = pgvector_server.partition("?")
    yield f"{base.rsplit('/', 1)[0]}/{name}?{query}"
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


# -- leaving the test run -----------------------------------------------------------------------
#
# DBOS runs each durable process in a thread of its pool. A test's engine is destroyed while some
# processes still wait (as a worker's are when it stops: they are recorded and the next worker
# resumes them), and the interpreter's exit would join those threads. One whose test database was
# dropped after the test retries its connection for ever, so the run would never end. Like
# `procpilot worker`, the run leaves without waiting for them, keeping pytest's exit status.

_EXIT_STATUS = pytest.StashKey[int]()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    import sys
    import threading

    if _EXIT_STATUS in config.stash and any(
        t.name.startswith("dbos-") and t.is_alive() for t in threading.enumerate()
    ):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(config.stash[_EXIT_STATUS])
