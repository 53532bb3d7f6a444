"""``procpilot bench load``: a small burst through a real ``procpilot serve``, and the check that
finds what the database lacks."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa

from procpilot.bench import load
from procpilot.services.platform.container import build
from procpilot.services.platform.settings import Settings
from procpilot.storage.database import Database
from tests.conftest import ROOT


def test_a_small_burst_on_sqlite_loses_nothing() -> None:
    report = load.run(ROOT / "packs", conversations=3, clients=2, databases=("sqlite",))
    row = report["databases"]["sqlite"]
    assert row["errors"] == 0, row["first_errors"]
    assert row["messages"] == 3 * len(load.MESSAGES)
    assert row["lost"] == 0, row["lost_detail"]
    assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"] <= row["max_ms"]
    table = load.figures(report)
    assert table.rows[0][0] == "sqlite" and len(table.rows[0]) == len(table.columns)


def test_the_check_counts_a_missing_message_a_missing_approval_and_a_duplicate(tmp_path: Path) -> None:
    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "workplace").symlink_to(ROOT / "packs" / "workplace")
    settings = Settings(data_dir=tmp_path / "data", packs_dir=packs)
    container = build(settings)
    container.prepare()
    ids = []
    for _ in range(2):
        conversation = None
        for text in load.MESSAGES:
            reply = container.conversations.handle(
                tenant="default", pack_id="workplace", conversation_id=conversation, text=text, user_id="e007"
            )
            conversation = reply.conversation_id
        ids.append(conversation)
    container.close()
    url = settings.resolved_database_url()
    assert load._count_lost(url, ids) == {"messages": 0, "replies": 0, "approvals": 0, "duplicated": 0}
    engine = sa.create_engine(url)
    with engine.begin() as c:
        first = c.execute(
            sa.text("SELECT min(id) FROM messages WHERE conversation_id = :c AND role = 'user'"),
            {"c": ids[0]},
        ).scalar_one()
        c.execute(sa.text("DELETE FROM messages WHERE id = :id"), {"id": first})
        c.execute(sa.text("DELETE FROM approvals WHERE conversation_id = :c"), {"c": ids[1]})
    engine.dispose()
    assert load._count_lost(url, ids) == {"messages": 1, "replies": 0, "approvals": 1, "duplicated": 0}


def test_sqlite_transactions_of_many_threads_take_turns_and_may_nest(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'turns.sqlite'}")
    with database.transaction() as c:
        c.execute(sa.text("CREATE TABLE n (v INTEGER)"))

    def work() -> None:
        for _ in range(25):
            with database.transaction() as c:
                c.execute(sa.text("INSERT INTO n VALUES (1)"))
                with database.transaction() as inner:  # same thread: re-entrant, no deadlock
                    inner.execute(sa.text("SELECT count(*) FROM n")).scalar_one()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    with database.transaction() as c:
        assert c.execute(sa.text("SELECT count(*) FROM n")).scalar_one() == 200
    database.dispose()
