"""The analytics agent: anomalies, underperformers, sized experiments and cuts."""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal

import pytest

from mios.agents.builtin.analytics import HOLDOUT, MAX_TEST_DAYS, AnalyticsAgent
from mios.agents.builtin.analytics_power import duration_days, sample_size_per_arm
from mios.agents.protocol import READ, Agent, AgentContext
from mios.domain.budget import Budget
from mios.domain.channel import ChannelName
from mios.domain.history import ChannelHistory
from mios.domain.proposal import ActionKind, Proposal
from mios.errors import DomainError
from tests.unit.agents.read_brief_world import agent_context

Z_ALPHA = 1.959963984540054  # two-sided 5%
Z_BETA = 0.8416212335729143  # power 80%


def propose(ctx: AgentContext) -> list[Proposal]:
    return AnalyticsAgent().propose(ctx)


def by_hand(p1: float, lift: float) -> int:
    p2 = p1 * (1 + lift)
    p = (p1 + p2) / 2
    root = Z_ALPHA * math.sqrt(2 * p * (1 - p)) + Z_BETA * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(root**2 / (p2 - p1) ** 2)


def test_it_is_a_read_stage_agent() -> None:
    agent = AnalyticsAgent()
    assert isinstance(agent, Agent)
    assert (agent.name, agent.stage) == ("analytics", READ)


@pytest.mark.parametrize("example", ["retail", "b2b"])
def test_proposals_are_valid_and_reference_their_evidence(example: str) -> None:
    ctx = agent_context(example)
    proposals = propose(ctx)
    kinds = {p.kind for p in proposals}
    assert ActionKind.INSIGHT in kinds
    assert ActionKind.SET_BUDGET in kinds
    assert kinds <= {ActionKind.INSIGHT, ActionKind.SET_BUDGET, ActionKind.LAUNCH_EXPERIMENT}
    assert len({p.id for p in proposals}) == len(proposals)
    for p in proposals:
        assert p.agent_id == "analytics"
        assert p.snapshot_version == ctx.snapshot_version
        assert p.created_at == ctx.now
        assert p.evidence
        assert all(e.startswith(("history:", "budget:")) for e in p.evidence)
        assert str(ctx.objective.primary_kpi) in p.rationale


@pytest.mark.parametrize("example", ["retail", "b2b"])
def test_cuts_lower_an_underperforming_paid_budget_within_its_max_change(example: str) -> None:
    ctx = agent_context(example)
    proposals = propose(ctx)
    cuts = [p for p in proposals if p.kind is ActionKind.SET_BUDGET]
    underperformers = {
        p.channel for p in proposals if "underperformer" in p.parameters and p.channel
    }
    assert cuts
    for cut in cuts:
        assert cut.channel is not None
        assert cut.channel.is_paid_media
        assert cut.channel in underperformers
        budget = ctx.ledger.budget(cut.channel)
        assert cut.spend is not None
        assert cut.spend < budget.amount
        limit = Decimal(str(budget.max_change_pct or 20))
        assert (budget.amount.amount - cut.spend.amount) / budget.amount.amount * 100 <= limit
        assert cut.expected_effect is not None  # from the stub's marginal ROAS


def test_the_display_channel_of_the_retail_example_is_an_underperformer() -> None:
    # Display earns about 1.5 per unit of spend; the workspace's floor is 3.0.
    proposals = propose(agent_context())
    display = [p for p in proposals if p.channel is ChannelName.DISPLAY]
    assert {p.kind for p in display} >= {ActionKind.INSIGHT, ActionKind.SET_BUDGET}
    insight = next(p for p in display if "underperformer" in p.parameters)
    assert "below the floor 3.0" in insight.parameters["finding"]


def test_an_injected_anomaly_is_found() -> None:
    ctx = agent_context()
    weeks = list(ctx.history.weeks)
    last = max(w.week for w in weeks if w.channel is ChannelName.EMAIL)
    spiked = [
        dataclasses.replace(w, conversions=w.conversions * 5, revenue=w.revenue * 5)
        if (w.week, w.channel) == (last, ChannelName.EMAIL)
        else w
        for w in weeks
    ]
    before = propose(ctx)
    after = propose(dataclasses.replace(ctx, history=ChannelHistory(tuple(spiked))))
    found = [
        p
        for p in after
        if "anomaly" in p.parameters
        and p.channel is ChannelName.EMAIL
        and p.parameters["anomaly"]["week"] == last.isoformat()
    ]
    assert {p.parameters["anomaly"]["metric"] for p in found} >= {"revenue", "conversions"}
    for p in found:
        assert p.parameters["anomaly"]["z"] > 3.5
        assert f"history:email:{last.isoformat()}" in p.evidence
        assert "far above" in p.parameters["finding"]
    assert not any(
        "anomaly" in p.parameters
        and p.parameters["anomaly"]["week"] == last.isoformat()
        and p.channel is ChannelName.EMAIL
        for p in before
    )


