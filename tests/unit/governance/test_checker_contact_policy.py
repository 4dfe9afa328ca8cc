"""Contact caps per channel and across channels, per day and week, and the two cooldowns."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from mios.domain.channel import ChannelName
from mios.governance.checkers.contact_policy import ContactPolicyChecker
from mios.governance.review_context import ContactHistory
from tests.unit.governance.checker_world import (
    EMAIL,
    NOW,
    PUSH,
    SMS,
    context,
    denied,
    finding,
    message,
    workspace,
)


def history(
    today: dict[ChannelName, list[int]] | None = None,
    week: dict[ChannelName, list[int]] | None = None,
    unsubscribed_days_ago: float | None = None,
    ignored: int = 0,
) -> ContactHistory:
    """History for C1 and C2; C2 never unsubscribed and ignored nothing."""
    last = np.full(2, np.datetime64("NaT"), dtype="datetime64[s]")
    if unsubscribed_days_ago is not None:
        when = NOW - timedelta(days=unsubscribed_days_ago)
        last[0] = np.datetime64(when.replace(tzinfo=None), "s")
    return ContactHistory(
        today={ch: np.asarray(v, dtype=np.int64) for ch, v in (today or {}).items()},
        week={ch: np.asarray(v, dtype=np.int64) for ch, v in (week or {}).items()},
        last_unsubscribe=last,
        ignored_in_row=np.asarray([ignored, 0], dtype=np.int64),
    )


# Defaults: email 1/day 3/week, SMS 1/day 1/week, push 1/day 3/week, all channels 2/day 5/week;
# 30 days after an unsubscribe; a pause after 5 ignored messages in a row.
CASES: list[tuple[str, ChannelName, dict[str, Any], set[str]]] = [
    ("nothing sent yet", EMAIL, {}, set()),
    ("first email today", EMAIL, {"today": {SMS: [1, 1]}}, set()),
    ("second email today", EMAIL, {"today": {EMAIL: [1, 0]}}, {"channel-day"}),
    ("third email this week", EMAIL, {"week": {EMAIL: [2, 0]}}, set()),
    ("fourth email this week", EMAIL, {"week": {EMAIL: [3, 0]}}, {"channel-week"}),
    ("second SMS this week", SMS, {"week": {SMS: [1, 0]}}, {"channel-week"}),
    (
        "third message today on any channel",
        PUSH,
        {"today": {EMAIL: [1, 0], SMS: [1, 0]}},
        {"all-channels-day"},
    ),
    (
        "sixth message this week on any channel",
        PUSH,
        {"week": {EMAIL: [3, 0], SMS: [1, 0], PUSH: [1, 0]}},
        {"all-channels-week"},
    ),
    ("unsubscribed 10 days ago", EMAIL, {"unsubscribed_days_ago": 10}, {"unsubscribe-cooldown"}),
    (
        "unsubscribed 29.9 days ago",
        EMAIL,
        {"unsubscribed_days_ago": 29.9},
        {"unsubscribe-cooldown"},
    ),
    ("unsubscribed exactly 30 days ago", EMAIL, {"unsubscribed_days_ago": 30}, set()),
    ("4 ignored in a row", EMAIL, {"ignored": 4}, set()),
    ("5 ignored in a row", EMAIL, {"ignored": 5}, {"ignored-cooldown"}),
]


@pytest.mark.parametrize(("name", "channel", "past", "expected"), CASES, ids=[c[0] for c in CASES])
def test_contact_policy(
    name: str, channel: ChannelName, past: dict[str, Any], expected: set[str]
) -> None:
    check = ContactPolicyChecker().check(message(channel), context(contacts=history(**past)))
    assert denied(check) == {f"contact-policy/{rule}" for rule in expected}
    for f in check.findings:
        assert f.message.startswith("1 customer ")
        assert f.value == "C1"


def test_no_history_yet_counts_only_this_message() -> None:
    capped = workspace(governance={"contact": {"per_channel": {"email": {"day": 0}}}})
    check = ContactPolicyChecker().check(message(), context(capped, contacts=None))
    found = finding(check, "contact-policy/channel-day")
    assert found.message == "2 customers past the limit of 0 email messages a day with this one"


def test_caps_and_cooldowns_come_from_the_workspace() -> None:
    relaxed = workspace(
        governance={
            "contact": {
                "per_channel": {"email": {"day": 3}},
                "all_channels": {},
                "cooldown_after_unsubscribe_days": 0,
                "ignored_messages_before_cooldown": 10,
            }
        }
    )
    past = history(today={EMAIL: [2, 2]}, unsubscribed_days_ago=1, ignored=9)
    assert ContactPolicyChecker().check(message(), context(relaxed, contacts=past)).findings == ()


def test_paid_media_lists_are_not_messages() -> None:
    past = history(today={EMAIL: [9, 9]})
    action = message(ChannelName.PAID_SOCIAL)
    assert ContactPolicyChecker().check(action, context(contacts=past)).findings == ()
