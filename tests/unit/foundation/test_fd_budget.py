"""Budget periods and the ledger of commitments, releases and spend against them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mios.domain.budget import (
    Budget,
    BudgetLedger,
    BudgetPeriod,
    ChannelPosition,
    EntryKind,
    LedgerEntry,
)
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.errors import BudgetExceeded, DomainError

EMAIL = ChannelName.EMAIL
SMS = ChannelName.SMS
JAN = datetime(2024, 1, 15, 12, tzinfo=UTC)
FEB = datetime(2024, 2, 1, 0, tzinfo=UTC)


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def ledger(period: BudgetPeriod = BudgetPeriod.MONTHLY, amount: str = "100.00") -> BudgetLedger:
    return BudgetLedger.for_budgets([Budget(EMAIL, period, usd(amount))])


class TestBounds:
    @pytest.mark.parametrize(
        ("day", "start", "end"),
        [
            (date(2024, 1, 1), date(2024, 1, 1), date(2024, 1, 8)),  # a Monday
            (date(2024, 1, 7), date(2024, 1, 1), date(2024, 1, 8)),  # a Sunday
            (date(2024, 1, 3), date(2024, 1, 1), date(2024, 1, 8)),
            (date(2024, 12, 31), date(2024, 12, 30), date(2025, 1, 6)),  # across New Year
            (date(2025, 1, 2), date(2024, 12, 30), date(2025, 1, 6)),
            (date(2024, 2, 29), date(2024, 2, 26), date(2024, 3, 4)),
        ],
    )
    def test_weekly_runs_monday_to_monday(self, day: date, start: date, end: date) -> None:
        assert BudgetPeriod.WEEKLY.bounds(day) == (start, end)
        assert start.weekday() == 0
        assert end - start == timedelta(days=7)

    @pytest.mark.parametrize(
        ("day", "start", "end"),
        [
            (date(2024, 1, 1), date(2024, 1, 1), date(2024, 2, 1)),
            (date(2024, 1, 31), date(2024, 1, 1), date(2024, 2, 1)),
            (date(2024, 2, 29), date(2024, 2, 1), date(2024, 3, 1)),
            (date(2024, 11, 30), date(2024, 11, 1), date(2024, 12, 1)),
            (date(2024, 12, 1), date(2024, 12, 1), date(2025, 1, 1)),
            (date(2024, 12, 31), date(2024, 12, 1), date(2025, 1, 1)),
        ],
    )
    def test_monthly(self, day: date, start: date, end: date) -> None:
        assert BudgetPeriod.MONTHLY.bounds(day) == (start, end)

    @pytest.mark.parametrize(
        ("day", "start", "end"),
        [
            (date(2024, 1, 1), date(2024, 1, 1), date(2024, 4, 1)),
            (date(2024, 3, 31), date(2024, 1, 1), date(2024, 4, 1)),
            (date(2024, 4, 1), date(2024, 4, 1), date(2024, 7, 1)),
            (date(2024, 6, 30), date(2024, 4, 1), date(2024, 7, 1)),
            (date(2024, 8, 15), date(2024, 7, 1), date(2024, 10, 1)),
            (date(2024, 10, 1), date(2024, 10, 1), date(2025, 1, 1)),
            (date(2024, 11, 15), date(2024, 10, 1), date(2025, 1, 1)),
            (date(2024, 12, 31), date(2024, 10, 1), date(2025, 1, 1)),
        ],
    )
    def test_quarterly(self, day: date, start: date, end: date) -> None:
        assert BudgetPeriod.QUARTERLY.bounds(day) == (start, end)

    @pytest.mark.parametrize("period", list(BudgetPeriod))
    def test_every_day_of_a_year_lies_in_its_period(self, period: BudgetPeriod) -> None:
        day = date(2023, 12, 20)
        while day < date(2025, 1, 10):
            start, end = period.bounds(day)
            assert start <= day < end
            assert period.bounds(start) == (start, end)
            assert period.bounds(end - timedelta(days=1)) == (start, end)
            assert period.bounds(end)[0] == end
            day += timedelta(days=1)


class TestBudgetAndEntries:
    def test_negative_budget_raises(self) -> None:
        with pytest.raises(DomainError, match="must not be negative"):
            Budget(EMAIL, BudgetPeriod.MONTHLY, usd("-0.01"))

    def test_negative_ledger_amount_raises(self) -> None:
        with pytest.raises(DomainError, match="ledger amounts are positive"):
            LedgerEntry(EMAIL, EntryKind.COMMIT, usd("-1"), JAN)

    def test_naive_ledger_timestamp_raises(self) -> None:
        with pytest.raises(DomainError, match="timezone-aware"):
            LedgerEntry(EMAIL, EntryKind.COMMIT, usd("1"), datetime(2024, 1, 1))

    def test_available(self) -> None:
        position = ChannelPosition(usd("100"), usd("30"), usd("20.50"))
        assert position.available == usd("49.50")


class TestLedger:
    def test_fresh_ledger_has_the_whole_budget(self) -> None:
        position = ledger().position(EMAIL, JAN)
        assert position.budget == usd("100.00")
        assert position.committed == usd("0")
        assert position.spent == usd("0")
        assert position.available == usd("100.00")

    def test_commit_exactly_at_the_cap_is_allowed(self) -> None:
        after = ledger().commit(EMAIL, usd("40"), JAN).commit(EMAIL, usd("60"), JAN)
        assert after.position(EMAIL, JAN).available == usd("0")

    def test_commit_one_cent_above_the_cap_raises(self) -> None:
        with pytest.raises(BudgetExceeded, match="would exceed"):
            ledger().commit(EMAIL, usd("100.01"), JAN)
        nearly = ledger().commit(EMAIL, usd("99.99"), JAN)
        with pytest.raises(BudgetExceeded):
            nearly.commit(EMAIL, usd("0.02"), JAN)
        assert nearly.commit(EMAIL, usd("0.01"), JAN).position(EMAIL, JAN).available == usd("0")

    def test_a_failed_commit_leaves_the_ledger_unchanged(self) -> None:
        base = ledger().commit(EMAIL, usd("10"), JAN, action_id="a1")
        with pytest.raises(BudgetExceeded):
            base.commit(EMAIL, usd("95"), JAN)
        assert len(base.entries) == 1
        assert base.entries[0].action_id == "a1"

    def test_ledger_is_append_only_and_returns_new_ledgers(self) -> None:
        base = ledger()
        after = base.commit(EMAIL, usd("10"), JAN)
        assert base.entries == ()
        assert [e.kind for e in after.entries] == [EntryKind.COMMIT]

    def test_release_returns_budget(self) -> None:
        after = ledger().commit(EMAIL, usd("70"), JAN).release(EMAIL, usd("20"), JAN)
        position = after.position(EMAIL, JAN)
        assert position.committed == usd("50")
        assert position.available == usd("50")

    def test_release_everything_committed_is_allowed(self) -> None:
        after = ledger().commit(EMAIL, usd("70"), JAN).release(EMAIL, usd("70"), JAN)
        assert after.position(EMAIL, JAN).committed == usd("0")

    def test_release_more_than_committed_raises(self) -> None:
        committed = ledger().commit(EMAIL, usd("70"), JAN)
        with pytest.raises(DomainError, match="cannot release more than is committed"):
            committed.release(EMAIL, usd("70.01"), JAN)
        with pytest.raises(DomainError, match="cannot release"):
            ledger().release(EMAIL, usd("0.01"), JAN)

    def test_spend_may_overdraw(self) -> None:
        after = ledger().commit(EMAIL, usd("100"), JAN).spend(EMAIL, usd("30"), JAN)
        position = after.position(EMAIL, JAN)
        assert position.spent == usd("30")
        assert position.available == usd("-30")
        assert position.available.is_negative()
        with pytest.raises(BudgetExceeded):
            after.commit(EMAIL, usd("0.01"), JAN)

    def test_entries_in_another_period_do_not_count(self) -> None:
        january = ledger().commit(EMAIL, usd("100"), JAN).spend(EMAIL, usd("5"), JAN)
        assert january.position(EMAIL, FEB).available == usd("100")
        february = january.commit(EMAIL, usd("100"), FEB)
        assert february.position(EMAIL, JAN).committed == usd("100")
        assert february.position(EMAIL, FEB).committed == usd("100")

    def test_weekly_budget_resets_on_monday(self) -> None:
        sunday = datetime(2024, 1, 7, 23, 59, tzinfo=UTC)
        monday = datetime(2024, 1, 8, 0, 0, tzinfo=UTC)
        spent = ledger(BudgetPeriod.WEEKLY).commit(EMAIL, usd("100"), sunday)
        assert spent.position(EMAIL, sunday).available == usd("0")
        assert spent.position(EMAIL, monday).available == usd("100")

    def test_entries_for_another_channel_do_not_count(self) -> None:
        both = BudgetLedger.for_budgets(
            [
                Budget(EMAIL, BudgetPeriod.MONTHLY, usd("100")),
                Budget(SMS, BudgetPeriod.MONTHLY, usd("10")),
            ]
        )
        after = both.commit(EMAIL, usd("100"), JAN)
        assert after.position(SMS, JAN).available == usd("10")
        with pytest.raises(BudgetExceeded):
            after.commit(SMS, usd("10.01"), JAN)

    @pytest.mark.parametrize("method", ["commit", "release", "spend"])
    def test_currency_mismatch_raises(self, method: str) -> None:
        base = ledger().commit(EMAIL, usd("50"), JAN)
        with pytest.raises(DomainError) as raised:
            getattr(base, method)(EMAIL, Money.parse("1 EUR", "USD"), JAN)
        assert not isinstance(raised.value, BudgetExceeded)
        assert "EUR" in str(raised.value) or "currency" in str(raised.value)

    def test_two_budgets_for_one_channel_raise(self) -> None:
        with pytest.raises(DomainError, match="has two budgets"):
            BudgetLedger.for_budgets(
                [
                    Budget(EMAIL, BudgetPeriod.MONTHLY, usd("1")),
                    Budget(EMAIL, BudgetPeriod.WEEKLY, usd("2")),
                ]
            )

    @pytest.mark.parametrize("method", ["commit", "release", "spend", "position"])
    def test_channel_without_a_budget_raises(self, method: str) -> None:
        call = getattr(ledger(), method)
        with pytest.raises(DomainError, match="no budget for channel sms"):
            call(SMS, JAN) if method == "position" else call(SMS, usd("1"), JAN)
