"""Arbitration target of the AI Marketing Brain issue.

    arbitration of 10,000 proposals over 1,000,000 customers: conflict detection plus portfolio
    selection, on one core                                                    target <= 5 s

The population has four attributes (12 regions, 5 tiers, 8 recency bands, 6 affinities: 2,880
cells of uneven size). 300 rule-based segments (one to three attributes, each a subset of its
values) of 1,000 to 200,000 customers overlap as real segments do. 10,000 proposals from six
agents pick a segment (popular segments more often), a kind (mostly email, SMS and push sends;
some publishing, budget and bid moves, insights), an offer for a third of the sends, a spend and
an expected effect; 2% are duplicates of another proposal. Caps: email 2, SMS 1, push 2, 3 in
all per customer; budgets bind (total 40% of what is asked). Audiences of one segment share one
array, as a caller resolving segments would.

No peer exists: Pega and Adobe arbitrate actions per customer, not proposals between agents,
and publish no speed. The run prints conflict detection and selection separately, the portfolio
value, the upper bound and the gap between them.

    python bench/bench_arbitration.py [--proposals 10000] [--customers 1000000] [--seed 7]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import time
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

from mios.brain.arbitration import select_portfolio
from mios.brain.arbitration_model import BudgetLimits, ContactCaps
from mios.brain.conflicts import ConflictKind, find_conflicts
from mios.brain.decide import candidates
from mios.brain.decide_forecast import AgentEstimateForecaster
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.proposal import (
    ActionKind,
    Audience,
    Content,
    Forecast,
    Interval,
    Proposal,
)
from mios.types import IntArray

TARGET_S = 5.0
ATTRIBUTES = (12, 5, 8, 6)
E, S, P = ChannelName.EMAIL, ChannelName.SMS, ChannelName.PUSH
COST_PER_CONTACT = {E: 0.002, S: 0.03, P: 0.001}
NOW = datetime(2026, 11, 24, 9, tzinfo=UTC)


def population(rng: np.random.Generator, n: int) -> IntArray:
    """Each customer's cell in the attribute grid, cells of uneven size."""
    cells = int(np.prod(ATTRIBUTES))
    weights = rng.dirichlet(np.full(cells, 0.7))
    return rng.choice(cells, size=n, p=weights).astype(np.int64)


def segments(rng: np.random.Generator, cell_of: IntArray, count: int) -> list[IntArray]:
    grid = np.indices(ATTRIBUTES).reshape(len(ATTRIBUTES), -1)  # (4, cells)
    cell_sizes = np.bincount(cell_of, minlength=grid.shape[1])
    found: list[IntArray] = []
    while len(found) < count:
        member = np.ones(grid.shape[1], dtype=np.bool_)
        for attr in rng.choice(len(ATTRIBUTES), size=rng.integers(1, 4), replace=False):
            values = rng.choice(ATTRIBUTES[attr], size=rng.integers(1, ATTRIBUTES[attr]))
            member &= np.isin(grid[attr], values)
        size = int(cell_sizes[member].sum())
        if 1_000 <= size <= 200_000:
            found.append(np.flatnonzero(member[cell_of]))
    return found


