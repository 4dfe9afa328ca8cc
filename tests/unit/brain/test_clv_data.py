"""From transactions to (frequency, recency, T, monetary): one purchase per customer and day,
birth at the first purchase, the observation end, weeks and days, and refusals."""

from __future__ import annotations

import numpy as np
import pytest

from mios.brain.clv_data import summarize
from mios.errors import ModelInputError

CUSTOMER = np.array(["b", "a", "a", "a", "b", "a", "c"])
DAY = np.array(
    [
        "2024-01-10",
        "2024-01-01",
        "2024-01-01",  # a second order on a's first day: the same purchase
        "2024-01-15",
        "2024-02-01",  # after the end used below
        "2024-01-29",
        "2024-01-20",
    ],
    dtype="datetime64[D]",
)
AMOUNT = np.array([20.0, 10.0, 5.0, 30.0, 99.0, 50.0, 7.0])


def test_a_summary_per_customer_in_days() -> None:
    summary = summarize(CUSTOMER, DAY, AMOUNT, np.datetime64("2024-01-31"), "day")
    assert list(summary.customer) == ["a", "b", "c"]
    assert list(summary.frequency) == [2, 0, 0]  # a: 1/01 (twice), 1/15, 1/29
    assert list(summary.recency) == [28, 0, 0]
    assert list(summary.T) == [30, 21, 11]
    assert list(summary.monetary) == [40.0, 0.0, 0.0]  # mean of 30 and 50; 1/01 is the birth
    assert summary.transactions == 6  # b's February order is after the end
    assert summary.repeat_customers == 1
    assert str(summary.until) == "2024-01-31"
    assert [str(d) for d in summary.first] == ["2024-01-01", "2024-01-10", "2024-01-20"]


def test_weeks_are_days_over_seven_and_the_end_defaults_to_the_last_day() -> None:
    summary = summarize(CUSTOMER, DAY, AMOUNT, time_unit="week")
    assert str(summary.until) == "2024-02-01"
    assert summary.frequency[1] == 1  # b's February purchase is now in
    assert summary.recency[1] == pytest.approx(22 / 7)
    assert summary.T[0] == pytest.approx(31 / 7)
    assert summary.monetary[1] == 99.0


def test_same_day_purchases_add_their_amounts() -> None:
    summary = summarize(
        np.array(["a", "a", "a", "a"]),
        np.array(["2024-01-01", "2024-01-05", "2024-01-05", "2024-01-09"], dtype="datetime64[D]"),
        np.array([1.0, 2.0, 3.0, 7.0]),
        time_unit="day",
    )
    assert summary.frequency[0] == 2
    assert summary.monetary[0] == pytest.approx((5.0 + 7.0) / 2)


def test_customers_born_after_the_end_are_left_out() -> None:
    summary = summarize(CUSTOMER, DAY, AMOUNT, np.datetime64("2024-01-12"), "day")
    assert list(summary.customer) == ["a", "b"]


def test_bad_transactions_are_refused_naming_the_row() -> None:
    with pytest.raises(ModelInputError, match="amount at row 1 is -5: amounts must be finite"):
        summarize(CUSTOMER[:3], DAY[:3], np.array([1.0, -5.0, 2.0]))
    with pytest.raises(ModelInputError, match="no transaction on or before 2023-12-31"):
        summarize(CUSTOMER, DAY, AMOUNT, np.datetime64("2023-12-31"))
    with pytest.raises(ModelInputError, match="time_unit must be 'day' or 'week'"):
        summarize(CUSTOMER, DAY, AMOUNT, time_unit="month")  # type: ignore[arg-type]
    with pytest.raises(ModelInputError, match="1-d arrays of one length"):
        summarize(CUSTOMER, DAY[:3], AMOUNT)
    with pytest.raises(ModelInputError, match="there are no transactions"):
        summarize(CUSTOMER[:0], DAY[:0], AMOUNT[:0])
    with pytest.raises(ModelInputError, match="day at row 1 is missing"):
        summarize(CUSTOMER[:2], np.array(["2024-01-01", "NaT"], dtype="datetime64[D]"), AMOUNT[:2])


def test_a_million_transactions_summarise_quickly() -> None:
    rng = np.random.default_rng(0)
    rows = 1_000_000
    ids = rng.integers(0, 100_000, rows).astype(str)
    days = np.datetime64("2024-01-01") + rng.integers(0, 365, rows).astype("timedelta64[D]")
    summary = summarize(ids, days, rng.gamma(2.0, 20.0, rows), time_unit="week")
    assert summary.customers == np.unique(ids).size
    assert (summary.recency <= summary.T).all()
    offsets = (days - np.datetime64("2024-01-01")).astype(np.int64)
    purchase_days = np.unique(ids.astype(np.int64) * 1000 + offsets).size
    assert (summary.frequency + 1).sum() == purchase_days
