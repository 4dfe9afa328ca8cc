"""When a playbook's cadence fires: cron arithmetic on UTC minutes, with no dependency.

    cron = Cron.parse("0 7 * * 1")                       # Mondays at 07:00 UTC
    cron.next_after(datetime(2025, 1, 6, 7, 0, tzinfo=UTC))        # 2025-01-13 07:00 UTC
    cron.last_at_or_before(datetime(2025, 1, 8, 12, 0, tzinfo=UTC))  # 2025-01-06 07:00 UTC

The expression is the numeric 5-field one ``check_cron`` accepts: minute, hour, day of month,
month, day of week (0 and 7 are Sunday). ``n/step`` runs from ``n`` to the field's highest value.
Times are UTC: a cadence has no time zone of its own, so ``0 7 * * *`` is 07:00 UTC all year.

Day of month and day of week follow Vixie cron: when both fields are restricted, a day fires if
**either** matches (``0 0 13 * 5`` is every 13th and every Friday); when either field starts
with ``*``, both must match, and ``*`` matches every day. As in Vixie cron, a field counts as
restricted unless it starts with ``*``, so ``*/2`` in day of month is combined with day of week
by "and".
"""

from __future__ import annotations

import bisect
import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from mios.domain.clock import require_utc
from mios.errors import DomainError

_CRON_ITEM = re.compile(r"^(?:\*|(\d+)(?:-(\d+))?)(?:/(\d+))?$")
#: (name, lowest, highest) of the five cron fields; day of week 0 and 7 are both Sunday.
_CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)


def check_cron(expression: str) -> None:
    """Raise ``DomainError`` unless ``expression`` is a numeric 5-field cron expression.

    Each field is ``*``, ``n``, ``a-b``, any of those with ``/step``, or a comma list of them.
    Names (``mon``, ``jan``) and macros (``@daily``) are not accepted: one spelling is enough.
    """
    parts = expression.split()
    if len(parts) != len(_CRON_FIELDS):
        raise DomainError(f"cadence {expression!r} must have 5 fields, got {len(parts)}")
    for text, (name, low, high) in zip(parts, _CRON_FIELDS, strict=True):
        for item in text.split(","):
            match = _CRON_ITEM.match(item)
            if match is None:
                raise DomainError(f"cadence {expression!r}: {name} {item!r} is not a cron token")
            first, last, step = (int(g) if g is not None else None for g in match.groups())
            for number in (first, last):
                if number is not None and not low <= number <= high:
                    raise DomainError(
                        f"cadence {expression!r}: {name} {number} is outside {low}-{high}"
                    )
            if first is not None and last is not None and first > last:
                raise DomainError(f"cadence {expression!r}: {name} range {item!r} runs backwards")
            if step == 0:
                raise DomainError(f"cadence {expression!r}: {name} step must be >= 1")


#: (lowest, highest) of minute, hour, day of month, month, day of week; the checks are
#: ``check_cron``'s, this is only for expanding ``*`` and ``n/step``.
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_MINUTE = timedelta(minutes=1)
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
#: Past this, a search gives up. A 29 February that must also be a given weekday recurs
#: every 28 years, or up to 40 across a century year that is not a leap year.
_HORIZON = timedelta(days=366 * 100)


