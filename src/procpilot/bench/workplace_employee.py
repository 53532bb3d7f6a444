"""A simulated employee for the workplace scenarios (written for procpilot, ``bench/scenarios.yaml``).

A scenario names the employee, what they want (leave, an expense claim, access to a system) and
its facts, with dates as people say them ("next Monday", "Monday to Wednesday next week", "last
Friday", "28 November"). The employee computes the dates they mean with the calendar, states the
request with its details up front, answers what is asked, and checks the summary. It passes when
the approval the flow requests carries the right facts.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from procpilot.bench.people import Person, Voice, asks, question

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
]  # fmt: skip


SYSTEM_NAMES = {
    "github": "GitHub",
    "salesforce": "Salesforce",
    "vpn": "VPN",
    "data warehouse": "Data warehouse",
}


@dataclass
class WorkplaceScenario:
    number: int
    employee: str
    flow: str
    facts: dict[str, Any]
    today: dt.date
    approvals: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"w{self.number}"

    def expected_summary(self) -> list[str]:
        f = self.facts
        if self.flow == "request_leave":
            start, days = leave_dates(f, self.today)
            return [f"{days} days of leave from {start.isoformat()}"]
        if self.flow == "claim_expense":
            amount = f"${float(f['amount']):,.2f}"
            return [amount, f"for {f['category']}", f"at {f['merchant']}"]
        return [f"asks for {self.system_name()} for {f['days']} days"]

    def system_name(self) -> str:
        """The system's name as the company writes it ("the VPN" is VPN)."""
        said = str(self.facts["system"])
        return SYSTEM_NAMES.get(said.lower().removeprefix("the "), said)

    def check(self, _business: Path) -> str:
        """Empty when the approval the flow asked for carries the right facts, else what is wrong."""
        if not self.approvals:
            return "no approval was requested"
        summary = str(self.approvals[-1].get("summary"))
        missing = [part for part in self.expected_summary() if part not in summary]
        if missing:
            return f"approval {summary!r} lacks {missing}"
        if self.flow == "claim_expense":
            spent = expense_date(self.facts, self.today).isoformat()
            if self.approvals[-1].get("spent_on") not in (None, spent):
                return f"spent on {self.approvals[-1].get('spent_on')}, expected {spent}"
        return ""


def load_workplace_scenarios(path: Path, today: dt.date | None = None) -> list[WorkplaceScenario]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    today = today or dt.date.today()
    return [
        WorkplaceScenario(number, str(s["employee"]), str(s["flow"]), dict(s["facts"]), today)
        for number, s in enumerate(data["scenarios"], start=1)
    ]


def _next_weekday(today: dt.date, name: str, *, next_week: bool) -> dt.date:
    target = WEEKDAYS.index(name)
    if next_week:
        monday = today + dt.timedelta(days=7 - today.weekday())
        return monday + dt.timedelta(days=target)
    ahead = (target - today.weekday()) % 7 or 7
    return today + dt.timedelta(days=ahead)


def _last_weekday(today: dt.date, name: str) -> dt.date:
    back = (today.weekday() - WEEKDAYS.index(name)) % 7 or 7
    return today - dt.timedelta(days=back)


def leave_dates(facts: dict[str, Any], today: dt.date) -> tuple[dt.date, int]:
    """The first day and the number of working days the employee means."""
    if "from" in facts:
        start = _next_weekday(today, facts["from"], next_week=True)
        end = _next_weekday(today, facts["to"], next_week=True)
        days = sum(1 for n in range((end - start).days + 1) if (start + dt.timedelta(n)).weekday() < 5)
        return start, days
    if "in_days" in facts:
        return today + dt.timedelta(days=int(facts["in_days"])), int(facts["days"])
    return _next_weekday(today, facts["start"], next_week=bool(facts.get("next_week"))), int(facts["days"])


def expense_date(facts: dict[str, Any], today: dt.date) -> dt.date:
    spent = str(facts["spent"])
    if spent == "yesterday":
        return today - dt.timedelta(days=1)
    if spent == "today":
        return today
    if spent.startswith("last "):
        return _last_weekday(today, spent.split()[1])
    return today - dt.timedelta(days=int(spent.removesuffix(" days ago")))


def _day_month(date: dt.date) -> str:
    return f"{date.day} {MONTHS[date.month - 1]}"


