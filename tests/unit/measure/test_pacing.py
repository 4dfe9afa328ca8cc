"""Budget pacing: spend so far against the elapsed share of each period's budget."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from mios.domain.budget import Budget, BudgetLedger, BudgetPeriod
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.outcome import Outcome, OutcomeKind
from mios.errors import DomainError
from mios.measure.pacing import PaceStatus, elapsed_share, pacing, spend_in_period

EMAIL, SEARCH = ChannelName.EMAIL, ChannelName.PAID_SEARCH
# 2026-11-16 00:00 UTC: half of November (30 days) has passed.
MID_NOVEMBER = datetime(2026, 11, 16, tzinfo=UTC)


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def monthly(channel: ChannelName, amount: str) -> Budget:
    return Budget(channel, BudgetPeriod.MONTHLY, usd(amount))


def spend(n: int, channel: ChannelName | None, amount: str, at: datetime, **more: str) -> Outcome:
    return Outcome(
        id=f"s{n}", kind=OutcomeKind.SPEND, at=at, channel=channel, value=usd(amount), **more
    )


def test_elapsed_share_runs_from_zero_to_one_over_the_period() -> None:
    start, end = date(2026, 11, 1), date(2026, 12, 1)
    assert elapsed_share(start, end, datetime(2026, 11, 1, tzinfo=UTC)) == 0
    assert elapsed_share(start, end, MID_NOVEMBER) == pytest.approx(0.5)
    assert elapsed_share(start, end, datetime(2027, 1, 1, tzinfo=UTC)) == 1


@pytest.mark.parametrize(
    ("spent", "status", "pace_pct"),
    [
        ("500", PaceStatus.ON_PACE, 100.0),
        ("540", PaceStatus.ON_PACE, 108.0),
        ("560", PaceStatus.AHEAD, 112.0),
        ("300", PaceStatus.BEHIND, 60.0),
    ],
)
def test_status_against_plan(spent: str, status: PaceStatus, pace_pct: float) -> None:
    (pace,) = pacing([monthly(EMAIL, "1000")], MID_NOVEMBER, {EMAIL: usd(spent)})
    assert pace.planned == usd("500.0")
    assert pace.status is status
    assert pace.pace_pct == pytest.approx(pace_pct)
    assert pace.spent_pct == pytest.approx(float(spent) / 10)
    assert pace.projected == usd(str(Decimal(spent) * 2))
    assert (pace.period_start, pace.period_end) == (date(2026, 11, 1), date(2026, 12, 1))


def test_at_the_start_of_a_period_any_spend_is_ahead_and_none_is_on_pace() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    quiet, busy = pacing(
        [monthly(EMAIL, "1000"), monthly(SEARCH, "1000")], start, {SEARCH: usd("1")}
    )
    assert quiet.status is PaceStatus.ON_PACE
    assert quiet.pace_pct is None
    assert quiet.projected is None
    assert busy.status is PaceStatus.AHEAD


def test_over_budget_is_flagged_and_serialised() -> None:
    (pace,) = pacing([monthly(EMAIL, "1000")], MID_NOVEMBER, {EMAIL: usd("1200")})
    assert pace.over_budget
    row = pace.as_dict()
    assert row["status"] == "ahead"
    assert row["over_budget"] is True
    assert row["planned"] == "500.00"
    assert row["projected"] == "2400.00"
    assert row["elapsed_pct"] == 50.0


def test_spend_comes_from_the_ledger_and_from_outcomes_without_counting_twice() -> None:
    budgets = [monthly(EMAIL, "1000"), monthly(SEARCH, "5000")]
    ledger = BudgetLedger.for_budgets(budgets)
    ledger = ledger.spend(EMAIL, usd("100"), datetime(2026, 11, 3, tzinfo=UTC), action_id="a1")
    ledger = ledger.spend(EMAIL, usd("999"), datetime(2026, 10, 31, tzinfo=UTC))  # last month
    outcomes = [
        spend(1, EMAIL, "100", datetime(2026, 11, 3, tzinfo=UTC), action_id="a1"),  # in ledger
        spend(2, EMAIL, "40", datetime(2026, 11, 4, tzinfo=UTC), action_id="a2"),
        spend(3, SEARCH, "700", datetime(2026, 11, 10, tzinfo=UTC)),
        spend(4, SEARCH, "1", datetime(2026, 10, 30, tzinfo=UTC)),  # before the period
        spend(5, None, "5", datetime(2026, 11, 10, tzinfo=UTC)),  # no channel to pace
        Outcome(
            id="eur",
            kind=OutcomeKind.SPEND,
            at=datetime(2026, 11, 10, tzinfo=UTC),
            channel=SEARCH,
            value=Money(Decimal(9), "EUR"),
        ),
    ]
    spent = spend_in_period(budgets, MID_NOVEMBER, ledger=ledger, outcomes=outcomes)
    assert spent == {EMAIL: usd("140"), SEARCH: usd("700")}
    email, search = pacing(budgets, MID_NOVEMBER, spent)
    assert email.status is PaceStatus.BEHIND
    assert search.status is PaceStatus.BEHIND
    assert search.pace_pct == pytest.approx(28.0)


def test_weekly_and_quarterly_periods_use_their_own_bounds() -> None:
    budgets = [
        Budget(EMAIL, BudgetPeriod.WEEKLY, usd("700")),
        Budget(SEARCH, BudgetPeriod.QUARTERLY, usd("9200")),
    ]
    weekly, quarterly = pacing(budgets, MID_NOVEMBER, {})  # a Monday
    assert (weekly.period_start, weekly.elapsed_share) == (date(2026, 11, 16), 0.0)
    assert quarterly.period_start == date(2026, 10, 1)
    assert quarterly.elapsed_share == pytest.approx(46 / 92)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(DomainError, match="tolerance"):
        pacing([], MID_NOVEMBER, {}, tolerance=1.5)
    with pytest.raises(DomainError, match="EUR"):
        pacing([monthly(EMAIL, "10")], MID_NOVEMBER, {EMAIL: Money(Decimal(1), "EUR")})
    with pytest.raises(DomainError, match="aware"):
        pacing([], datetime(2026, 11, 16), {})
