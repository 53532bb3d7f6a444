"""Storage on SQLite and PostgreSQL: migrations, tenancy, optimistic concurrency, append-only events."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from procpilot.domain.errors import StateConflict
from procpilot.storage.accounts import AccountRepository
from procpilot.storage.conversations import ConversationRepository
from procpilot.storage.database import Database
from procpilot.storage.processes import ProcessRepository
from procpilot.storage.tables import SYSTEM_TABLES


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    database.migrate()  # idempotent: a restart migrates again
    with database.transaction() as c:
        accounts = AccountRepository(c)
        accounts.ensure_tenant("acme")
        accounts.ensure_tenant("globex")
    yield database
    database.dispose()


def test_every_table_has_a_tenant(db: Database) -> None:
    inspector = sa.inspect(db.engine)
    for table in inspector.get_table_names():
        # FTS5's own shadow tables hold index pages, not rows; kb_fts itself has a tenant column.
        if table in ("tenants", "alembic_version", *SYSTEM_TABLES) or table.startswith("kb_fts_"):
            continue
        columns = {c["name"] for c in inspector.get_columns(table)}
        assert "tenant_id" in columns, f"{table} has no tenant_id"


def test_conversation_state_and_history(db: Database) -> None:
    with db.transaction() as c:
        repo = ConversationRepository(c, "acme")
        repo.create("c1", "retail", "u1", "api")
        version = repo.save_state("c1", {"frames": []}, 0, "active")
        repo.add_message("c1", "user", "hello")
        repo.add_events("c1", [{"kind": "flow.started", "data": {"flow": "x"}}])
    with db.transaction() as c:
        repo = ConversationRepository(c, "acme")
        record = repo.get("c1")
        assert record is not None and record.version == version == 1
        assert [m["text"] for m in repo.messages("c1")] == ["hello"]
        assert repo.events("c1")[0]["data"] == {"flow": "x"}


def test_another_tenant_sees_nothing(db: Database) -> None:
    with db.transaction() as c:
        ConversationRepository(c, "acme").create("secret", "retail", None, "api")
        ConversationRepository(c, "acme").add_message("secret", "user", "my card number")
    with db.transaction() as c:
        other = ConversationRepository(c, "globex")
        assert other.get("secret") is None
        assert other.messages("secret") == []
        with pytest.raises(StateConflict):
            other.save_state("secret", {}, 0, "active")


def test_a_stale_writer_gets_a_conflict(db: Database) -> None:
    with db.transaction() as c:
        ConversationRepository(c, "acme").create("c2", "retail", None, "api")
    with db.transaction() as c:
        ConversationRepository(c, "acme").save_state("c2", {"a": 1}, 0, "active")
    with pytest.raises(StateConflict), db.transaction() as c:
        ConversationRepository(c, "acme").save_state("c2", {"a": 2}, 0, "active")


def test_events_are_append_only(db: Database) -> None:
    with db.transaction() as c:
        repo = ConversationRepository(c, "acme")
        repo.create("c3", "retail", None, "api")
        repo.add_events("c3", [{"kind": "k", "data": {}}])
    for statement in ("UPDATE events SET kind = 'forged'", "DELETE FROM events"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.transaction() as c:
            c.execute(sa.text(statement))


def test_only_one_of_two_concurrent_decisions_wins(db: Database) -> None:
    with db.transaction() as c:
        ConversationRepository(c, "acme").create("c4", "retail", None, "api")
        ProcessRepository(c, "acme").create_approval(
            id="a1", conversation_id="c4", flow_id="f", step_id="s", key="c4:k", role="manager", summary="x"
        )
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def decide(who: str) -> None:
        barrier.wait()
        with db.transaction() as c:
            results.append(ProcessRepository(c, "acme").decide("a1", "approved", who, ""))

    threads = [threading.Thread(target=decide, args=(name,)) for name in ("ann", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]


def test_creating_an_approval_twice_with_one_key_gives_one_task(db: Database) -> None:
    with db.transaction() as c:
        ConversationRepository(c, "acme").create("c5", "retail", None, "api")
        repo = ProcessRepository(c, "acme")
        first = repo.create_approval(
            id="a2", conversation_id="c5", flow_id="f", step_id="s", key="c5:k", summary="x"
        )
        second = repo.create_approval(
            id="a3", conversation_id="c5", flow_id="f", step_id="s", key="c5:k", summary="x"
        )
        assert first == second == "a2"
        assert len(repo.pending_approvals()) == 1


def test_users_and_roles(db: Database) -> None:
    with db.transaction() as c:
        accounts = AccountRepository(c)
        accounts.ensure_user("acme", "u1", "ann", role_names=("approver", "admin"))
        accounts.ensure_user("acme", "u1", "ann", role_names=("admin",))
        assert accounts.roles_of("acme", "u1") == ["admin", "approver"]
        assert accounts.roles_of("globex", "u1") == []
