"""Cron expressions of scheduled flows, and the pack checks on schedules and durations."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from procpilot.domain.durations import describe
from procpilot.domain.errors import PackError, UserError
from procpilot.domain.schedules import Cron
from procpilot.packs.loader import load_pack

UTC = dt.UTC


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "now", "expected"),
    [
        ("0 9 * * MON-FRI", at(2026, 11, 22, 12), at(2026, 11, 20, 9)),  # Sunday: Friday's run
        ("0 9 * * MON-FRI", at(2026, 11, 23, 9), at(2026, 11, 23, 9)),  # exactly on time
        ("*/15 * * * *", at(2026, 11, 23, 10, 44, 59), at(2026, 11, 23, 10, 30)),
        ("30 8 1 * *", at(2026, 11, 22), at(2026, 11, 1, 8, 30)),
        ("0 0 1 JAN *", at(2026, 11, 22), at(2026, 1, 1)),
        ("*/2 * * * * *", at(2026, 11, 23, 10, 0, 5), at(2026, 11, 23, 10, 0, 4)),
        ("0 12 * * 0", at(2026, 11, 23), at(2026, 11, 22, 12)),  # 0 is Sunday
        ("0 12 * * 7", at(2026, 11, 23), at(2026, 11, 22, 12)),  # and so is 7
        ("0 0 13 * FRI", at(2026, 11, 23), at(2026, 11, 20)),  # both days restricted: either
    ],
)
def test_the_latest_time_an_expression_names(
    expression: str, now: dt.datetime, expected: dt.datetime
) -> None:
    assert Cron.parse(expression).previous(now) == expected


def test_times_are_read_in_the_packs_time_zone() -> None:
    # 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer
    assert Cron.parse("0 9 * * *").previous(at(2026, 11, 23, 12), "Europe/Berlin") == at(2026, 11, 23, 8)
    assert Cron.parse("0 9 * * *").previous(at(2026, 7, 1, 12), "Europe/Berlin") == at(2026, 7, 1, 7)


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("0 9 * *", "expected five fields"),
        ("61 * * * *", "outside 0-59"),
        ("0 9 * * FUNDAY", "is not a number"),
        ("*/0 * * * *", "a step must be at least 1"),
        ("0 5-2 * * *", "outside 0-23"),
    ],
)
def test_a_bad_expression_says_what_is_wrong(expression: str, problem: str) -> None:
    with pytest.raises(UserError, match=problem):
        Cron.parse(expression)


def test_durations_read_well() -> None:
    assert [describe(s) for s in (1, 90, 3600, 5400, 172800, 694800)] == [
        "1 second",
        "1 minute 30 seconds",
        "1 hour",
        "1 hour 30 minutes",
        "2 days",
        "1 week 1 day",
    ]


def test_the_pack_check_reports_schedules_and_durations(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "pack.yaml").write_text(
        "id: p\nsettings: {timezone: Mars/Olympus}\nschedules:\n"
        "  - {flow: nowhere, cron: '0 9 * * *'}\n  - {flow: f, cron: 'every day'}\n"
    )
    (tmp_path / "flows" / "f.yaml").write_text(
        "id: f\nsteps:\n  - wait: 3 fortnights\n  - call: human_handoff\n    retry_delay: 1m\n"
    )
    with pytest.raises(PackError) as raised:
        load_pack(tmp_path)
    text = str(raised.value)
    for problem in (
        "schedule runs unknown flow 'nowhere'",
        "not a cron expression: 'every day'",
        "unknown time zone 'Mars/Olympus'",
        "not a duration: '3 fortnights'",
        "retry_delay without retries",
    ):
        assert problem in text
