"""Budget guardrails at their edges: exactly at a cap is allowed, one cent above is not."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.proposal import ActionKind
from mios.governance.checkers.budget import BudgetChecker
from mios.governance.review_context import ReviewContext
from tests.unit.governance.checker_world import (
    EMAIL,
    NOW,
    PUSH,
    SMS,
    context,
    denied,
    finding,
    workspace,
)

CAPS = {
    "budget": {
        "per_action_max": "150.00",
        "daily_max": {"email": "200.00"},
        "cycle_max": {"email": "250.00"},
    }
}


def spending(amount: str, channel: ChannelName = EMAIL, currency: str = "USD") -> Action:
    return Action(
        id="a1",
        proposal_id="p1",
        kind=ActionKind.ADJUST_BID,
        snapshot_version=1,
        channel=channel,
        spend=Money(Decimal(amount), currency),
    )


def set_budget(amount: str, channel: ChannelName = EMAIL) -> Action:
    return Action(
        id="a1",
        proposal_id="p1",
        kind=ActionKind.SET_BUDGET,
        snapshot_version=1,
        channel=channel,
        spend=Money.parse(amount, "USD"),
    )


# Email: a 1,000.00 monthly budget that one change may move by 25%, and the CAPS above;
# SMS: a 500.00 monthly budget with no change limit; push: no budget at all.
CASES: list[tuple[str, Action, dict[str, Any], set[str]]] = [
    ("per-action cap exactly", spending("150.00", SMS), {}, set()),
    ("per-action cap plus a cent", spending("150.01", SMS), {}, {"per-action"}),
    ("daily cap exactly", spending("50.00"), {"spent_today": {EMAIL: Decimal("150.00")}}, set()),
    (
        "daily cap plus a cent",
        spending("50.01"),
        {"spent_today": {EMAIL: Decimal("150.00")}},
        {"daily"},
    ),
    (
        "cycle cap exactly",
        spending("100.00"),
        {"spent_this_cycle": {EMAIL: Decimal("150.00")}},
        set(),
    ),
    (
        "cycle cap plus a cent",
        spending("100.01"),
        {"spent_this_cycle": {EMAIL: Decimal("150.00")}},
        {"cycle"},
    ),
    ("a channel without daily or cycle caps", spending("149.00", SMS), {}, set()),
    ("a channel without a budget", spending("1.00", PUSH), {}, {"ledger"}),
    ("a spend in another currency", spending("1.00", currency="EUR"), {}, {"currency"}),
    ("budget up exactly 25%", set_budget("1250.00"), {}, set()),
    ("budget up 25% and a cent", set_budget("1250.01"), {}, {"max-change"}),
    ("budget down exactly 25%", set_budget("750.00"), {}, set()),
    ("budget down 25% and a cent", set_budget("749.99"), {}, {"max-change"}),
    ("a budget with no change limit", set_budget("5000.00", SMS), {}, set()),
    ("a new budget is no change", set_budget("5000.00", PUSH), {}, set()),
]


@pytest.mark.parametrize(("name", "action", "spent", "expected"), CASES, ids=[c[0] for c in CASES])
def test_budget(name: str, action: Action, spent: dict[str, Any], expected: set[str]) -> None:
    check = BudgetChecker().check(action, context(workspace(governance=CAPS), **spent))
    assert denied(check) == {f"budget/{rule}" for rule in expected}


def test_the_ledger_is_never_overdrawn() -> None:
    shop = workspace()
    committed = shop.empty_ledger().commit(EMAIL, Money.parse("600.00", "USD"), NOW)
    people = context(shop).customers
    at_limit = BudgetChecker().check(
        spending("400.00"), ReviewContext(shop, people, committed, NOW)
    )
    assert at_limit.findings == ()
    over = BudgetChecker().check(spending("400.01"), ReviewContext(shop, people, committed, NOW))
    assert denied(over) == {"budget/ledger"}
    assert "400.00 USD still available" in finding(over, "budget/ledger").message


def test_a_budget_of_zero_cannot_be_raised_past_its_limit() -> None:
    shop = workspace(budgets={"email": {"period": "monthly", "amount": 0, "max_change_pct": 50}})
    check = BudgetChecker().check(set_budget("0.01"), context(shop))
    assert "from zero" in finding(check, "budget/max-change").message
    assert BudgetChecker().check(set_budget("0"), context(shop)).findings == ()


def test_an_action_without_spend_is_not_checked() -> None:
    action = Action(
        id="a", proposal_id="p", kind=ActionKind.ADJUST_BID, snapshot_version=1, channel=EMAIL
    )
    assert BudgetChecker().check(action, context(workspace(governance=CAPS))).findings == ()
