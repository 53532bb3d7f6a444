"""Wrong passwords sent at once for one account: exactly as many are checked as the limit allows."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from procpilot.domain.errors import NotAuthenticated, TooManyAttempts
from procpilot.services.access.accounts import LOCK_AFTER_FAILURES, AccountService
from procpilot.storage.accounts import AccountRepository
from procpilot.storage.database import Database


def test_forty_wrong_passwords_at_once_check_only_five(database_url: str, tmp_path: Path) -> None:
    database = Database(database_url or f"sqlite:///{tmp_path / 'accounts.sqlite'}")
    database.migrate()
    try:
        with database.transaction() as c:
            AccountRepository(c).ensure_tenant("acme")
        accounts = AccountService(database, "default")
        accounts.ensure_account("acme", "emma", "correct horse battery", ("agent_user",))

        def attempt(_: int) -> str:
            try:
                accounts.login("acme", "emma", "a wrong guess")
            except TooManyAttempts:  # a NotAuthenticated too: catch it first
                return "locked"
            except NotAuthenticated:
                return "checked"
            return "logged in"

        with ThreadPoolExecutor(max_workers=16) as pool:
            outcomes = list(pool.map(attempt, range(40)))
        assert outcomes.count("checked") == LOCK_AFTER_FAILURES
        assert outcomes.count("locked") == 40 - LOCK_AFTER_FAILURES
        # Locked now even for the right password, and the refused attempts did not add failures.
        try:
            accounts.login("acme", "emma", "correct horse battery")
            raise AssertionError("the account should be locked")
        except TooManyAttempts:
            pass
        with database.transaction() as c:
            since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
            assert len(AccountRepository(c).failures_since("acme", "emma", since)) == LOCK_AFTER_FAILURES
    finally:
        database.dispose()
