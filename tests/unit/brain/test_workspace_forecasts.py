"""The brain's forecasts for agents, from channel history: every answer an estimate with an
interval that holds its mean, unseen cells less sure than seen ones, ``None`` (never NaN) where
there is nothing to go on, and known rates, ROAS and marginal ROAS recovered from synthetic
history."""

from __future__ import annotations

import math
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from mios.agents.protocol import Forecasts
from mios.brain.workspace_forecasts import Estimate, HistoryForecasts, MeasuredCell
from mios.context.examples import write_example
from mios.context.translate import build_workspace
from mios.context.workspace_files import LoadedWorkspace, load_workspace
from mios.domain.channel import ChannelName
from mios.domain.history import ChannelHistory, ChannelWeek
from mios.domain.money import Money
from mios.domain.workspace import Workspace
from mios.errors import NotFittedError
from tests.support.workspaces import minimal_spec

START = date(2024, 11, 18)  # a Monday


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> LoadedWorkspace:
    root: Path = tmp_path_factory.mktemp("retail")
    write_example(root, "retail", customers=500, seed=5)
    return load_workspace(root)


@pytest.fixture(scope="module")
def forecasts(loaded: LoadedWorkspace) -> HistoryForecasts:
    return HistoryForecasts.from_history(build_workspace(loaded.spec), loaded.history, seed=3)


def usd(x: float) -> Money:
    return Money(Decimal(str(round(x, 2))), "USD")


def week(
    i: int, channel: ChannelName, spend: float, imp: int, conv: int, rev: float
) -> ChannelWeek:
    return ChannelWeek(
        START + timedelta(days=7 * i), channel, usd(spend), imp, imp // 50, conv, usd(rev)
    )