def proposals(
    rng: np.random.Generator, segs: list[IntArray], count: int
) -> tuple[list[Proposal], dict[str, IntArray]]:
    popular = rng.zipf(1.3, size=count) % len(segs)
    kinds = rng.choice(6, size=count, p=[0.35, 0.2, 0.25, 0.06, 0.08, 0.06])
    out: list[Proposal] = []
    audiences: dict[str, IntArray] = {}
    for j in range(count):
        pid = f"p{j:05d}"
        seg = int(popular[j])
        size = len(segs[seg])
        agent = f"agent-{j % 6}"
        k = int(kinds[j])
        rate = rng.uniform(0.002, 0.03)
        conversions = size * rate
        effect = Forecast(
            "conversions", conversions, Interval(0.6 * conversions, 1.5 * conversions)
        )
        if j and rng.random() < 0.02:  # a duplicate of an earlier proposal from another agent
            twin = out[int(rng.integers(len(out)))]
            out.append(
                Proposal(
                    pid,
                    agent,
                    twin.kind,
                    1,
                    "same idea",
                    NOW,
                    twin.channel,
                    twin.audience,
                    twin.content,
                    twin.spend,
                    twin.expected_effect,
                    parameters=twin.parameters,
                )
            )
            if twin.id in audiences:
                audiences[pid] = audiences[twin.id]
            continue
        if k < 3:
            channel = (E, S, P)[k]
            offer = f"offer-{rng.integers(8)}" if rng.random() < 0.33 else None
            content = Content("Hello", f"body {j}", offer_id=offer, angle="value")
            spend = Money(Decimal(round(size * COST_PER_CONTACT[channel], 2)), "EUR")
            out.append(
                Proposal(
                    pid,
                    agent,
                    ActionKind.SEND_MESSAGE,
                    1,
                    "reach them",
                    NOW,
                    channel,
                    Audience(segment_id=f"s{seg}"),
                    content,
                    spend,
                    effect,
                )
            )
            audiences[pid] = segs[seg]
        elif k == 3:
            spend = Money(Decimal(int(rng.integers(500, 5_000))), "EUR")
            out.append(
                Proposal(
                    pid,
                    agent,
                    ActionKind.PUBLISH_CONTENT,
                    1,
                    "post",
                    NOW,
                    ChannelName.CONTENT,
                    None,
                    Content(None, f"post {j}"),
                    spend,
                    effect,
                )
            )
        elif k == 4:
            channel = (ChannelName.PAID_SEARCH, ChannelName.PAID_SOCIAL)[j % 2]
            amount = Decimal(int(rng.integers(5, 40)) * 1_000)
            out.append(
                Proposal(
                    pid,
                    agent,
                    ActionKind.SET_BUDGET,
                    1,
                    "shift budget",
                    NOW,
                    channel,
                    spend=Money(amount, "EUR"),
                    expected_effect=effect,
                )
            )
        else:
            channel = (ChannelName.PAID_SEARCH, ChannelName.DISPLAY)[j % 2]
            change = float(rng.choice([-20, -10, 10, 20]))
            out.append(
                Proposal(
                    pid,
                    agent,
                    ActionKind.ADJUST_BID,
                    1,
                    "bid",
                    NOW,
                    channel,
                    expected_effect=effect,
                    parameters={"change_pct": change, "campaign_id": f"c{j % 20}"},
                )
            )
    return out, audiences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--segments", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    cell_of = population(rng, args.customers)
    segs = segments(rng, cell_of, args.segments)
    props, audiences = proposals(rng, segs, args.proposals)
    forecaster = AgentEstimateForecaster(unit_value={"conversions": 40.0}, cost_weight=1.0)
    forecasts = [forecaster.forecast(p, None) for p in props]
    caps = ContactCaps({E: 2, S: 1, P: 2}, total=3)
    asked = sum((p.spend.amount for p in props if p.spend), Decimal(0))
    limits = BudgetLimits(
        Money((asked * Decimal("0.4")).quantize(Decimal(1)), "EUR"),
        {S: Money(Decimal(60_000), "EUR"), ChannelName.PAID_SEARCH: Money(Decimal(300_000), "EUR")},
    )
    setup = time.perf_counter() - t0
    sizes = np.asarray([len(s) for s in segs])
    print(
        f"setup {setup:.1f} s: {len(props):,} proposals, {args.customers:,} customers, "
        f"{len(segs)} segments of {sizes.min():,} to {sizes.max():,} customers"
    )

    t0 = time.perf_counter()
    cand = candidates(props, forecasts, audiences, args.customers, limits, caps)
    t_cand = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = find_conflicts(props, cand, caps=caps, limits=limits)
    t_conf = time.perf_counter() - t0
    t0 = time.perf_counter()
    portfolio = select_portfolio(cand, report, caps=caps, limits=limits)
    t_sel = time.perf_counter() - t0
    total = t_cand + t_conf + t_sel
    counts = {k.value: len(report.by_kind(k)) for k in ConflictKind}
    statuses: dict[str, int] = {}
    for o in portfolio.outcomes:
        statuses[o.status.value] = statuses.get(o.status.value, 0) + 1
    print(f"patterns of customers: {len(report.load.pattern_size):,}")
    print(f"conflicts: {counts}")
    print(f"decisions: {statuses} by {portfolio.method} ({portfolio.solver_status})")
    print(f"candidates (proposals to arrays) {t_cand:6.2f} s")
    print(f"conflict detection               {t_conf:6.2f} s")
    print(f"portfolio selection and reasons  {t_sel:6.2f} s")
    print(
        f"total {total:.2f} s, target <= {TARGET_S:.0f} s: "
        f"{'met' if total <= TARGET_S else 'NOT met'} ({total / TARGET_S:.2f} of the target)"
    )
    print(
        f"portfolio value {portfolio.value:,.0f}, upper bound {portfolio.bound:,.0f}, "
        f"gap {portfolio.gap:.2%}"
    )
    print("peer: none exists for arbitration between agents (see the module docstring)")


if __name__ == "__main__":
    main()
