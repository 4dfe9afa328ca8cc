"""Attribution by tracking id, and holdout incrementality (hand-computed and on the simulator)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from mios.channels.simulator import SimulatorChannel
from mios.domain.money import Money
from mios.domain.outcome import Outcome, OutcomeKind
from mios.errors import DomainError
from mios.measure.attribution import attribute, caused_by, incrementality
from mios.sim.market import Market
from mios.sim.scenario import load_scenario
from tests.support.market import send

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def event(n: int, kind: OutcomeKind = OutcomeKind.CLICK, **changes: Any) -> Outcome:
    return Outcome(id=f"o{n}", kind=kind, at=T0, **changes)


def arm(n: int, name: str, count: int = 1, value: str | None = None) -> Outcome:
    return event(
        n,
        OutcomeKind.CONVERSION,
        action_id="a1",
        count=count,
        value=None if value is None else Money(Decimal(value), "USD"),
        attributes={"experiment_id": "x1", "arm": name},
    )


def test_a_tracking_id_credits_the_action_whose_send_carried_it() -> None:
    result = attribute(
        [
            event(1, tracking_id="t-1"),  # found through tracking
            event(2, action_id="a2"),  # already names its action
            event(3, action_id="a9", tracking_id="t-1"),  # names another action: a conflict
            event(4, tracking_id="t-unknown"),  # nobody sent this tracking id
            event(5),  # organic
            arm(6, "holdout"),
        ],
        {"t-1": "a1"},
    )
    assert [o.action_id for o in result.outcomes] == ["a1", "a2", "a9", None, None, "a1"]
    assert result.by_tracking == 1
    assert result.organic == 2
    assert result.holdout == 1
    assert result.unknown_tracking == ("t-unknown",)
    assert result.conflicts == ("o3",)
    assert [caused_by(o) for o in result.outcomes] == ["a1", "a2", "a9", None, None, None]


def test_incrementality_is_the_rate_difference_times_the_treated_size() -> None:
    outcomes = [arm(1, "treatment", 60, "600"), arm(2, "holdout", 30, "270"), event(3)]
    result = incrementality(outcomes, "x1", treated_size=1000, holdout_size=1000)
    assert (result.treated_conversions, result.holdout_conversions) == (60, 30)
    assert result.lift == pytest.approx(0.03)
    assert result.relative_lift == pytest.approx(1.0)
    assert result.incremental_conversions == pytest.approx(30.0)
    # Agresti-Caffo by hand: one success and one failure added to each arm.
    p_t, p_h = 61 / 1002, 31 / 1002
    se = math.sqrt(p_t * (1 - p_t) / 1002 + p_h * (1 - p_h) / 1002)
    low, high = result.interval
    assert low == pytest.approx((p_t - p_h - 1.959964 * se) * 1000, rel=1e-5)
    assert high == pytest.approx((p_t - p_h + 1.959964 * se) * 1000, rel=1e-5)
    assert low < 30 < high
    # (600 / 1000 - 270 / 1000) x 1000
    assert result.incremental_revenue == Money(Decimal("330.00"), "USD")


def test_a_wider_confidence_gives_a_wider_interval() -> None:
    outcomes = [arm(1, "treatment", 60), arm(2, "holdout", 30)]
    narrow = incrementality(outcomes, "x1", treated_size=1000, holdout_size=500, confidence=0.8)
    wide = incrementality(outcomes, "x1", treated_size=1000, holdout_size=500, confidence=0.99)
    assert wide.interval[0] < narrow.interval[0] < narrow.interval[1] < wide.interval[1]
    assert narrow.incremental_revenue is None


def test_no_conversions_at_all_still_gives_an_honest_interval() -> None:
    result = incrementality([], "x1", treated_size=200, holdout_size=200)
    assert result.incremental_conversions == 0
    assert result.relative_lift is None
    low, high = result.interval
    assert low < 0 < high
    assert high == pytest.approx(-low)


def test_repeat_buyers_use_poisson_rates() -> None:
    result = incrementality(
        [arm(1, "treatment", 30), arm(2, "holdout", 5)], "x1", treated_size=10, holdout_size=10
    )
    assert result.treated_rate == 3.0
    assert result.incremental_conversions == pytest.approx(25.0)
    se = math.sqrt(3.0 / 10 + 0.5 / 10)
    assert result.interval[1] - result.interval[0] == pytest.approx(2 * 1.959964 * se * 10, 1e-5)


def test_other_experiments_and_other_kinds_are_ignored() -> None:
    other = event(
        9,
        OutcomeKind.CONVERSION,
        count=50,
        attributes={"experiment_id": "x2", "arm": "treatment"},
    )
    click = event(10, attributes={"experiment_id": "x1", "arm": "treatment"})
    result = incrementality([other, click], "x1", treated_size=10, holdout_size=10)
    assert result.treated_conversions == 0


@pytest.mark.parametrize(
    ("sizes", "confidence", "message"),
    [((0, 10), 0.95, "at least one member"), ((10, 10), 1.0, "confidence")],
)
def test_impossible_designs_are_refused(
    sizes: tuple[int, int], confidence: float, message: str
) -> None:
    with pytest.raises(DomainError, match=message):
        incrementality(
            [], "x1", treated_size=sizes[0], holdout_size=sizes[1], confidence=confidence
        )


def test_mixed_currency_revenue_is_refused() -> None:
    euro = event(
        3,
        OutcomeKind.CONVERSION,
        value=Money(Decimal(5), "EUR"),
        attributes={"experiment_id": "x1", "arm": "holdout"},
    )
    with pytest.raises(DomainError, match="mixes currencies"):
        incrementality([arm(1, "treatment", 1, "5"), euro], "x1", treated_size=5, holdout_size=5)


def test_a_simulated_holdout_experiment_reads_out_below_last_touch_credit() -> None:
    market = Market(load_scenario("retail-holiday"), seed=1, customers=20_000)
    channel = SimulatorChannel(market)
    action = send("a1", segment="regular", parameters={"holdout_share": 0.3, "experiment_id": "x1"})
    action.decide(T0)
    action.approve(T0, by="test:approver")
    action.start(T0)
    receipt = channel.execute(action)
    channel.advance_day()
    outcomes = channel.take_outcomes()
    treated = receipt.accepted
    held = len(market.members("regular")) - treated

    result = incrementality(outcomes, "x1", treated_size=treated, holdout_size=held)

    last_touch = sum(
        o.count
        for o in outcomes
        if o.kind is OutcomeKind.CONVERSION and o.attributes.get("arm") == "treatment"
    )
    assert result.treated_conversions == last_touch > 0
    assert result.holdout_conversions > 0  # holdout customers bought on their own
    assert result.incremental_conversions < last_touch  # last touch credits organic sales too
    assert result.interval[0] < result.incremental_conversions < result.interval[1]
    attributed = attribute(outcomes, {})
    assert attributed.holdout == sum(1 for o in outcomes if o.attributes.get("arm") == "holdout")
