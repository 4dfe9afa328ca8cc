"""Cron arithmetic: fixed cases (steps, ranges, lists, month ends, 29 February, the day-of-month
or day-of-week rule) and a cross-check of both searches against a minute-by-minute matcher
written independently here, over random expressions."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mios.domain.cron import Cron, next_fire
from mios.errors import DomainError


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def fires(expression: str, after: datetime, count: int) -> list[datetime]:
    cron = Cron.parse(expression)
    found = []
    for _ in range(count):
        after = cron.next_after(after)
        found.append(after)
    return found


class TestNextAfter:
    def test_is_strictly_after_and_on_a_whole_minute(self) -> None:
        assert next_fire("* * * * *", at(2025, 1, 6, 10, 0)) == at(2025, 1, 6, 10, 1)
        half_past = at(2025, 1, 6, 10, 0) + timedelta(seconds=30, microseconds=5)
        assert next_fire("* * * * *", half_past) == at(2025, 1, 6, 10, 1)
        assert next_fire("0 * * * *", at(2025, 1, 6, 10, 0)) == at(2025, 1, 6, 11, 0)

    def test_steps_ranges_and_lists(self) -> None:
        assert fires("*/20 9-10 * * *", at(2025, 1, 6, 9, 0), 6) == [
            at(2025, 1, 6, 9, 20),
            at(2025, 1, 6, 9, 40),
            at(2025, 1, 6, 10, 0),
            at(2025, 1, 6, 10, 20),
            at(2025, 1, 6, 10, 40),
            at(2025, 1, 7, 9, 0),
        ]
        assert fires("5,50-52 8-20/6 * * *", at(2025, 1, 6, 14, 51), 5) == [
            at(2025, 1, 6, 14, 52),
            at(2025, 1, 6, 20, 5),
            at(2025, 1, 6, 20, 50),
            at(2025, 1, 6, 20, 51),
            at(2025, 1, 6, 20, 52),
        ]
        # n/step runs to the highest value: 45/10 is 45 and 55.
        assert fires("45/10 0 * * *", at(2025, 1, 6), 3) == [
            at(2025, 1, 6, 0, 45),
            at(2025, 1, 6, 0, 55),
            at(2025, 1, 7, 0, 45),
        ]

    def test_the_year_turns(self) -> None:
        assert next_fire("0 0 1 1 *", at(2025, 12, 31, 23, 59)) == at(2026, 1, 1)
        assert next_fire("59 23 31 12 *", at(2025, 12, 31, 23, 59)) == at(2026, 12, 31, 23, 59)

    def test_month_ends_skip_months_without_that_day(self) -> None:
        assert fires("0 0 31 * *", at(2025, 1, 31), 3) == [
            at(2025, 3, 31),
            at(2025, 5, 31),
            at(2025, 7, 31),
        ]
        assert fires("0 12 30 * *", at(2025, 1, 30, 12), 2) == [
            at(2025, 3, 30, 12),
            at(2025, 4, 30, 12),
        ]

    def test_29_february_waits_for_a_leap_year(self) -> None:
        assert next_fire("0 12 29 2 *", at(2024, 2, 29, 12)) == at(2028, 2, 29, 12)
        # 2100 is not a leap year.
        assert next_fire("0 0 29 2 *", at(2096, 3, 1)) == at(2104, 2, 29)

    def test_either_day_field_fires_when_both_are_restricted(self) -> None:
        # Every 13th and every Friday (3 January 2025 is a Friday).
        assert fires("0 0 13 * 5", at(2025, 1, 1), 4) == [
            at(2025, 1, 3),
            at(2025, 1, 10),
            at(2025, 1, 13),
            at(2025, 1, 17),
        ]

    def test_a_field_starting_with_a_star_makes_both_day_fields_match(self) -> None:
        assert fires("0 0 * * 5", at(2025, 1, 1), 2) == [at(2025, 1, 3), at(2025, 1, 10)]
        assert fires("0 0 13 * *", at(2025, 1, 1), 2) == [at(2025, 1, 13), at(2025, 2, 13)]
        # As in Vixie cron, */2 counts as unrestricted: odd days that are also Fridays.
        assert fires("0 0 */2 * 5", at(2025, 1, 1), 3) == [
            at(2025, 1, 3),
            at(2025, 1, 17),
            at(2025, 1, 31),
        ]

    def test_seven_is_sunday_too(self) -> None:
        start = at(2025, 1, 1)
        assert fires("30 6 * * 7", start, 3) == fires("30 6 * * 0", start, 3)
        assert next_fire("30 6 * * 7", start) == at(2025, 1, 5, 6, 30)  # a Sunday
        assert Cron.parse("0 0 * * 1/2").weekdays == {0, 1, 3, 5}  # 1, 3, 5 and 7

    def test_other_offsets_are_the_same_instant(self) -> None:
        paris = timezone(timedelta(hours=1))
        local = datetime(2025, 1, 6, 8, 30, tzinfo=paris)  # 07:30 UTC
        assert next_fire("0 8 * * *", local) == at(2025, 1, 6, 8, 0)
        assert next_fire("0 8 * * *", local).tzinfo is UTC


class TestLastAtOrBefore:
    def test_includes_the_minute_itself(self) -> None:
        cron = Cron.parse("0 7 * * 1")
        monday = at(2025, 1, 6, 7, 0)
        assert cron.last_at_or_before(monday + timedelta(seconds=59)) == monday
        assert cron.last_at_or_before(monday - timedelta(seconds=1)) == at(2024, 12, 30, 7, 0)

    def test_month_ends_and_leap_days_backwards(self) -> None:
        assert Cron.parse("0 0 31 * *").last_at_or_before(at(2025, 3, 30)) == at(2025, 1, 31)
        assert Cron.parse("0 12 29 2 *").last_at_or_before(at(2028, 2, 29, 11)) == at(
            2024, 2, 29, 12
        )
        assert Cron.parse("15 */6 * * *").last_at_or_before(at(2025, 1, 1, 0, 10)) == at(
            2024, 12, 31, 18, 15
        )


class TestRefused:
    @pytest.mark.parametrize(
        ("expression", "message"),
        [
            ("0 0 30 2 *", "never fires"),
            ("0 0 31 4,6,9,11 *", "never fires"),
            ("0 9 * * mon", "not a cron token"),
            ("0 24 * * *", "outside"),
            ("0 9 * *", "5 fields"),
        ],
    )
    def test_bad_or_impossible_cadences(self, expression: str, message: str) -> None:
        with pytest.raises(DomainError, match=message):
            Cron.parse(expression)

    def test_30_february_with_a_weekday_still_fires_on_that_weekday(self) -> None:
        # Both day fields restricted: either one, so the Mondays of February fire.
        assert next_fire("0 0 30 2 1", at(2025, 1, 1)) == at(2025, 2, 3)

    def test_naive_times(self) -> None:
        with pytest.raises(DomainError, match="timezone-aware"):
            next_fire("* * * * *", datetime(2025, 1, 1))


# -- the cross-check -----------------------------------------------------------------------


def allows(text: str, value: int, low: int, high: int) -> bool:
    """Whether a cron field allows ``value``, decided item by item (no expansion)."""
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        step = int(step_text) if slash else 1
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first, last = (int(p) for p in base.split("-"))
        else:
            first = int(base)
            last = high if slash else first
        if first <= value <= last and (value - first) % step == 0:
            return True
    return False


class Matcher:
    """A second reading of a cron expression, deciding one minute at a time (each field's
    values are asked of ``allows`` once, up front, so a scan of 40 days stays quick)."""

    def __init__(self, expression: str) -> None:
        minute, hour, day, month, weekday = expression.split()
        self.minutes = {v for v in range(60) if allows(minute, v, 0, 59)}
        self.hours = {v for v in range(24) if allows(hour, v, 0, 23)}
        self.days = {v for v in range(1, 32) if allows(day, v, 1, 31)}
        self.months = {v for v in range(1, 13) if allows(month, v, 1, 12)}
        self.weekdays = {v % 7 for v in range(8) if allows(weekday, v, 0, 7)}
        self.both = day.startswith("*") or weekday.startswith("*")

    def __call__(self, t: datetime) -> bool:
        if not (t.minute in self.minutes and t.hour in self.hours and t.month in self.months):
            return False
        by_day = t.day in self.days
        by_weekday = (t.weekday() + 1) % 7 in self.weekdays
        return (by_day and by_weekday) if self.both else (by_day or by_weekday)


def random_field(rng: random.Random, low: int, high: int, star: float) -> str:
    if rng.random() < star:
        return "*" if rng.random() < 0.7 else f"*/{rng.randint(1, high - low + 1)}"
    items = []
    for _ in range(rng.randint(1, 3)):
        a, b = sorted((rng.randint(low, high), rng.randint(low, high)))
        shape = rng.randrange(4)
        if shape == 0:
            items.append(str(a))
        elif shape == 1:
            items.append(f"{a}-{b}")
        elif shape == 2:
            items.append(f"{a}-{b}/{rng.randint(1, 10)}")
        else:
            items.append(f"{a}/{rng.randint(1, 10)}")
    return ",".join(items)


def random_expression(rng: random.Random) -> str:
    return " ".join(
        [
            random_field(rng, 0, 59, 0.3),
            random_field(rng, 0, 23, 0.4),
            random_field(rng, 1, 31, 0.5),
            random_field(rng, 1, 12, 0.7),
            random_field(rng, 0, 7, 0.5),
        ]
    )


MINUTE = timedelta(minutes=1)
#: How far the minute-by-minute matcher looks, in minutes: 40 days.
SCAN = 40 * 24 * 60


def scan(match: Matcher, start: datetime, step: timedelta) -> datetime | None:
    """The first minute from ``start`` (exclusive) onward in ``step``'s direction that
    matches, within ``SCAN`` minutes."""
    t = start
    for _ in range(SCAN):
        t += step
        if match(t):
            return t
    return None


def test_both_searches_agree_with_a_minute_by_minute_matcher() -> None:
    rng = random.Random(20250106)
    checked = found = 0
    refused: list[str] = []
    while checked < 150:
        expression = random_expression(rng)
        try:
            cron = Cron.parse(expression)
        except DomainError as exc:
            refused.append(str(exc))
            continue
        checked += 1
        match = Matcher(expression)
        start = at(2023, 1, 1) + timedelta(minutes=rng.randrange(4 * 365 * 24 * 60))
        start += timedelta(seconds=rng.randrange(60))
        minute = start.replace(second=0)
        expected_next = scan(match, minute, MINUTE)
        expected_last = scan(match, minute + MINUTE, -MINUTE)
        if expected_next is None:
            assert cron.next_after(start) >= minute + SCAN * MINUTE, expression
        else:
            found += 1
            assert cron.next_after(start) == expected_next, expression
        if expected_last is None:
            assert cron.last_at_or_before(start) <= minute - SCAN * MINUTE, expression
        else:
            assert cron.last_at_or_before(start) == expected_last, expression
        assert cron.matches(cron.next_after(start))
    assert all("never fires" in message for message in refused), refused
    assert found > 100  # most random expressions fire within the scan: the check is not empty
