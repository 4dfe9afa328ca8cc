"""brain.decide end to end: forecasts, conflicts, portfolio, risk tiers, rationales."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from mios.brain.arbitration_model import BudgetLimits, ContactCaps
from mios.brain.decide import RiskRule, arbitrate, decide
from mios.brain.decide_forecast import AgentEstimateForecaster, Forecaster, ProposalForecast
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.proposal import (
    ActionKind,
    Audience,
    Content,
    DecisionStatus,
    Forecast,
    Interval,
    Proposal,
    RiskTier,
)
from mios.errors import DomainError

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)
E = ChannelName.EMAIL


def eur(x: float, currency: str = "EUR") -> Money:
    return Money(Decimal(str(x)), currency)


def send(
    pid: str,
    mean: float,
    segment: str,
    body: str,
    spend: float = 10,
    offer: str | None = None,
    currency: str = "EUR",
) -> Proposal:
    return Proposal(
        pid,
        "crm",
        ActionKind.SEND_MESSAGE,
        3,
        "win them back",
        NOW,
        E,
        Audience(segment_id=segment),
        Content("hi", body, offer_id=offer),
        eur(spend, currency),
        Forecast("conversions", mean, Interval(0.5 * mean, 1.5 * mean)),
        evidence=("spring test: +12% conversions",),
    )


def test_decide_returns_one_explained_decision_per_proposal() -> None:
    vip, lapsed = np.arange(0, 600), np.arange(400, 1_000)
    proposals = [
        send("vip", 100, "vip", "a"),
        send("lapsed", 50, "lapsed", "b"),
        send("copy", 100, "vip", "a"),
        send("insight", 1, "vip", "c", spend=0),
    ]
    insight = Proposal("note", "analytics", ActionKind.INSIGHT, 3, "churn is up", NOW)
    decisions = decide(
        [*proposals, insight],
        forecaster=AgentEstimateForecaster(unit_value={"conversions": 30}),
        audiences={"vip": vip, "lapsed": lapsed, "copy": vip, "insight": vip},
        population=1_000,
        budget=BudgetLimits(eur(1_000)),
        caps=ContactCaps({E: 1}),
        now=NOW,
    )
    by_id = {d.proposal_id: d for d in decisions}
    assert [d.proposal_id for d in decisions] == ["vip", "lapsed", "copy", "insight", "note"]
    assert by_id["vip"].status is DecisionStatus.SELECTED
    assert by_id["vip"].expected_value == pytest.approx(30 * 80)
    vip_forecast = by_id["vip"].forecast
    assert vip_forecast is not None
    assert vip_forecast.mean == pytest.approx(80.0)
    assert vip_forecast.interval.low == pytest.approx(20.0)
    assert vip_forecast.interval.high == pytest.approx(140.0)
    assert by_id["vip"].snapshot_version == 3
    assert by_id["lapsed"].status is DecisionStatus.DEFERRED
    assert (
        "the email cap of 1 message per customer (200 of its customers at the cap)"
        in (by_id["lapsed"].reasons[0])
    )
    assert by_id["copy"].status is DecisionStatus.DROPPED
    assert by_id["copy"].reasons[0] == "Dropped: it duplicates vip."
    assert by_id["copy"].conflicts == ("vip",)
    assert "copy" in by_id["vip"].conflicts
    # An insight spends nothing and contacts nobody: kept, whatever its value.
    assert by_id["note"].status is DecisionStatus.SELECTED
    assert "nothing to arbitrate" in by_id["note"].reasons[0]
    assert "no forecast: the agent gave no expected effect" in by_id["note"].reasons[2]
    assert (
        by_id["vip"]
        .reasons[1]
        .startswith(
            "Forecast: expected 80 conversions (90% interval 20 to 140); expected value 2,400"
        )
    )
    assert "evidence: spring test: +12% conversions" in by_id["vip"].reasons[2]
    assert all(0 <= d.confidence <= 0.5 for d in decisions)


def test_risk_tiers_follow_the_documented_rule() -> None:
    rule = RiskRule()

    def proposal(kind: ActionKind, spend: float | None = None) -> Proposal:
        channel = None if kind in (ActionKind.INSIGHT, ActionKind.CHANGE_POLICY) else E
        content = Content("s", "b") if kind is ActionKind.SEND_MESSAGE else None
        audience = Audience(segment_id="s") if kind is ActionKind.SEND_MESSAGE else None
        if kind is ActionKind.SET_BUDGET:
            channel = ChannelName.PAID_SEARCH
        return Proposal(
            "p",
            "a",
            kind,
            1,
            "r",
            NOW,
            channel,
            audience,
            content,
            None if spend is None else eur(spend),
        )

    send_small = proposal(ActionKind.SEND_MESSAGE, 10)
    assert rule.tier(send_small, 500) is RiskTier.LOW
    assert rule.tier(send_small, 10_000) is RiskTier.MEDIUM
    assert rule.tier(send_small, 100_000) is RiskTier.HIGH
    assert rule.tier(proposal(ActionKind.SEND_MESSAGE, 1_000), 5) is RiskTier.MEDIUM
    assert rule.tier(proposal(ActionKind.SEND_MESSAGE, 50_000), 5) is RiskTier.CRITICAL
    assert rule.tier(proposal(ActionKind.SET_BUDGET, 500), None) is RiskTier.HIGH
    assert rule.tier(proposal(ActionKind.CHANGE_POLICY), None) is RiskTier.CRITICAL
    assert rule.tier(proposal(ActionKind.INSIGHT), None) is RiskTier.LOW


def test_spend_in_another_currency_is_refused() -> None:
    with pytest.raises(DomainError, match="proposal x: spend is in USD, the budget in EUR"):
        decide(
            [send("x", 10, "s", "b", currency="USD")],
            forecaster=AgentEstimateForecaster(),
            audiences={"x": np.arange(3)},
            population=3,
            budget=BudgetLimits(eur(10)),
            caps=ContactCaps(),
            now=NOW,
        )


class Fixed:
    """A forecaster that knows better than the agents: a plug-in through the port."""

    def forecast(self, proposal: Proposal, audience_size: int | None) -> ProposalForecast:
        value = 1.0 if proposal.id == "a" else 5.0
        return ProposalForecast(
            Forecast("revenue", value, Interval(value, value)),
            value,
            Interval(value, value),
            0.9,
            (f"model says {value}",),
            "fixed",
        )


def test_any_forecaster_plugs_in_and_drives_the_choice() -> None:
    forecaster: Forecaster = Fixed()
    seg = np.arange(10)
    result = arbitrate(
        [send("a", 100, "s", "1", offer="o1"), send("b", 1, "s", "2", offer="o2")],
        forecaster=forecaster,
        audiences={"a": seg, "b": seg},
        population=10,
        budget=BudgetLimits(),
        caps=ContactCaps(),
        now=NOW,
    )
    a, b = result.decisions
    assert (a.status, b.status) == (DecisionStatus.DROPPED, DecisionStatus.SELECTED)
    assert a.reasons[0] == "Dropped: it contradicts b (offer o1 vs offer o2), which is worth more."
    assert a.reasons[3] == "Alternatives: it lost to b (value 5)."
    assert result.portfolio.gap == 0


def test_a_cycle_without_proposals_decides_nothing_instead_of_crashing() -> None:
    cycle = arbitrate(
        [],
        forecaster=AgentEstimateForecaster(),
        audiences={},
        population=10,
        budget=BudgetLimits(eur(100)),
        caps=ContactCaps({ChannelName.EMAIL: 1}, total=2),
        now=NOW,
    )
    assert cycle.decisions == ()
    assert cycle.portfolio.value == 0.0
    assert cycle.portfolio.bound == 0.0
    assert cycle.portfolio.gap == 0.0


def test_a_cycle_where_nothing_can_run_drops_everything_with_reasons() -> None:
    cycle = arbitrate(
        [send("x", 10, "s", "b"), send("y", 20, "s", "c")],
        forecaster=AgentEstimateForecaster(),
        audiences={"x": np.arange(3), "y": np.arange(3)},
        population=3,
        budget=BudgetLimits(eur(0)),
        caps=ContactCaps(),
        now=NOW,
    )
    assert [d.status for d in cycle.decisions] == [DecisionStatus.DROPPED] * 2
    assert all("on its own it breaks the total budget" in d.reasons[0] for d in cycle.decisions)
    assert cycle.portfolio.method == "none"
