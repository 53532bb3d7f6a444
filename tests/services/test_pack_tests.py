"""The conversation-test runner reports real failures, and the retail pack's suite is big enough."""

from __future__ import annotations

from pathlib import Path

import pytest

from procpilot.domain.errors import UserError
from procpilot.services.packs.conversation_tests import load_cases, run_pack_tests
from tests.conftest import MINI, RETAIL


def test_the_runner_passes_and_fails_for_real() -> None:
    report = run_pack_tests(MINI)
    by_name = {r.name: r for r in report.results}
    assert by_name["send money"].passed
    failed = by_name["this one fails on purpose"]
    assert not failed.passed and "a million dollars" in failed.failures[0]
    assert (report.passed, report.failed) == (1, 1)


def test_the_retail_pack_has_at_least_thirty_conversation_tests() -> None:
    assert len(load_cases(RETAIL)) >= 30


def test_unknown_assertions_are_refused(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "t.yaml").write_text(
        "tests:\n  - name: x\n    steps:\n      - user: hi\n        expect: {bot_sings: la}\n"
    )
    with pytest.raises(UserError, match="bot_sings"):
        load_cases(tmp_path)
