"""``brain.decide``: a cycle's proposals in, one ``Decision`` per proposal out.

    forecast each proposal (a ``Forecaster``) -> find conflicts -> select the best feasible
    portfolio -> a decision per proposal: status, forecast, expected value, confidence, risk
    tier, the proposals it conflicts with, and a plain-language rationale

Audiences arrive resolved: ``audiences`` maps a proposal id to the row positions of its
customers in a population of ``population`` (resolving segments is the caller's job; giving
proposals with the same segment the same array object saves work). A proposal with no entry has
no resolved audience: it counts against no contact cap.

Risk tier (``RiskRule``, amounts in the budget's currency), the first rule that matches:

    critical  change_policy or change_autonomy, or spend >= critical_spend (50,000)
    high      set_budget, or spend >= high_spend (10,000), or reach >= high_reach (100,000)
    medium    publish_content, adjust_bid or launch_experiment, or spend >= medium_spend
              (1,000), or reach >= medium_reach (10,000)
    low       anything else (a small send, an insight, a new segment)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np

from mios.brain.arbitration import ArbitrationOptions, Outcome, Portfolio, select_portfolio
from mios.brain.arbitration_model import (
    NO_CHANNEL,
    BudgetLimits,
    Candidates,
    ContactCaps,
    cents_up,
)
from mios.brain.conflicts import ConflictKind, ConflictReport, find_conflicts
from mios.brain.decide_forecast import Forecaster, ProposalForecast
from mios.brain.explain import rationale
from mios.domain.clock import require_utc
from mios.domain.proposal import ActionKind, Decision, DecisionStatus, Proposal, RiskTier
from mios.errors import DomainError
from mios.types import IntArray

_CRITICAL_KINDS = frozenset({ActionKind.CHANGE_POLICY, ActionKind.CHANGE_AUTONOMY})
_MEDIUM_KINDS = frozenset(
    {ActionKind.PUBLISH_CONTENT, ActionKind.ADJUST_BID, ActionKind.LAUNCH_EXPERIMENT}
)


@dataclass(frozen=True)
class RiskRule:
    """Thresholds of the risk tiers (see the module docstring)."""

    medium_spend: Decimal = Decimal(1_000)
    high_spend: Decimal = Decimal(10_000)
    critical_spend: Decimal = Decimal(50_000)
    medium_reach: int = 10_000
    high_reach: int = 100_000

    def tier(self, proposal: Proposal, reach: int | None) -> RiskTier:
        spend = proposal.spend.amount if proposal.spend is not None else Decimal(0)
        people = reach or 0
        if proposal.kind in _CRITICAL_KINDS or spend >= self.critical_spend:
            return RiskTier.CRITICAL
        if (
            proposal.kind is ActionKind.SET_BUDGET
            or spend >= self.high_spend
            or people >= self.high_reach
        ):
            return RiskTier.HIGH
        if (
            proposal.kind in _MEDIUM_KINDS
            or spend >= self.medium_spend
            or people >= self.medium_reach
        ):
            return RiskTier.MEDIUM
        return RiskTier.LOW


@dataclass(frozen=True, eq=False)
class CycleDecisions:
    """Everything ``arbitrate`` worked out, for callers that want more than the decisions."""

    decisions: tuple[Decision, ...]
    forecasts: tuple[ProposalForecast, ...]
    candidates: Candidates
    report: ConflictReport
    portfolio: Portfolio


def decide(
    proposals: Sequence[Proposal],
    *,
    forecaster: Forecaster,
    audiences: Mapping[str, IntArray],
    population: int,
    budget: BudgetLimits,
    caps: ContactCaps,
    now: datetime,
    risk_rule: RiskRule | None = None,
    options: ArbitrationOptions | None = None,
) -> list[Decision]:
    """One decision per proposal, in the proposals' order (see the module docstring)."""
    return list(
        arbitrate(
            proposals,
            forecaster=forecaster,
            audiences=audiences,
            population=population,
            budget=budget,
            caps=caps,
            now=now,
            risk_rule=risk_rule,
            options=options,
        ).decisions
    )


