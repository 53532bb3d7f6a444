"""Scheduled flows: a flow a pack runs by itself at times given as a cron expression.

``minute hour day-of-month month day-of-week`` (five fields), or six with seconds first. Each
field is ``*``, a number, a range ``a-b``, a step ``*/n`` or ``a-b/n``, or a list of those;
months and weekdays may be names (``JAN``, ``MON``); weekday 0 and 7 are Sunday. As in cron,
when both day fields are restricted a day matches either. Times are read in the pack's time zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from procpilot.domain.errors import UserError

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
# name, lowest, highest, names (numbered from the lowest)
_FIELDS: tuple[tuple[str, int, int, list[str]], ...] = (
    ("second", 0, 59, []),
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day of month", 1, 31, []),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
LOOK_BACK_DAYS = 366 * 8  # long enough for "29 Feb on a Monday"


def _number(text: str, low: int, names: list[str], field: str) -> int:
    if text.upper() in names:
        return names.index(text.upper()) + low
    if not text.isdigit():
        raise UserError(f"cron {field}: {text!r} is not a number")
    return int(text)


def _field(text: str, field: str, low: int, high: int, names: list[str]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = _number(step_text, 0, [], field) if step_text else 1
        if step < 1:
            raise UserError(f"cron {field}: a step must be at least 1")
        if body == "*":
            start, end = low, high
        elif "-" in body:
            first, last = body.split("-", 1)
            start, end = _number(first, low, names, field), _number(last, low, names, field)
        else:
            start = _number(body, low, names, field)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high and start <= end):
            raise UserError(f"cron {field}: {part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    text: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        parts = str(text).split()
        if len(parts) == 5:
            parts = ["0", *parts]
        if len(parts) != 6:
            raise UserError(
                f"not a cron expression: {text!r}; expected five fields (minute hour day month weekday) "
                "or six with seconds first, e.g. '0 9 * * MON-FRI'"
            )
        sets = [
            _field(p, name, low, high, names)
            for p, (name, low, high, names) in zip(parts, _FIELDS, strict=True)
        ]
        seconds, minutes, hours, days, months, weekdays = sets
        return cls(
            str(text),
            seconds,
            minutes,
            hours,
            days,
            months,
            frozenset(d % 7 for d in weekdays),
            any_day=parts[3] == "*",
            any_weekday=parts[5] == "*",
        )

    def _day_matches(self, day: dt.date) -> bool:
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = (day.weekday() + 1) % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week

    def _latest_time(self, limit: dt.time) -> dt.time | None:
        for hour in sorted((h for h in self.hours if h <= limit.hour), reverse=True):
            for minute in sorted(self.minutes, reverse=True):
                if hour == limit.hour and minute > limit.minute:
                    continue
                for second in sorted(self.seconds, reverse=True):
                    if (hour, minute) == (limit.hour, limit.minute) and second > limit.second:
                        continue
                    return dt.time(hour, minute, second)
        return None

    def previous(self, at: dt.datetime, zone: str = "UTC") -> dt.datetime | None:
        """The latest time at or before ``at`` (aware) that the expression names, in UTC."""
        local = at.astimezone(ZoneInfo(zone)).replace(microsecond=0)
        day = local.date()
        for _ in range(LOOK_BACK_DAYS):
            if self._day_matches(day):
                limit = local.time() if day == local.date() else dt.time(23, 59, 59)
                found = self._latest_time(limit)
                if found is not None:
                    moment = dt.datetime.combine(day, found, tzinfo=ZoneInfo(zone))
                    return moment.astimezone(dt.UTC)
            day -= dt.timedelta(days=1)
        return None


@dataclass(frozen=True)
class Schedule:
    """Run ``flow`` at the times ``cron`` names, for every tenant (or the ``tenants`` listed)."""

    flow: str
    cron: str
    tenants: tuple[str, ...] = ()