def synthetic(seed: int, weeks: int = 104, rate: float = 0.002) -> ChannelHistory:
    """paid_search: spend drawn at random each week, revenue 40 sqrt(spend) (so the marginal
    ROAS at spend s is 20 / sqrt(s)), conversions Binomial(200,000, rate); email: conversions
    and revenue without spend."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(weeks):
        spend = float(rng.uniform(2_000, 8_000))
        revenue = 40.0 * spend**0.5 * float(rng.lognormal(0.0, 0.05))
        rows.append(
            week(
                i,
                ChannelName.PAID_SEARCH,
                spend,
                200_000,
                int(rng.binomial(200_000, rate)),
                revenue,
            )
        )
        rows.append(week(i, ChannelName.EMAIL, 0.0, 50_000, 150, 150 * 90.0))
    return ChannelHistory(tuple(rows))


def workspace() -> Workspace:
    return build_workspace(minimal_spec())


def check(estimate: Estimate | None) -> None:
    if estimate is not None:
        assert all(math.isfinite(x) for x in (estimate.mean, estimate.low, estimate.high))
        assert estimate.low <= estimate.mean <= estimate.high


def test_it_is_the_agents_forecasts_and_every_interval_holds_its_mean(
    forecasts: HistoryForecasts,
) -> None:
    service: Forecasts = forecasts  # structural: the brain never imports the agents
    for channel in ChannelName:
        for offer in (None, "winback-15", "no-such-offer"):
            rate = service.response_rate("vip", channel, offer, "warmth")
            assert isinstance(rate, Estimate)
            check(rate)
            assert 0.0 <= rate.low <= rate.high <= 1.0
            check(forecasts.order_value(channel, offer))
        check(forecasts.roas(channel))
        check(forecasts.marginal_roas(channel))
    # The example history has every channel but push: push has no ROAS, the rest do.
    assert forecasts.roas(ChannelName.PUSH) is None
    assert forecasts.marginal_roas(ChannelName.PUSH) is None
    assert forecasts.roas(ChannelName.PAID_SEARCH) is not None
    assert forecasts.marginal_roas(ChannelName.DISPLAY) is not None


def test_unseen_cells_are_less_sure_than_seen_ones(forecasts: HistoryForecasts) -> None:
    def width(e: Estimate) -> float:
        return (e.high - e.low) / e.mean

    plain = forecasts.response_rate("vip", ChannelName.EMAIL, None, None)
    offered = forecasts.response_rate("vip", ChannelName.EMAIL, "winback-15", None)
    unseen_channel = forecasts.response_rate("vip", ChannelName.PUSH, None, None)
    assert offered.mean == pytest.approx(plain.mean, rel=1e-6)  # it borrows the channel's rate
    assert width(offered) > width(plain)  # the offer level adds its spread
    assert width(unseen_channel) > width(offered)  # a channel never seen knows least
    value = forecasts.order_value(ChannelName.EMAIL, None)
    assert value is not None
    value_offer = forecasts.order_value(ChannelName.EMAIL, "no-such-offer")
    assert value_offer is not None
    assert width(value_offer) > width(value)


def test_cells_earlier_cycles_measured_are_forecast_from_what_they_did(
    loaded: LoadedWorkspace,
) -> None:
    # vip email with the win-back offer converted 6% of 2,000 messages, three times the
    # channel's history; the VIP early-access cell was never sent.
    workspace = build_workspace(loaded.spec)
    base = HistoryForecasts.from_history(workspace, loaded.history, seed=3)
    channel = base.response_rate("vip", ChannelName.EMAIL, None, None).mean
    sent = MeasuredCell("vip", "email", "winback-15", "value", 2000, 120, 120 * 118.0)
    unnamed = MeasuredCell("lapsed", "email", "-", "-", 2000, 2, 200.0)
    forecasts = HistoryForecasts.from_history(
        workspace, loaded.history, seed=3, measured=[sent, unnamed]
    )

    seen = forecasts.response_rate("vip", ChannelName.EMAIL, "winback-15", "value")
    before = base.response_rate("vip", ChannelName.EMAIL, "winback-15", "value")
    assert seen.mean > 0.04 > 3 * channel
    assert seen.low <= 0.06 <= seen.high
    assert (seen.high - seen.low) / seen.mean < (before.high - before.low) / before.mean
    # A message that named no offer or angle is the cell the model names with ANY.
    assert unnamed.key == ("lapsed", "email", "*", "*")
    plain = forecasts.response_rate("lapsed", ChannelName.EMAIL, None, None)
    assert plain.mean < channel
    # A cell never sent borrows from its channel and stays as unsure as before.
    other = forecasts.response_rate("vip", ChannelName.EMAIL, "vip-early-access", "value")
    assert other.mean < seen.mean
    assert other.high > other.mean > other.low
    assert forecasts.response_rate("vip", ChannelName.SMS, "winback-15", "value") == (
        base.response_rate("vip", ChannelName.SMS, "winback-15", "value")
    )


def test_an_authored_offer_sets_the_order_value(loaded: LoadedWorkspace) -> None:
    forecasts = HistoryForecasts.from_history(build_workspace(loaded.spec), loaded.history)
    bundle = forecasts.order_value(ChannelName.EMAIL, "layering-bundle")
    assert bundle is not None
    assert bundle.mean == pytest.approx(265.0)  # the offer's average order value
    assert bundle.low < 265.0 < bundle.high


def test_none_never_nan_without_spend_or_history() -> None:
    history = synthetic(1)
    forecasts = HistoryForecasts.from_history(workspace(), history)
    assert forecasts.roas(ChannelName.EMAIL) is None  # conversions, but no spend
    assert forecasts.marginal_roas(ChannelName.EMAIL) is None
    assert forecasts.roas(ChannelName.DISPLAY) is None  # no history at all
    assert forecasts.marginal_roas(ChannelName.DISPLAY) is None
    empty = HistoryForecasts.from_history(workspace(), ChannelHistory())
    rate = empty.response_rate("vip", ChannelName.EMAIL, None, None)
    assert rate.mean == pytest.approx(0.01)  # Beta(1, 99)
    assert empty.order_value(ChannelName.EMAIL, None) is None
    assert empty.roas(ChannelName.EMAIL) is None
    assert empty.marginal_roas(ChannelName.EMAIL) is None


def test_too_few_weeks_for_a_curve_gives_none_but_still_a_roas() -> None:
    forecasts = HistoryForecasts.from_history(workspace(), synthetic(2, weeks=12))
    assert forecasts.marginal_roas(ChannelName.PAID_SEARCH) is None
    check(forecasts.roas(ChannelName.PAID_SEARCH))
    assert forecasts.roas(ChannelName.PAID_SEARCH) is not None


@pytest.mark.parametrize("seed", [0, 1])
def test_recovers_a_known_rate_roas_and_marginal_roas(seed: int) -> None:
    history = synthetic(seed)
    forecasts = HistoryForecasts.from_history(workspace(), history, seed=seed)
    rate = forecasts.response_rate("anyone", ChannelName.PAID_SEARCH, None, None)
    assert rate.low <= 0.002 <= rate.high
    assert rate.mean == pytest.approx(0.002, rel=0.05)
    recent = history.for_channel(ChannelName.PAID_SEARCH)[-13:]
    spend = np.asarray([float(w.spend.amount) for w in recent])
    revenue = np.asarray([float(w.revenue.amount) for w in recent])
    roas = forecasts.roas(ChannelName.PAID_SEARCH)
    assert roas is not None
    assert roas.mean == pytest.approx(revenue.sum() / spend.sum())
    truth = float(np.mean(40.0 * np.sqrt(spend) / spend))  # no noise: 40 / sqrt(s) a week
    assert roas.low <= truth <= roas.high
    marginal = forecasts.marginal_roas(ChannelName.PAID_SEARCH)
    assert marginal is not None
    true_marginal = 20.0 / math.sqrt(float(spend.mean()))
    assert marginal.mean == pytest.approx(true_marginal, rel=0.15)
    assert marginal.high < roas.low  # a concave curve: the next dollar returns less
    value = forecasts.order_value(ChannelName.EMAIL, None)
    assert value is not None
    assert value.low <= 90.0 <= value.high


def test_the_same_seed_gives_the_same_answers_and_fitting_is_fast(loaded: LoadedWorkspace) -> None:
    ws = build_workspace(loaded.spec)
    started = time.perf_counter()
    first = HistoryForecasts.from_history(ws, loaded.history, seed=11)
    answers = [
        (first.roas(c), first.marginal_roas(c), first.response_rate("vip", c, None, None))
        for c in ChannelName
    ]
    elapsed = time.perf_counter() - started
    again = HistoryForecasts.from_history(ws, loaded.history, seed=11)
    # Asked in another order: every answer has its own seed, so the order changes nothing.
    reversed_answers = [
        (again.roas(c), again.marginal_roas(c), again.response_rate("vip", c, None, None))
        for c in reversed(ChannelName)
    ]
    assert answers == reversed_answers[::-1]
    assert first.marginal_roas(ChannelName.DISPLAY) is first.marginal_roas(ChannelName.DISPLAY)
    assert elapsed < 3.0, f"fitting every channel took {elapsed:.2f} s"


def test_asking_before_fitting_says_so() -> None:
    unfitted = HistoryForecasts(workspace(), synthetic(0, weeks=4))
    with pytest.raises(NotFittedError):
        unfitted.roas(ChannelName.PAID_SEARCH)
    with pytest.raises(NotFittedError):
        unfitted.response_rate("vip", ChannelName.EMAIL, None, None)
