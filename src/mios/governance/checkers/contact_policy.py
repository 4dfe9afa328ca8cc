"""Contact policy: how often one customer may hear from the brand, per channel and across
channels, per day and per week, and when to leave them alone for a while.

This message counts as one more for every recipient, so a cap of 1 a day denies anyone who
already got one today. A customer who unsubscribed in the last
``cooldown_after_unsubscribe_days`` days, or who ignored ``ignored_messages_before_cooldown``
messages in a row, is not messaged. ``ContactHistory`` holds no send times, so the ignore
cooldown ends when its producer resets ``ignored_in_row`` after ``cooldown_after_ignored_days``.
Reviewed without a history (``ReviewContext.contacts`` is ``None``), the check still runs, on
this message alone, and says so in a warning.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC

import numpy as np

from mios.domain.action import Action
from mios.domain.governance import Finding, FindingSeverity
from mios.domain.guardrails import ContactCaps
from mios.domain.proposal import ActionKind
from mios.governance.checkers.reach import about_customers, reached
from mios.governance.review_context import Check, ContactHistory, ReviewContext
from mios.types import IntArray, StrArray


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
        caps = policy.per_channel.get(channel)
        if caps is not None:
            findings += _over_caps(
                caps,
                _sent(history.today.get(channel), rows),
                _sent(history.week.get(channel), rows),
                f"{channel} messages",
                "contact-policy/channel",
                ids,
                rows,
            )
        findings += _over_caps(
            policy.all_channels,
            _total(history.today.values(), rows),
            _total(history.week.values(), rows),
            "messages on all channels",
            "contact-policy/all-channels",
            ids,
            rows,
        )
        days = policy.cooldown_after_unsubscribe_days
        if days > 0:
            now = np.datetime64(context.now.astimezone(UTC).replace(tzinfo=None), "s")
            last = history.last_unsubscribe[rows]
            # NaT compares False, so customers who never unsubscribed are never in cooldown.
            recent = last > now - np.timedelta64(days, "D")
            if recent.any():
                findings.append(
                    about_customers(
                        "contact-policy/unsubscribe-cooldown",
                        f"unsubscribed less than {days} days ago",
                        ids,
                        rows[recent],
                    )
                )
        ignored = history.ignored_in_row[rows] >= policy.ignored_messages_before_cooldown
        if ignored.any():
            findings.append(
                about_customers(
                    "contact-policy/ignored-cooldown",
                    f"ignored the last {policy.ignored_messages_before_cooldown} or more "
                    f"messages in a row (cooling down for {policy.cooldown_after_ignored_days} "
                    "days)",
                    ids,
                    rows[ignored],
                )
            )
        return Check(tuple(findings))


def _sent(counts: IntArray | None, rows: IntArray) -> IntArray:
    return np.zeros(len(rows), dtype=np.int64) if counts is None else counts[rows]


def _total(per_channel: Iterable[IntArray], rows: IntArray) -> IntArray:
    total = np.zeros(len(rows), dtype=np.int64)
    for counts in per_channel:
        total += counts[rows]
    return total


def _over_caps(
    caps: ContactCaps,
    today: IntArray,
    week: IntArray,
    what: str,
    rule: str,
    ids: StrArray,
    rows: IntArray,
) -> list[Finding]:
    findings = []
    for period, cap, sent in (("day", caps.day, today), ("week", caps.week, week)):
        if cap is None:
            continue
        over = sent + 1 > cap
        if over.any():
            findings.append(
                about_customers(
                    f"{rule}-{period}",
                    f"past the limit of {cap} {what} a {period} with this one",
                    ids,
                    rows[over],
                )
            )
    return findings