def test_sample_size_matches_a_hand_calculation() -> None:
    # The textbook case: 10% against 15% needs 686 per arm at alpha 0.05 and power 0.8.
    assert sample_size_per_arm(0.10, 0.5) == 686 == by_hand(0.10, 0.5)
    with pytest.raises(DomainError):
        sample_size_per_arm(0.7, 0.5)  # a rate past 1
    assert duration_days(686, 2, 0.1, 700.0) == math.ceil(686 * 2 / 0.9 / 700 * 7)
    assert duration_days(686, 2, 0.1, 0.0) is None


def test_experiments_are_sized_by_the_power_calculation() -> None:
    # (The b2b example's volumes are too small for any test of eight weeks or less.)
    ctx = agent_context()
    experiments = [p for p in propose(ctx) if p.kind is ActionKind.LAUNCH_EXPERIMENT]
    assert {p.channel for p in experiments} >= {ChannelName.DISPLAY, ChannelName.EMAIL}
    for p in experiments:
        params = p.parameters
        assert set(params) >= {
            "hypothesis", "arms", "metric", "baseline_rate", "minimum_detectable_effect",
            "sample_size_per_arm", "duration_days", "holdout",
        }  # fmt: skip
        assert params["holdout"] == HOLDOUT
        assert len(params["arms"]) == 2
        n = by_hand(params["baseline_rate"], params["minimum_detectable_effect"])
        assert params["sample_size_per_arm"] == n
        expected_days = math.ceil(n * 2 / (1 - HOLDOUT) / params["weekly_volume"] * 7)
        assert params["duration_days"] == expected_days <= MAX_TEST_DAYS


def test_same_seed_same_proposals_different_seed_other_assignment() -> None:
    first, again = propose(agent_context(seed=5)), propose(agent_context(seed=5))
    assert first == again
    other = propose(agent_context(seed=6))
    assert [p.id for p in other] == [p.id for p in first]

    def salts(proposals: list[Proposal]) -> list[str]:
        return [
            p.parameters["assignment_salt"]
            for p in proposals
            if p.kind is ActionKind.LAUNCH_EXPERIMENT
        ]

    assert salts(first)
    assert salts(other) != salts(first)


def test_a_channel_without_a_budget_gets_no_cut() -> None:
    ctx = agent_context()
    budgets: dict[ChannelName, Budget] = {
        c: b for c, b in ctx.ledger.budgets.items() if c is not ChannelName.DISPLAY
    }
    ledger = dataclasses.replace(ctx.ledger, budgets=budgets)
    proposals = propose(dataclasses.replace(ctx, ledger=ledger))
    assert not any(
        p.kind is ActionKind.SET_BUDGET and p.channel is ChannelName.DISPLAY for p in proposals
    )


def test_a_rate_too_high_for_every_lift_gives_no_experiment_and_no_crash() -> None:
    # Email converting 95% of sends: even the smallest lift would pass a rate of 1.
    ctx = agent_context()
    weeks = tuple(
        dataclasses.replace(w, conversions=int(w.impressions * 0.95))
        if w.channel is ChannelName.EMAIL
        else w
        for w in ctx.history.weeks
    )
    proposals = propose(dataclasses.replace(ctx, history=ChannelHistory(weeks)))
    assert proposals
    assert not any(
        p.kind is ActionKind.LAUNCH_EXPERIMENT and p.channel is ChannelName.EMAIL for p in proposals
    )


def test_a_cut_never_goes_below_the_money_already_used_nor_stands_still() -> None:
    ctx = agent_context()
    budget = ctx.ledger.budget(ChannelName.DISPLAY)  # 35,000 a month, a step of up to 30%
    used = budget.amount * Decimal("0.9")
    spent = ctx.ledger.spend(ChannelName.DISPLAY, used, ctx.now)
    cuts = [
        p
        for p in propose(dataclasses.replace(ctx, ledger=spent))
        if p.kind is ActionKind.SET_BUDGET and p.channel is ChannelName.DISPLAY
    ]
    assert len(cuts) == 1
    assert cuts[0].spend == used  # only the 10% still unspent can go
    assert cuts[0].parameters["change_pct"] == -10.0
    all_used = ctx.ledger.spend(ChannelName.DISPLAY, budget.amount, ctx.now)
    frozen = dataclasses.replace(
        ctx.ledger,
        budgets={
            **ctx.ledger.budgets,
            ChannelName.DISPLAY: dataclasses.replace(budget, max_change_pct=0.0),
        },
    )
    for ledger in (all_used, frozen):
        assert not any(
            p.kind is ActionKind.SET_BUDGET and p.channel is ChannelName.DISPLAY
            for p in propose(dataclasses.replace(ctx, ledger=ledger))
        )