class WorkplaceEmployee(Person):
    """Talks to the workplace assistant for one scenario."""

    def __init__(self, scenario: WorkplaceScenario, voice: Voice, today: dt.date) -> None:
        super().__init__()
        self.s = scenario
        self.voice = voice
        self.today = today
        # People differ on "next Thursday": the Thursday of next week, or the coming one.
        if "start" in scenario.facts and scenario.facts.get("next_week") and voice.chance(0.5):
            scenario.facts = {**scenario.facts, "next_week": False, "said_next": True}
        self.finished = False
        self.nudges = 0

    # ---- the facts in words ----------------------------------------------------------------
    def _when_leave(self) -> str:
        f = self.s.facts
        if "from" in f:
            self.stated |= {"start", "days"}
            return f"from {f['from'].capitalize()} to {f['to'].capitalize()} next week"
        if "in_days" in f:
            self.stated.add("start")
            return f"starting {_day_month(leave_dates(f, self.today)[0])}"
        self.stated.add("start")
        return ("from next " if f.get("next_week") or f.get("said_next") else "from ") + f[
            "start"
        ].capitalize()

    def _spent(self) -> str:
        spent = str(self.s.facts["spent"])
        if spent.endswith("days ago"):
            return self.voice.pick(["on ", ""]) + _day_month(expense_date(self.s.facts, self.today))
        return spent

    def _amount(self) -> str:
        amount = float(self.s.facts["amount"])
        text = f"{amount:.2f}".removesuffix(".00")
        return self.voice.pick([f"${text}", f"{text} dollars", f"${text}"])

    def opening(self) -> str:
        f = self.s.facts
        hello = self.voice.pick(["Hi,", "Hello!", "Hey,", ""])
        if self.s.flow == "request_leave":
            if "from" in f:
                body = self.voice.pick(
                    [f"I'd like to take {self._when_leave()} off", f"I need leave {self._when_leave()}"]
                )
            else:
                self.stated.add("days")
                body = self.voice.pick(
                    [
                        f"I need {f['days']} days off {self._when_leave()}",
                        f"I'd like to request {f['days']} days of leave {self._when_leave()}",
                        f"can I take {f['days']} days of vacation {self._when_leave()}?",
                    ]
                )
        elif self.s.flow == "claim_expense":
            self.stated |= {"amount", "merchant", "spent"}
            what = f.get("what", f["category"])
            body = self.voice.pick(
                [
                    f"I paid {self._amount()} for {what} at {f['merchant']} {self._spent()} and want to claim it",
                    f"please reimburse {self._amount()} I spent on {what} at {f['merchant']} {self._spent()}",
                    f"expense claim: {self._amount()}, {what}, {f['merchant']}, {self._spent()}",
                ]
            )
            if f.get("what") in (None, f["category"]):
                self.stated.add("category")
        else:
            self.stated |= {"system"}
            body = self.voice.pick(
                [
                    f"I need access to {f['system']} for {f['days']} days, {f['reason']}",
                    f"could you get me into {f['system']}? It's for {f['reason']}, {f['days']} days would do",
                    f"please request {f['system']} access for {f['days']} days ({f['reason']})",
                ]
            )
            self.stated |= {"days", "reason"}
        return self.voice.typo(" ".join(p for p in (hello, body[0].upper() + body[1:]) if p))

    def reply(self, messages: list[str]) -> str | None:
        text = "\n".join(messages)
        last = question(messages)
        f = self.s.facts
        if re.search(r"colleague|human|a person will", text, re.IGNORECASE):
            self.handed_off = True
            return None
        if re.search(r"sent this to|for approval", text, re.IGNORECASE):
            return None
        if re.match(r"\s*(ask|claim)\b.*\?", last, re.IGNORECASE):
            return self._summary(last)
        if asks(last, r"from which day"):
            self._again("start")
            return self._when_leave()
        if asks(last, r"how many working days"):
            self._again("days")
            return str(leave_dates(f, self.today)[1])
        if asks(last, r"how much"):
            self._again("amount")
            return self._amount()
        if asks(last, r"which category"):
            self._again("category")
            return str(f["category"])
        if asks(last, r"which day did you pay"):
            self._again("spent")
            return self._spent()
        if asks(last, r"where did you pay"):
            self._again("merchant")
            return str(f["merchant"])
        if asks(last, r"which system"):
            self._again("system")
            return str(f["system"])
        if asks(last, r"how many days"):
            self._again("days")
            return f"{f['days']} days"
        if asks(last, r"what do you need it for"):
            self._again("reason")
            return str(f["reason"])
        self.nudges += 1
        if self.nudges > 2:
            return None
        return self.opening()

    def _summary(self, summary: str) -> str:
        f = self.s.facts
        problems = []
        if self.s.flow == "request_leave":
            start, days = leave_dates(f, self.today)
            if start.isoformat() not in summary:
                problems.append(f"it should start on {_day_month(start)}")
            if f"{days} days" not in summary:
                problems.append(f"it's {days} days")
        elif self.s.flow == "claim_expense":
            spent = expense_date(f, self.today).isoformat()
            if spent not in summary:
                problems.append(f"I paid on {_day_month(expense_date(f, self.today))}")
            if str(f["category"]) not in summary:
                problems.append(f"the category is {f['category']}")
            if f"{float(f['amount']):,.2f}" not in summary:
                problems.append(f"the amount is {self._amount()}")
        else:
            if f"{f['days']} days" not in summary:
                problems.append(f"for {f['days']} days")
            if self.s.system_name().lower() not in summary.lower():
                problems.append(f"I need {f['system']}")
        if not problems:
            return self.voice.pick(["Yes", "yes please", "Correct, go ahead", "yep"])
        return "No, " + " and ".join(problems)
