"""The response models behind decide: a message's forecast comes from its cell's posterior, and
the better cell wins the arbitration when only one can go."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from mios.brain.arbitration_model import BudgetLimits, ContactCaps
from mios.brain.decide import decide
from mios.brain.decide_response import UNNAMED, ResponseForecaster, cell_of
from mios.brain.response import ResponseModel
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.objective import Kpi
from mios.domain.proposal import ActionKind, Audience, Content, DecisionStatus, Proposal
from mios.errors import DomainError

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)
CELLS = [
    ("vip", "email", "winback-15", "warmth"),
    ("vip", "email", "winback-15", "price"),
    ("lapsed", "email", "winback-15", "warmth"),
]


@pytest.fixture(scope="module")
def model() -> ResponseModel:
    # 4% and 1% on 20,000 sends each, 2% on 5,000; every response worth 100 on average.
    trials = np.array([20_000, 20_000, 5_000])
    successes = np.array([800, 200, 100])
    return ResponseModel().fit(CELLS, trials, successes, successes * 100.0)


def message(pid: str, segment: str, angle: str, spend: str = "20") -> Proposal:
    return Proposal(
        pid,
        "crm",
        ActionKind.SEND_MESSAGE,
        1,
        "win them back",
        NOW,
        ChannelName.EMAIL,
        Audience(segment_id=segment),
        Content("Warm again", "Layers for the cold.", offer_id="winback-15", angle=angle),
        Money(Decimal(spend), "USD"),
    )


def test_a_message_is_forecast_from_its_cell(model: ResponseModel) -> None:
    forecaster = ResponseForecaster(model, margins={"winback-15": 0.4})
    got = forecaster.forecast(message("p1", "vip", "warmth"), 1_000)
    assert got.forecast is not None
    assert got.forecast.kpi == "conversions"
    assert got.forecast.mean == pytest.approx(40, rel=0.05)  # 4% of 1,000
    assert got.forecast.interval.low < 40 < got.forecast.interval.high
    assert got.value == pytest.approx(0.4 * 40 * 100 - 20, rel=0.06)
    assert got.value_interval.low < got.value < got.value_interval.high
    assert 0 < got.confidence < 1
    assert got.signals[0].startswith("response rate 3.99% (90% interval 3.7")
    worse = forecaster.forecast(message("p2", "vip", "price"), 1_000)
    assert worse.value < got.value


@pytest.mark.parametrize(
    ("objective", "expected"),
    [
        (Kpi.PROFIT, 0.4 * 40 * 100 - 20),  # the margin on the orders, less the spend
        (Kpi.REVENUE, 40 * 100),  # what the orders are worth; the budget bounds the spend
        (Kpi.PIPELINE, 40 * 100),
        (Kpi.CONVERSIONS, 40),
    ],
)
def test_the_value_counts_what_the_objective_counts(
    model: ResponseModel, objective: Kpi, expected: float
) -> None:
    forecaster = ResponseForecaster(model, margins={"winback-15": 0.4}, objective=objective)
    got = forecaster.forecast(message("p1", "vip", "warmth"), 1_000)
    assert got.value == pytest.approx(expected, rel=0.06)
    assert got.value_interval.low < got.value < got.value_interval.high
    assert f"value counted as {objective}" in got.signals[1]


def test_an_objective_without_a_value_per_message_is_refused(model: ResponseModel) -> None:
    with pytest.raises(DomainError, match="not cac"):
        ResponseForecaster(model, objective=Kpi.CAC)


def test_other_kinds_and_unsized_audiences_go_to_the_fallback(model: ResponseModel) -> None:
    forecaster = ResponseForecaster(model)
    budget = Proposal(
        "b1",
        "ads",
        ActionKind.SET_BUDGET,
        1,
        "more search",
        NOW,
        ChannelName.PAID_SEARCH,
        spend=Money(Decimal(500), "USD"),
    )
    assert forecaster.forecast(budget, None).method.startswith("agent estimate")
    assert forecaster.forecast(message("p1", "vip", "warmth"), 0).method.startswith("agent")


def test_an_unseen_cell_borrows_from_its_parents_with_a_wider_interval(
    model: ResponseModel,
) -> None:
    forecaster = ResponseForecaster(model)
    seen = forecaster.forecast(message("p1", "vip", "warmth"), 1_000)
    unseen = forecaster.forecast(message("p2", "new_customers", "warmth"), 1_000)
    assert seen.forecast is not None
    assert unseen.forecast is not None
    assert unseen.forecast.interval.width > seen.forecast.interval.width
    assert unseen.confidence < seen.confidence


def test_cells_name_what_the_proposal_leaves_out() -> None:
    listed = Proposal(
        "p1",
        "crm",
        ActionKind.SEND_MESSAGE,
        1,
        "a note",
        NOW,
        ChannelName.EMAIL,
        Audience(customer_ids=("c1",)),
        Content(None, "Hello."),
    )
    assert cell_of(listed) == (UNNAMED, "email", UNNAMED, UNNAMED)


def test_margins_outside_zero_to_one_are_refused(model: ResponseModel) -> None:
    with pytest.raises(DomainError, match="margin"):
        ResponseForecaster(model, margins={"winback-15": 1.5})


def test_decide_picks_the_better_cell_when_caps_allow_one_message(model: ResponseModel) -> None:
    everyone = np.arange(1_000, dtype=np.int64)
    proposals = [message("warm", "vip", "warmth"), message("cheap", "vip", "price")]
    decisions = decide(
        proposals,
        forecaster=ResponseForecaster(model, margins={"winback-15": 0.4}),
        audiences={"warm": everyone, "cheap": everyone},
        population=1_000,
        budget=BudgetLimits(total=Money(Decimal(1_000), "USD")),
        caps=ContactCaps(per_channel={ChannelName.EMAIL: 1}, total=1),
        now=NOW,
    )
    status = {d.proposal_id: d.status for d in decisions}
    assert status == {"warm": DecisionStatus.SELECTED, "cheap": DecisionStatus.DEFERRED}
    assert any("response rate" in r for r in decisions[0].reasons)


def test_a_message_whose_customers_are_not_resolved_is_refused(model: ResponseModel) -> None:
    with pytest.raises(DomainError, match="resolve the audience of every message"):
        decide(
            [message("warm", "vip", "warmth")],
            forecaster=ResponseForecaster(model),
            audiences={},
            population=1_000,
            budget=BudgetLimits(),
            caps=ContactCaps(total=1),
            now=NOW,
        )
