"""Budget guardrails: a cap per action, daily and per-cycle caps per channel, how far one
``set_budget`` may move a channel's budget, and never more than the ledger still has.

A spend exactly at a cap is allowed; a cent above is not. For ``set_budget`` the action's
``spend`` is the new budget amount, so only the change limit applies to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.governance import Finding, FindingSeverity
from mios.domain.money import Money, to_decimal
from mios.domain.proposal import ActionKind
from mios.governance.review_context import Check, ReviewContext


class BudgetChecker:
    id: str = "budget"

    def check(self, action: Action, context: ReviewContext) -> Check:
        channel, spend = action.channel, action.spend
        if channel is None or spend is None:
            return Check()
        currency = context.workspace.currency
        if spend.currency != currency:
            message = f"spend is in {spend.currency}; the workspace budgets in {currency}"
            return Check((_deny("budget/currency", message),))
        if action.kind is ActionKind.SET_BUDGET:
            return Check(_change(channel, spend, context))
        return Check(_spending(channel, spend, context))


def _spending(channel: ChannelName, spend: Money, context: ReviewContext) -> tuple[Finding, ...]:
    rules = context.workspace.guardrails.budget
    currency = spend.currency
    findings: list[Finding] = []
    if rules.per_action_max is not None and spend.amount > rules.per_action_max:
        cap = Money(rules.per_action_max, currency)
        findings.append(_deny("budget/per-action", f"spend {spend} is above the cap of {cap}"))
    caps: tuple[tuple[str, str, Mapping[ChannelName, Decimal], Mapping[ChannelName, Decimal]], ...]
    caps = (
        ("daily", "today", rules.daily_max, context.spent_today),
        ("cycle", "this cycle", rules.cycle_max, context.spent_this_cycle),
    )
    for name, when, limits, spent in caps:
        limit = limits.get(channel)
        if limit is None:
            continue
        total = spent.get(channel, Decimal(0)) + spend.amount
        if total > limit:
            findings.append(
                _deny(
                    f"budget/{name}",
                    f"{channel} spend {when} would reach {Money(total, currency)}, above the "
                    f"{name} cap of {Money(limit, currency)}",
                )
            )
    ledger = context.ledger
    if channel not in ledger.budgets:
        findings.append(_deny("budget/ledger", f"{channel} has no budget to spend from"))
    else:
        available = ledger.position(channel, context.now).available
        if spend > available:
            period = ledger.budget(channel).period
            findings.append(
                _deny(
                    "budget/ledger",
                    f"spend {spend} is more than the {available} still available for "
                    f"{channel} in this {period} budget",
                )
            )
    return tuple(findings)


def _change(channel: ChannelName, new: Money, context: ReviewContext) -> tuple[Finding, ...]:
    budget = next((b for b in context.workspace.budgets if b.channel == channel), None)
    if budget is None or budget.max_change_pct is None:
        return ()
    old = budget.amount.amount
    limit = to_decimal(budget.max_change_pct)
    if old == 0:
        # From nothing, any amount is an unbounded change.
        too_far, moved = new.amount > 0, "from zero"
    else:
        pct = abs(new.amount - old) / old * 100
        too_far, moved = pct > limit, f"by {pct:.1f}%"
    if not too_far:
        return ()
    return (
        _deny(
            "budget/max-change",
            f"setting the {channel} budget from {budget.amount} to {new} moves it {moved}; one "
            f"change may move it at most {limit}%",
        ),
    )


def _deny(rule_id: str, message: str) -> Finding:
    return Finding(rule_id, message, FindingSeverity.DENY)
