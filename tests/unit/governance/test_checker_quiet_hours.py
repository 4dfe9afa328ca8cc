"""Quiet hours in each customer's local time: the exact edges, several zones, missing zones."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mios.domain.channel import ChannelName
from mios.governance.checkers.quiet_hours import QuietHoursChecker
from tests.unit.governance.checker_world import (
    EMAIL,
    PUSH,
    SMS,
    context,
    customer,
    denied,
    finding,
    message,
    table,
    workspace,
)

NEW_YORK, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")


def at(hour: int, minute: int, zone: ZoneInfo = NEW_YORK) -> datetime:
    """The UTC instant when it is ``hour:minute`` in ``zone`` on 24 November 2026."""
    return datetime(2026, 11, 24, hour, minute, tzinfo=zone).astimezone(UTC)


# SMS quiet hours are 22:00-08:00, push 21:00-08:00, in the customer's local time.
CASES = [
    ("SMS at 21:59", SMS, at(21, 59), False),
    ("SMS at 22:00", SMS, at(22, 0), True),
    ("SMS at 22:01", SMS, at(22, 1), True),
    ("SMS at 03:00", SMS, at(3, 0), True),
    ("SMS at 07:59", SMS, at(7, 59), True),
    ("SMS at 08:00", SMS, at(8, 0), False),
    ("push at 20:59", PUSH, at(20, 59), False),
    ("push at 21:01", PUSH, at(21, 1), True),
    ("email at 23:00", EMAIL, at(23, 0), False),
]


@pytest.mark.parametrize(("name", "channel", "now", "quiet"), CASES, ids=[c[0] for c in CASES])
def test_quiet_hours_edges(name: str, channel: ChannelName, now: datetime, quiet: bool) -> None:
    check = QuietHoursChecker().check(message(channel), context(now=now))
    assert denied(check) == ({"quiet-hours/local-time"} if quiet else set())


def test_each_customer_is_judged_in_their_own_zone() -> None:
    people = table(
        customer("NY1"),
        customer("BER1", time_zone="Europe/Berlin"),
        customer("NY2"),
        customer("BER2", time_zone="Europe/Berlin"),
    )
    # 22:30 in Berlin is 16:30 in New York.
    action = message(SMS, ids=("NY1", "BER1", "NY2", "BER2"))
    check = QuietHoursChecker().check(action, context(customers=people, now=at(22, 30, BERLIN)))
    found = finding(check, "quiet-hours/local-time")
    assert found.message == "2 customers in sms quiet hours (22:00-08:00 their local time) now"
    assert found.value == "BER1, BER2"


def test_a_customer_without_a_zone_lives_in_the_workspace_zone() -> None:
    people = table(customer("C1", time_zone=""), customer("C2", time_zone="Asia/Tokyo"))
    # 22:30 in New York (the workspace zone) is 12:30 in Tokyo.
    check = QuietHoursChecker().check(message(SMS), context(customers=people, now=at(22, 30)))
    assert finding(check, "quiet-hours/local-time").value == "C1"


def test_a_channel_without_quiet_hours_is_never_quiet() -> None:
    loud = workspace(channels={"email": {}, "sms": {}})
    assert QuietHoursChecker().check(message(SMS), context(loud, now=at(3, 0))).findings == ()
