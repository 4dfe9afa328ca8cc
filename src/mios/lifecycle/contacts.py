"""What the loop already sent: the ``ContactHistory`` a review (and the brain) reads.

    history = contact_history(services, snapshot, now)
    context = ReviewContext(workspace, customers, ledger, now, contacts=history)
    denied = contact_denials(proposals, context, services.checkers)   # before the brain

The messages counted are the loop's own: every ``send_message`` action of a cycle that is
executed or measured, at the time it moved to ``executed``. One executed in the last seven days
(``now - 7 days < executed <= now``) counts one message on its channel, in ``week``, for every
customer of its audience, and in ``today`` for those whose local day (their time zone, the
workspace's when they have none) it fell in, as the contact policy reads ``today``. The audience
is resolved on the snapshot given (its segments' members now, plus the customers it lists), so
the counts are an upper bound of what reached each customer: who an experiment held out and
who a channel's capacity or spend cap cut are not known per customer, and count as reached.
Members who left a segment since are not counted, and a segment deleted since counts nobody.

``last_unsubscribe`` is the latest unsubscribe that names a customer among the outcomes of the
loop's sends executed in the unsubscribe cooldown plus the longest measurement window of the
workspace's playbooks (an unsubscribe is reported within its send's window); channels that
report unsubscribes only as counts leave it NaT. ``ignored_in_row`` stays 0: the loop measures
opens and clicks per segment, not per customer, so it cannot tell who ignored a message.

``reachable_now`` leaves out of a message the customers it lists whom the contact policy would
deny now, so one unsubscribed customer among those listed no longer costs the whole message.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from mios.brain.decide import RiskRule
from mios.context.store import ContextSnapshot
from mios.domain.action import Action, ActionState
from mios.domain.categorical import MISSING
from mios.domain.channel import ChannelName
from mios.domain.customer_table import CustomerTable
from mios.domain.governance import Finding, FindingSeverity
from mios.domain.guardrails import ContactPolicy
from mios.domain.outcome import OutcomeKind
from mios.domain.proposal import ActionKind, Decision, DecisionStatus, Proposal
from mios.governance.audience import recipients
from mios.governance.checkers.contact_policy import denied_mask
from mios.governance.review_context import Checker, ContactHistory, ReviewContext
from mios.lifecycle.services import CycleServices
from mios.types import IntArray, TimeArray

WEEK = timedelta(days=7)
#: The id of the checker whose verdict on a message the history changes.
CONTACT_POLICY = "contact-policy"
_SENT = frozenset({ActionState.EXECUTED, ActionState.MEASURED})
#: The parameter that says how many listed customers ``reachable_now`` left out of a message.
LEFT_OUT = "left_out_for_contact_policy"


def contact_history(
    services: CycleServices, snapshot: ContextSnapshot, now: datetime
) -> ContactHistory:
    """Per customer of ``snapshot``: the loop's messages today and this week per channel, and
    the last unsubscribe (see the module docstring for what counts)."""
    workspace = snapshot.workspace
    customers = snapshot.customers()
    policy = workspace.guardrails.contact
    windows = [b.measurement_window_days for b in workspace.playbooks]
    lookback = max(
        WEEK, timedelta(days=policy.cooldown_after_unsubscribe_days + max(windows, default=7))
    )
    sends = [(a, at) for a, at in loop_sends(services) if now - lookback < at <= now]
    day_start = local_day_start(customers, workspace.time_zone, now)
    n = len(customers)
    today: dict[ChannelName, IntArray] = {}
    week: dict[ChannelName, IntArray] = {}
    for action, at in sends:
        channel = action.channel
        if channel is None or at <= now - WEEK:
            continue
        rows = recipients(action, workspace, customers).positions
        # Rows of one audience are unique, so adding through them counts each customer once.
        week.setdefault(channel, np.zeros(n, dtype=np.int64))[rows] += 1
        stamp = np.datetime64(at.astimezone(UTC).replace(tzinfo=None), "s")
        today.setdefault(channel, np.zeros(n, dtype=np.int64))[rows[day_start[rows] <= stamp]] += 1
    return ContactHistory(
        today=today,
        week=week,
        last_unsubscribe=last_unsubscribe(services, customers, [a.id for a, _ in sends]),
        ignored_in_row=np.zeros(n, dtype=np.int64),
    )


def loop_sends(services: CycleServices) -> Iterator[tuple[Action, datetime]]:
    """Each message the loop's cycles executed to addressed customers, with when it moved to
    ``executed``. The governance store lists no actions, so the cycles name them."""
    store = services.command.store
    for cycle in services.cycles.cycles():
        for action_id in cycle.action_ids:
            action = store.action(action_id)
            if (
                action is None
                or action.kind is not ActionKind.SEND_MESSAGE
                or action.state not in _SENT
                or action.channel is None
                or not action.channel.addresses_customers
            ):
                continue
            executed = [t.at for t in action.history if t.to_state is ActionState.EXECUTED]
            if executed:
                yield action, executed[-1]


def local_day_start(customers: CustomerTable, default_zone: str, now: datetime) -> TimeArray:
    """Per customer, the UTC instant their local day of ``now`` began (computed once per
    distinct time zone); customers without a time zone live in ``default_zone``."""
    zones, which = np.unique(customers.time_zone.codes, return_inverse=True)
    names = customers.time_zone.categories
    starts = []
    for code in zones.tolist():
        local = now.astimezone(ZoneInfo(default_zone if code == MISSING else names[code]))
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        starts.append(np.datetime64(midnight.astimezone(UTC).replace(tzinfo=None), "s"))
    found: TimeArray = np.asarray(starts, dtype="datetime64[s]")[which]
    return found


def last_unsubscribe(
    services: CycleServices, customers: CustomerTable, action_ids: Sequence[str]
) -> TimeArray:
    """Per customer, the latest unsubscribe among the outcomes of ``action_ids`` that names
    them; NaT for the rest (and for customers the table no longer holds)."""
    last = np.full(len(customers), np.datetime64("NaT"), dtype="datetime64[s]")
    if not action_ids:
        return last
    latest: dict[str, datetime] = {}
    for outcome in services.outcomes.query(action_ids=action_ids):
        who = outcome.customer_id
        if outcome.kind is not OutcomeKind.UNSUBSCRIBE or who is None:
            continue
        if who not in latest or outcome.at > latest[who]:
            latest[who] = outcome.at
    if not latest:
        return last
    ids = list(latest)
    rows = customers.positions(ids)
    known = rows >= 0
    stamps = np.asarray(
        [np.datetime64(latest[i].astimezone(UTC).replace(tzinfo=None), "s") for i in ids],
        dtype="datetime64[s]",
    )
    last[rows[known]] = stamps[known]
    return last


def reachable_now(
    proposal: Proposal,
    history: ContactHistory,
    customers: CustomerTable,
    policy: ContactPolicy,
    now: datetime,
) -> Proposal:
    """``proposal`` without the customers it lists whom ``policy`` would deny a message on its
    channel now (in a cooldown, or past a daily or weekly cap with this message), their count
    in ``parameters[LEFT_OUT]`` (the action carries its proposal's parameters, not its
    rationale, so the count stays with what people approve); otherwise as it is.

    Only listed customers are left out: a segment is the platform's to target, and its members
    stay for the review to judge. A message that would list nobody is kept as it is, so the
    policy denies it whole and says why. Listed ids the table does not hold stay for the review
    to name."""
    audience = proposal.audience
    channel = proposal.channel
    if (
        proposal.kind is not ActionKind.SEND_MESSAGE
        or channel is None
        or not channel.addresses_customers
        or audience is None
        or not audience.customer_ids
    ):
        return proposal
    rows = customers.positions(list(audience.customer_ids))
    known = rows >= 0
    denied = np.zeros(len(rows), dtype=np.bool_)
    denied[known] = denied_mask(channel, rows[known], policy, history, now)
    left_out = int(denied.sum())
    if not left_out or (left_out == len(rows) and audience.segment_id is None):
        return proposal
    kept = tuple(c for c, d in zip(audience.customer_ids, denied.tolist(), strict=True) if not d)
    return replace(
        proposal,
        audience=replace(audience, customer_ids=kept),
        parameters={**proposal.parameters, LEFT_OUT: left_out},
    )


def reachable(
    proposals: Iterable[Proposal], context: ReviewContext, checkers: Iterable[Checker]
) -> tuple[Proposal, ...]:
    """``reachable_now`` of each of ``proposals`` on ``context`` when the contact policy is
    among ``checkers`` and ``context`` has a history; otherwise the proposals as they are."""
    history = context.contacts
    if history is None or not any(c.id == CONTACT_POLICY for c in checkers):
        return tuple(proposals)
    policy = context.workspace.guardrails.contact
    return tuple(
        reachable_now(p, history, context.customers, policy, context.now) for p in proposals
    )


def contact_denials(
    proposals: Iterable[Proposal], context: ReviewContext, checkers: Iterable[Checker]
) -> dict[str, tuple[Finding, ...]]:
    """The messages among ``proposals`` that the contact policy among ``checkers`` would deny
    on ``context``, each with the deny findings; none when no such checker is installed.

    A deny denies the whole message, and the brain selects a message whole, so one the review
    would deny is better kept from the brain than left to take budget and caps from the rest."""
    checker = next((c for c in checkers if c.id == CONTACT_POLICY), None)
    if checker is None:
        return {}
    denied: dict[str, tuple[Finding, ...]] = {}
    for proposal in proposals:
        if proposal.kind is not ActionKind.SEND_MESSAGE:
            continue
        check = checker.check(Action.from_proposal(proposal, proposal.id), context)
        found = tuple(f for f in check.findings if f.severity is FindingSeverity.DENY)
        if found:
            denied[proposal.id] = found
    return denied


def denied_reasons(findings: Iterable[Finding]) -> tuple[str, ...]:
    """Why a message was dropped before the brain: the contact policy's findings, by rule."""
    return tuple(
        f"governance would deny it: {f.rule_id}: {f.message}"
        + (f" (e.g. {f.value})" if f.value else "")
        for f in findings
    )


def with_denied(
    proposals: Sequence[Proposal],
    decided: Iterable[Decision],
    denied: Mapping[str, tuple[Finding, ...]],
    audiences: Mapping[str, IntArray],
    now: datetime,
) -> tuple[Decision, ...]:
    """The brain's ``decided`` and a dropped decision for each of ``denied`` (not forecast: it
    cannot run as proposed), in the proposals' order."""
    by_id = {d.proposal_id: d for d in decided}
    rule = RiskRule()
    for proposal in proposals:
        findings = denied.get(proposal.id)
        if findings is None:
            continue
        rows = audiences.get(proposal.id)
        by_id[proposal.id] = Decision(
            proposal_id=proposal.id,
            snapshot_version=proposal.snapshot_version,
            status=DecisionStatus.DROPPED,
            forecast=None,
            expected_value=0.0,
            confidence=0.0,
            risk=rule.tier(proposal, None if rows is None else len(rows)),
            reasons=denied_reasons(findings),
            decided_at=now,
        )
    return tuple(by_id[p.id] for p in proposals)
