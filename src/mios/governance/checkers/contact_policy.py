"""Contact policy: how often one customer may hear from the brand, per channel and across
channels, per day and per week, and when to leave them alone for a while.

This message counts as one more for every recipient, so a cap of 1 a day denies anyone who
already got one today. A customer who unsubscribed in the last
``cooldown_after_unsubscribe_days`` days, or who ignored ``ignored_messages_before_cooldown``
messages in a row, is not messaged. ``ContactHistory`` holds no send times, so the ignore
cooldown ends when its producer resets ``ignored_in_row`` after ``cooldown_after_ignored_days``.
Reviewed without a history (``ReviewContext.contacts`` is ``None``), the check still runs, on
this message alone, and says so in a warning. ``denied_mask`` gives the same verdict per
customer, so a caller can leave out whom the policy denies instead of losing the message.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np

from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.governance import Finding, FindingSeverity
from mios.domain.guardrails import ContactCaps, ContactPolicy
from mios.domain.proposal import ActionKind
from mios.governance.checkers.reach import about_customers, reached
from mios.governance.review_context import Check, ContactHistory, ReviewContext
from mios.types import BoolArray, IntArray


class ContactPolicyChecker:
    id: str = "contact-policy"

    def check(self, action: Action, context: ReviewContext) -> Check:
        channel = action.channel
        if (
            action.kind is not ActionKind.SEND_MESSAGE
            or channel is None
            or not channel.addresses_customers
        ):
            return Check()
        rows = reached(action, context).positions
        if not len(rows):
            return Check()
        policy = context.workspace.guardrails.contact
        ids = context.customers.ids
        findings: list[Finding] = []
        history = context.contacts
        if history is None:
            # Said out loud, so a verdict without history is never mistaken for one with it.
            history = ContactHistory.empty(len(context.customers))
            findings.append(
                Finding(
                    "contact-policy/no-history",
                    "no contact history was given: caps and cooldowns counted this message alone",
                    FindingSeverity.WARN,
                )
            )
        for rule, what, denied in denials(channel, rows, policy, history, context.now):
            if denied.any():
                findings.append(about_customers(rule, what, ids, rows[denied]))
        return Check(tuple(findings))


def denied_mask(
    channel: ChannelName,
    rows: IntArray,
    policy: ContactPolicy,
    history: ContactHistory,
    now: datetime,
) -> BoolArray:
    """Per customer of ``rows``: whether the policy denies them one more message on
    ``channel`` now, by any of its rules (what ``ContactPolicyChecker`` denies, per customer)."""
    denied = np.zeros(len(rows), dtype=np.bool_)
    for _rule, _what, mask in denials(channel, rows, policy, history, now):
        denied |= mask
    return denied


def denials(
    channel: ChannelName,
    rows: IntArray,
    policy: ContactPolicy,
    history: ContactHistory,
    now: datetime,
) -> list[tuple[str, str, BoolArray]]:
    """Each rule of the policy that applies, as (rule id, what it says of a customer, which of
    ``rows`` it denies), in the order the checker reports them."""
    found: list[tuple[str, str, BoolArray]] = []
    caps = policy.per_channel.get(channel)
    if caps is not None:
        found += _over_caps(
            caps,
            _sent(history.today.get(channel), rows),
            _sent(history.week.get(channel), rows),
            f"{channel} messages",
            "contact-policy/channel",
        )
    found += _over_caps(
        policy.all_channels,
        _total(history.today.values(), rows),
        _total(history.week.values(), rows),
        "messages on all channels",
        "contact-policy/all-channels",
    )
    days = policy.cooldown_after_unsubscribe_days
    if days > 0:
        at = np.datetime64(now.astimezone(UTC).replace(tzinfo=None), "s")
        # NaT compares False, so customers who never unsubscribed are never in cooldown.
        recent = history.last_unsubscribe[rows] > at - np.timedelta64(days, "D")
        found.append(
            (
                "contact-policy/unsubscribe-cooldown",
                f"unsubscribed less than {days} days ago",
                recent,
            )
        )
    found.append(
        (
            "contact-policy/ignored-cooldown",
            f"ignored the last {policy.ignored_messages_before_cooldown} or more "
            f"messages in a row (cooling down for {policy.cooldown_after_ignored_days} days)",
            history.ignored_in_row[rows] >= policy.ignored_messages_before_cooldown,
        )
    )
    return found


def _sent(counts: IntArray | None, rows: IntArray) -> IntArray:
    return np.zeros(len(rows), dtype=np.int64) if counts is None else counts[rows]


def _total(per_channel: Iterable[IntArray], rows: IntArray) -> IntArray:
    total = np.zeros(len(rows), dtype=np.int64)
    for counts in per_channel:
        total += counts[rows]
    return total


def _over_caps(
    caps: ContactCaps, today: IntArray, week: IntArray, what: str, rule: str
) -> list[tuple[str, str, BoolArray]]:
    found = []
    for period, cap, sent in (("day", caps.day, today), ("week", caps.week, week)):
        if cap is not None:
            # This message counts as one more for every recipient.
            found.append(
                (
                    f"{rule}-{period}",
                    f"past the limit of {cap} {what} a {period} with this one",
                    sent + 1 > cap,
                )
            )
    return found