def arbitrate(
    proposals: Sequence[Proposal],
    *,
    forecaster: Forecaster,
    audiences: Mapping[str, IntArray],
    population: int,
    budget: BudgetLimits,
    caps: ContactCaps,
    now: datetime,
    risk_rule: RiskRule | None = None,
    options: ArbitrationOptions | None = None,
) -> CycleDecisions:
    """``decide`` with its working: forecasts, candidates, conflicts and the portfolio."""
    now = require_utc(now, "now")
    rule = risk_rule or RiskRule()
    unknown = sorted(set(audiences) - {p.id for p in proposals})
    if unknown:
        raise DomainError(f"audiences given for unknown proposals: {', '.join(unknown[:5])}")
    unresolved = [
        p.id
        for p in proposals
        if p.kind is ActionKind.SEND_MESSAGE
        and p.audience is not None
        and p.audience.is_addressed
        and p.id not in audiences
    ]
    if unresolved:
        # Contact caps count the customers each message reaches; a message whose customers
        # are unknown would slip past them, so it is refused rather than counted as nobody.
        raise DomainError(
            "resolve the audience of every message to customer rows before deciding: "
            + ", ".join(unresolved[:5])
        )
    reach = [_reach(p, audiences) for p in proposals]
    forecasts = tuple(forecaster.forecast(p, r) for p, r in zip(proposals, reach, strict=True))
    cand = candidates(proposals, forecasts, audiences, population, budget, caps)
    report = find_conflicts(proposals, cand, caps=caps, limits=budget)
    portfolio = select_portfolio(cand, report, caps=caps, limits=budget, options=options)
    pairs = _pairwise(report, cand)
    decisions = []
    for j, (p, fc) in enumerate(zip(proposals, forecasts, strict=True)):
        outcome = _free_to_keep(p, fc, cand, j) or portfolio.outcomes[j]
        rivals = [(cand.ids[r], float(cand.value[r])) for r in outcome.rivals]
        related = (pairs.get(j, set()) | set(outcome.rivals)) - {j}
        decisions.append(
            Decision(
                proposal_id=p.id,
                snapshot_version=p.snapshot_version,
                status=outcome.status,
                forecast=fc.forecast,
                expected_value=fc.value,
                confidence=fc.confidence,
                risk=rule.tier(p, reach[j]),
                reasons=rationale(outcome, fc, rivals),
                decided_at=now,
                conflicts=tuple(sorted(cand.ids[k] for k in related)),
            )
        )
    return CycleDecisions(tuple(decisions), forecasts, cand, report, portfolio)


#: Kinds that inform or prepare (an insight, drafted copy) rather than act: they spend nothing
#: and contact nobody, so there is nothing to arbitrate, and a value of 0 is no reason to drop
#: them; they go on to review as they are.
INFORMING = frozenset({ActionKind.INSIGHT, ActionKind.CREATE_CONTENT})


def _free_to_keep(p: Proposal, fc: ProposalForecast, cand: Candidates, j: int) -> Outcome | None:
    if p.kind not in INFORMING or cand.cost[j] > 0 or cand.contacts[j] or fc.value < 0:
        return None
    return Outcome(
        DecisionStatus.SELECTED,
        f"a {p.kind} spends nothing and contacts nobody: nothing to arbitrate; it goes to "
        "review as it is",
    )


def _reach(p: Proposal, audiences: Mapping[str, IntArray]) -> int | None:
    rows = audiences.get(p.id)
    if rows is not None:
        return len(rows)
    return p.audience.size if p.audience is not None else None


def candidates(
    proposals: Sequence[Proposal],
    forecasts: Sequence[ProposalForecast],
    audiences: Mapping[str, IntArray],
    population: int,
    budget: BudgetLimits,
    caps: ContactCaps,
) -> Candidates:
    """The proposals as arrays: value from the forecasts, cost in cents of the budget's
    currency (another currency is refused), contacts for ``send_message``."""
    used = {p.channel for p in proposals if p.channel is not None}
    channels = tuple(sorted(used | set(caps.per_channel) | set(budget.per_channel)))
    currency = budget.currency
    cost = np.zeros(len(proposals))
    for j, p in enumerate(proposals):
        if p.spend is None:
            continue
        if currency is not None and p.spend.currency != currency:
            raise DomainError(
                f"proposal {p.id}: spend is in {p.spend.currency}, the budget in {currency}"
            )
        cost[j] = cents_up(p.spend)
    codes = np.asarray(
        [channels.index(p.channel) if p.channel else NO_CHANNEL for p in proposals],
        dtype=np.int64,
    )
    return Candidates(
        ids=tuple(p.id for p in proposals),
        value=np.asarray([f.value for f in forecasts], dtype=np.float64),
        cost=cost,
        channel_code=codes,
        contacts=np.asarray([p.kind is ActionKind.SEND_MESSAGE for p in proposals], dtype=np.bool_),
        audiences=tuple(audiences.get(p.id) for p in proposals),
        population=population,
        channels=channels,
    )


def _pairwise(report: ConflictReport, cand: Candidates) -> dict[int, set[int]]:
    """Positions each proposal contradicts or duplicates (caps and budgets are shared by many,
    so they are named in the rationale instead)."""
    index = {pid: j for j, pid in enumerate(cand.ids)}
    pairs: dict[int, set[int]] = {}
    for conflict in report.conflicts:
        if conflict.kind in (ConflictKind.CONTRADICTION, ConflictKind.DUPLICATE):
            members = {index[pid] for pid in conflict.proposals}
            for j in members:
                pairs.setdefault(j, set()).update(members - {j})
    return pairs
