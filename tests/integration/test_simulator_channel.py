"""The simulator channel against a real market: workspace segments, outcomes, market errors."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from mios.channels.simulator import SimulatorChannel
from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.outcome import OutcomeKind
from mios.domain.proposal import ActionKind, Audience, Content
from mios.domain.segment import AllOf, Condition, Operator, Segment
from mios.errors import ChannelError, MarketError
from mios.sim.market import Detail, Market
from mios.sim.scenario import load_scenario

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
LOYAL = Condition("segment", Operator.EQ, "loyal")


def market(detail: Detail = "aggregate") -> Market:
    return Market(load_scenario("retail-holiday"), seed=1, customers=2000, detail=detail)


def send(segment_id: str, action_id: str = "a1") -> Action:
    action = Action(
        id=action_id,
        proposal_id=f"p-{action_id}",
        kind=ActionKind.SEND_MESSAGE,
        snapshot_version=1,
        channel=ChannelName.EMAIL,
        audience=Audience(segment_id=segment_id),
        content=Content(subject="Gifts", body="Our bundle, wrapped.", offer_id="bundle"),
    )
    action.decide(NOW)
    action.approve(NOW, by="test:approver")
    action.start(NOW)
    return action


def test_a_workspace_segment_reaches_its_customers_only() -> None:
    sim = market()
    loyal_only = Segment(id="loyal-only", name="Loyal only", rule=LOYAL)
    channel = SimulatorChannel(sim, [loyal_only])

    receipt = channel.execute(send("loyal-only"))

    assert receipt.accepted == loyal_only.size(sim.customer_table()) == len(sim.members("loyal"))
    delivered = [o for o in channel.take_outcomes() if o.kind is OutcomeKind.DELIVERED]
    assert delivered
    assert {o.attributes["segment"] for o in delivered} == {"loyal"}
    assert sum(o.count for o in delivered) <= receipt.accepted


def test_a_segment_across_scenario_segments_reaches_exactly_its_customers() -> None:
    sim = market(detail="customer")
    table = sim.customer_table()
    eu_loyal = Segment(
        id="eu-loyal",
        name="Loyal in the EU",
        rule=AllOf((LOYAL, Condition("region", Operator.EQ, "EU"))),
    )
    chosen = set(table.ids[eu_loyal.mask(table)].tolist())
    channel = SimulatorChannel(sim, [eu_loyal])

    receipt = channel.execute(send("eu-loyal"))

    assert 0 < receipt.accepted == len(chosen) < len(sim.members("loyal"))
    reached = {o.customer_id for o in channel.take_outcomes() if o.customer_id is not None}
    assert reached
    assert reached <= chosen


def test_a_workspace_segment_may_share_a_scenario_segment_id_if_it_means_the_same() -> None:
    sim = market()
    SimulatorChannel(sim, [Segment(id="loyal", name="Loyal", rule=LOYAL)])
    assert np.array_equal(sim.members("loyal"), np.flatnonzero(LOYAL.mask(sim.customer_table())))

    other = Segment(id="loyal", name="Not loyal", rule=Condition("segment", Operator.NE, "loyal"))
    first = Segment(id="first", name="Registered first", rule=LOYAL)
    with pytest.raises(MarketError, match="other customers"):
        SimulatorChannel(sim, [first, other])
    with pytest.raises(MarketError, match="first"):  # nothing was registered before the refusal
        SimulatorChannel(sim).execute(send("first"))


def test_outcomes_are_handed_over_once_in_the_order_they_happened() -> None:
    sim, twin = market(), market()
    channel = SimulatorChannel(sim)
    action = send("loyal")

    channel.execute(action)
    sent = channel.take_outcomes()
    assert sent == list(twin.execute(action).outcomes)
    assert {o.action_id for o in sent} == {action.id}
    assert channel.take_outcomes() == []

    channel.advance_day()
    assert channel.take_outcomes() == twin.advance()
    assert channel.take_outcomes() == []
    assert sim.day == 1


def test_the_send_and_the_day_come_out_together_when_taken_after_the_day() -> None:
    sim, twin = market(), market()
    channel = SimulatorChannel(sim)
    action = send("loyal")

    channel.execute(action)
    channel.advance_day()

    assert channel.take_outcomes() == [*twin.execute(action).outcomes, *twin.advance()]


def test_a_market_error_passes_through_and_is_not_remembered() -> None:
    sim = market()
    channel = SimulatorChannel(sim)
    with pytest.raises(MarketError, match="nobody"):
        channel.execute(send("nobody"))
    assert channel.take_outcomes() == []

    sim.define_audience("nobody", np.arange(10, dtype=np.int64))
    assert channel.execute(send("nobody")).accepted == 10


def test_a_closed_channel_keeps_its_outcomes_but_closes_no_day() -> None:
    sim = market()
    channel = SimulatorChannel(sim)
    channel.execute(send("loyal"))
    channel.close()
    with pytest.raises(ChannelError, match="closed"):
        channel.advance_day()
    assert sim.day == 0
    assert channel.take_outcomes()


def test_a_holdout_is_counted_in_the_receipt_and_its_purchases_come_back_as_its_arm() -> None:
    sim = market()
    action = send("loyal")
    action.parameters = {"holdout_share": 0.3, "experiment_id": "x1"}
    channel = SimulatorChannel(sim)

    receipt = channel.execute(action)
    channel.advance_day()

    members = len(sim.members("loyal"))
    assert receipt.accepted + receipt.held_out == members
    assert 0.2 * members < receipt.held_out < 0.4 * members
    conversions = [
        o
        for o in channel.take_outcomes()
        if o.action_id == action.id and o.kind is OutcomeKind.CONVERSION
    ]
    # The holdout buys only on its own (rarely, in one day): its arm may have no outcome.
    assert {o.attributes["arm"] for o in conversions} <= {"treatment", "holdout"}
    assert {o.attributes["experiment_id"] for o in conversions} == {"x1"}
    again = channel.execute(action)
    assert again.duplicate
    assert again.held_out == receipt.held_out


def test_a_send_without_a_holdout_holds_out_nobody() -> None:
    receipt = SimulatorChannel(market()).execute(send("loyal"))
    assert receipt.held_out == 0
    assert receipt.accepted > 0