@dataclass(frozen=True)
class Cron:
    """A parsed cadence: the values each field allows, and how the two day fields combine.

    ``weekdays`` count from Sunday = 0 (a 7 in the expression is folded into 0). ``either_day``
    is true when both day fields are restricted, so a day matching either one fires."""

    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    either_day: bool

    @classmethod
    def parse(cls, expression: str) -> Cron:
        """``DomainError`` for an expression ``check_cron`` refuses, or one that never fires
        (``0 0 30 2 *``: there is no 30 February)."""
        check_cron(expression)
        fields = expression.split()
        minutes, hours, days, months, weekdays = (
            _expand(text, low, high) for text, (low, high) in zip(fields, _BOUNDS, strict=True)
        )
        cron = cls(
            expression,
            tuple(sorted(minutes)),
            tuple(sorted(hours)),
            frozenset(days),
            frozenset(months),
            frozenset(d % 7 for d in weekdays),
            not fields[2].startswith("*") and not fields[4].startswith("*"),
        )
        # With "either", every week has a matching day. Otherwise a listed day must exist in
        # a listed month (29 February counts: leap years come).
        if not cron.either_day and not any(
            day <= _longest_month(month) for month in cron.months for day in cron.days
        ):
            raise DomainError(f"cadence {expression!r} never fires: no month has those days")
        return cron

    def matches(self, at: datetime) -> bool:
        """Whether the minute of ``at`` (UTC) is a fire time."""
        at = require_utc(at, "time")
        return (
            at.minute in self.minutes
            and at.hour in self.hours
            and at.month in self.months
            and self._day_matches(at)
        )

    def next_after(self, at: datetime) -> datetime:
        """The first fire time strictly after ``at``, in UTC, on a whole minute."""
        t = _whole_minute(require_utc(at, "time")) + _MINUTE
        limit = t + _HORIZON
        while t < limit:
            if t.month not in self.months:
                t = _first_of_next_month(t)
                continue
            if not self._day_matches(t):
                t = _midnight(t) + _DAY
                continue
            hour = _first_at_least(self.hours, t.hour)
            if hour is None:
                t = _midnight(t) + _DAY
                continue
            if hour != t.hour:
                t = t.replace(hour=hour, minute=0)
            minute = _first_at_least(self.minutes, t.minute)
            if minute is None:
                t = t.replace(minute=0) + _HOUR
                continue
            return t.replace(minute=minute)
        raise DomainError(f"cadence {self.expression!r} does not fire within 100 years")

    def last_at_or_before(self, at: datetime) -> datetime:
        """The latest fire time at or before ``at``, in UTC, on a whole minute."""
        t = _whole_minute(require_utc(at, "time"))
        limit = t - _HORIZON
        while t > limit:
            if t.month not in self.months:
                t = t.replace(day=1, hour=0, minute=0) - _MINUTE
                continue
            if not self._day_matches(t):
                t = _midnight(t) - _MINUTE
                continue
            hour = _last_at_most(self.hours, t.hour)
            if hour is None:
                t = _midnight(t) - _MINUTE
                continue
            if hour != t.hour:
                t = t.replace(hour=hour, minute=59)
            minute = _last_at_most(self.minutes, t.minute)
            if minute is None:
                t = t.replace(minute=0) - _MINUTE
                continue
            return t.replace(minute=minute)
        raise DomainError(f"cadence {self.expression!r} did not fire within 100 years")

    def _day_matches(self, at: datetime) -> bool:
        by_day = at.day in self.days
        by_weekday = at.isoweekday() % 7 in self.weekdays
        return (by_day or by_weekday) if self.either_day else (by_day and by_weekday)


def next_fire(cadence: str, after: datetime) -> datetime:
    """The first time ``cadence`` fires strictly after ``after`` (UTC)."""
    return Cron.parse(cadence).next_after(after)


def _expand(text: str, low: int, high: int) -> set[int]:
    """The values a checked field allows: each comma item is ``*``, ``n`` or ``a-b``, with an
    optional ``/step``; ``n/step`` runs to ``high``."""
    values: set[int] = set()
    for item in text.split(","):
        base, slash, step = item.partition("/")
        if base == "*":
            first, last = low, high
        elif "-" in base:
            start, _, end = base.partition("-")
            first, last = int(start), int(end)
        else:
            first = int(base)
            last = high if slash else first
        values.update(range(first, last + 1, int(step) if slash else 1))
    return values


def _longest_month(month: int) -> int:
    return 29 if month == 2 else calendar.monthrange(2001, month)[1]


def _whole_minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def _midnight(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0)


def _first_of_next_month(at: datetime) -> datetime:
    if at.month == 12:
        return at.replace(year=at.year + 1, month=1, day=1, hour=0, minute=0)
    return at.replace(month=at.month + 1, day=1, hour=0, minute=0)


def _first_at_least(values: tuple[int, ...], value: int) -> int | None:
    index = bisect.bisect_left(values, value)
    return values[index] if index < len(values) else None


def _last_at_most(values: tuple[int, ...], value: int) -> int | None:
    index = bisect.bisect_right(values, value)
    return values[index - 1] if index else None
