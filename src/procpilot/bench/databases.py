"""A PostgreSQL database made for one benchmark run and dropped after it, whatever happens."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from procpilot.domain.errors import UserError


@contextmanager
def temporary_postgres(admin_url: str, purpose: str) -> Iterator[str]:
    """``with temporary_postgres(url, "load") as database_url:`` a fresh, empty database."""
    name = f"procpilot_{purpose}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        raise UserError(f"the {purpose} benchmark needs PostgreSQL at {admin_url}: {error}") from None
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
