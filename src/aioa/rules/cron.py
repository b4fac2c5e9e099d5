"""Five-field cron expressions (minute hour day-of-month month day-of-week) and their ticks in a time zone.

Fields take `*`, numbers, ranges `a-b`, lists `a,b` and steps `*/n` or `a-b/n`; day-of-week 0-7 (0 and 7: Sunday).
As in cron, when both day fields are restricted a day matches either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAMES = ("minute", "hour", "day of month", "month", "day of week")
MAX_SCAN = timedelta(days=31)  # ticks are searched at most this far back (a rule paused for longer skips the rest)


@dataclass(frozen=True)
class CronExpression:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    @classmethod
    def parse(cls, text: str) -> CronExpression:
        fields = text.split()
        if len(fields) != 5:
            raise ValueError(f"cron {text!r} needs 5 fields (minute hour day-of-month month day-of-week)")
        sets = [_field(value, bounds, name) for value, bounds, name in zip(fields, _BOUNDS, _NAMES, strict=True)]
        weekdays = frozenset(day % 7 for day in sets[4])
        return cls(*sets[:4], weekdays, fields[2] != "*", fields[4] != "*")

    def matches(self, moment: datetime) -> bool:
        if moment.minute not in self.minutes or moment.hour not in self.hours or moment.month not in self.months:
            return False
        day_ok = moment.day in self.days
        weekday_ok = (moment.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok

    def ticks(self, after: datetime, until: datetime, timezone: str) -> list[datetime]:
        """Ticks in (after, until], as aware UTC datetimes, judged on the wall clock of `timezone`."""
        zone = ZoneInfo(timezone)
        start = max(after, until - MAX_SCAN)
        moment = start.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
        found = []
        end = until.astimezone(zone)
        while moment <= end:
            if self.matches(moment):
                found.append(moment.astimezone(ZoneInfo("UTC")))
            moment += timedelta(minutes=1)
        return found


def _field(text: str, bounds: tuple[int, int], name: str) -> frozenset[int]:
    low, high = bounds
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if body == "*":
                first, last = low, high
            elif "-" in body:
                first, last = (int(item) for item in body.split("-", 1))
            else:
                first = last = int(body)
        except ValueError:
            raise ValueError(f"cron {name} field {text!r} is not a number, range, list or step") from None
        if step < 1 or not low <= first <= last <= high:
            raise ValueError(f"cron {name} field {text!r} must stay within {low}-{high}")
        values.update(range(first, last + 1, step))
    return frozenset(values)
