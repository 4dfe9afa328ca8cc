"""What the simulator channel translates between a workspace and the market: a budget for its
period into a daily spend, a bid change into a multiplier, angles the market lacks, ads onto
the running budget."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from mios.channels.simulator import SimulatorChannel
from mios.domain.action import Action
from mios.domain.budget import Budget, BudgetPeriod
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.outcome import Outcome, OutcomeKind
from mios.domain.proposal import ActionKind, Audience, Content
from mios.errors import MarketError
from mios.sim.market import Market
from mios.sim.scenario import load_scenario

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SEARCH = ChannelName.PAID_SEARCH


def market(customers: int = 2000) -> Market:
    return Market(load_scenario("retail-holiday"), seed=1, customers=customers)  # opens 2026-11-02


def budget(amount: str, period: BudgetPeriod = BudgetPeriod.WEEKLY) -> Budget:
    return Budget(SEARCH, period, Money(Decimal(amount), "USD"))


def ready(
    action_id: str,
    kind: ActionKind,
    channel: ChannelName = SEARCH,
    *,
    spend: str | None = None,
    content: Content | None = None,
    parameters: dict[str, Any] | None = None,
    audience: Audience | None = None,
) -> Action:
    action = Action(
        id=action_id,
        proposal_id=f"p-{action_id}",
        kind=kind,
        snapshot_version=1,
        channel=channel,
        audience=audience,
        content=content,
        spend=None if spend is None else Money(Decimal(spend), "USD"),
        parameters=parameters or {},
    )
    action.decide(NOW)
    action.approve(NOW, by="test:approver")
    action.start(NOW)
    return action


def spent(outcomes: list[Outcome], action_id: str | None = None) -> Decimal:
    return sum(
        (
            o.value.amount
            for o in outcomes
            if o.kind is OutcomeKind.SPEND
            and o.channel is SEARCH
            and o.value is not None
            and (action_id is None or o.action_id == action_id)
        ),
        Decimal(0),
    )


def one_day(channel: SimulatorChannel, *actions: Action) -> list[Outcome]:
    for action in actions:
        channel.execute(action)
    channel.advance_day()
    return channel.take_outcomes()


@pytest.mark.parametrize(
    ("period", "amount", "daily"),
    [
        (BudgetPeriod.WEEKLY, "700", "100"),
        (BudgetPeriod.MONTHLY, "3000", "100"),  # November has 30 days
        (BudgetPeriod.QUARTERLY, "9200", "100"),  # October to December: 92 days
    ],
)
def test_a_budget_for_its_period_becomes_a_daily_spend(
    period: BudgetPeriod, amount: str, daily: str
) -> None:
    channel = SimulatorChannel(market(), budgets=[budget(amount, period)])
    outcomes = one_day(channel, ready("b1", ActionKind.SET_BUDGET, spend=amount))
    assert spent(outcomes, "b1") == Decimal(daily)


def test_without_a_budget_the_spend_is_the_days() -> None:
    channel = SimulatorChannel(market())
    assert spent(one_day(channel, ready("b1", ActionKind.SET_BUDGET, spend="100"))) == 100


def test_the_receipt_answers_for_the_action_as_sent() -> None:
    channel = SimulatorChannel(market(), budgets=[budget("700")])
    action = ready("b1", ActionKind.SET_BUDGET, spend="700")
    receipt = channel.execute(action)
    assert (receipt.action_id, receipt.idempotency_key, receipt.accepted) == (
        "b1",
        action.idempotency_key,
        1,
    )
    assert channel.execute(action).duplicate
    assert action.spend == Money(Decimal("700"), "USD")  # the caller's action is untouched


@pytest.mark.parametrize("parameters", [{"bid_change_pct": -50.0}, {"multiplier": 0.5}])
def test_a_bid_change_scales_the_running_spend(parameters: dict[str, Any]) -> None:
    channel = SimulatorChannel(market(), budgets=[budget("700")])
    one_day(channel, ready("b1", ActionKind.SET_BUDGET, spend="700"))
    outcomes = one_day(channel, ready("bid", ActionKind.ADJUST_BID, parameters=parameters))
    assert spent(outcomes) == Decimal(50)


def test_a_bid_change_without_a_number_is_refused_by_the_market() -> None:
    channel = SimulatorChannel(market(), budgets=[budget("700")])
    one_day(channel, ready("b1", ActionKind.SET_BUDGET, spend="700"))
    with pytest.raises(MarketError, match="multiplier"):
        channel.execute(ready("bid", ActionKind.ADJUST_BID, parameters={"bid_change_pct": "x"}))


def test_an_ad_goes_onto_the_running_budget() -> None:
    ad = Content(subject=None, headline="Warm layers", body="Layers for winter.", angle="value")
    channel = SimulatorChannel(market(), budgets=[budget("700")])
    one_day(channel, ready("b1", ActionKind.SET_BUDGET, spend="700"))
    one_day(channel, ready("bid", ActionKind.ADJUST_BID, parameters={"multiplier": 2.0}))
    outcomes = one_day(channel, ready("ad", ActionKind.PUBLISH_CONTENT, content=ad))
    assert spent(outcomes, "ad") == Decimal(200)  # the new ads carry the bid-adjusted spend


def test_an_ad_before_any_budget_spends_nothing_until_a_budget_is_approved() -> None:
    ad = Content(subject=None, headline="Warm layers", body="Layers for winter.", offer_id="bundle")
    channel = SimulatorChannel(market(), budgets=[budget("700")])
    receipt = channel.execute(ready("ad", ActionKind.PUBLISH_CONTENT, content=ad))
    channel.advance_day()
    assert spent(channel.take_outcomes()) == 0  # the workspace's budget is not spend approved
    assert receipt.note is not None
    assert "spends nothing until a set_budget" in receipt.note

    outcomes = one_day(channel, ready("b1", ActionKind.SET_BUDGET, spend="700"))
    assert spent(outcomes, "b1") == 100  # the approved budget, per day


def send(angle: str | None, key: str | None = None) -> Action:
    action = Action(
        id="s1",
        proposal_id="p-s1",
        kind=ActionKind.SEND_MESSAGE,
        snapshot_version=1,
        channel=ChannelName.EMAIL,
        audience=Audience(segment_id="loyal"),
        content=Content(subject="Gifts", body="Our bundle.", offer_id="bundle", angle=angle),
        idempotency_key=key or "",
    )
    action.decide(NOW)
    action.approve(NOW, by="test:approver")
    action.start(NOW)
    return action


@pytest.mark.parametrize(
    ("angle", "angle_map", "market_angle"),
    [
        ("durability", {}, None),  # an angle the market lacks goes out as none
        ("durability", {"durability": "quality"}, "quality"),
        ("gift", {"durability": "quality"}, "gift"),  # the market's own angles pass through
    ],
)
def test_angles_the_market_lacks_are_mapped_or_dropped(
    angle: str, angle_map: dict[str, str], market_angle: str | None
) -> None:
    action = send(angle)
    channel = SimulatorChannel(market(20_000), angle_map=angle_map)
    channel.execute(action)
    taken = channel.take_outcomes()

    def as_market_sees(market_angle: str | None) -> list[Outcome]:
        twin = market(20_000)  # the same send on the same market, with this angle
        return list(twin.execute(send(market_angle, key=action.idempotency_key)).outcomes)

    assert taken == as_market_sees(market_angle)
    # At this size the angle shows in the outcomes, so the comparison tells angles apart.
    other = None if market_angle else "quality"
    assert taken != as_market_sees(other)


def test_an_angle_map_onto_an_angle_the_market_lacks_is_refused() -> None:
    with pytest.raises(MarketError, match="warmth"):
        SimulatorChannel(market(), angle_map={"durability": "warmth"})
