"""Portfolio selection: never infeasible, optimal when small, honest bounds, reasons named."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mios.brain.arbitration import ArbitrationOptions, select_portfolio
from mios.brain.arbitration_model import BudgetLimits, Candidates, ContactCaps, cents_up
from mios.brain.conflicts import find_conflicts
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.proposal import ActionKind, Audience, Content, DecisionStatus, Proposal

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)
E, S = ChannelName.EMAIL, ChannelName.SMS
GREEDY = ArbitrationOptions(milp_max_columns=0, bound_time_limit=0.05)


def eur(x: float) -> Money:
    return Money(Decimal(str(x)), "EUR")


def instance(seed: int, n: int = 8, population: int = 60) -> tuple[list[Proposal], Candidates]:
    rng = np.random.default_rng(seed)
    segments = [
        np.sort(rng.choice(population, rng.integers(1, population), replace=False))
        for _ in range(4)
    ]
    props: list[Proposal] = []
    audiences = []
    for j in range(n):
        s = int(rng.integers(len(segments)))
        channel = (E, S)[int(rng.integers(2))]
        offer = f"o{rng.integers(2)}" if rng.random() < 0.4 else None
        body = f"b{rng.integers(3)}"
        props.append(
            Proposal(
                f"p{j}",
                f"a{j % 3}",
                ActionKind.SEND_MESSAGE,
                1,
                "why",
                NOW,
                channel,
                Audience(segment_id=f"s{s}"),
                Content("hi", body, offer_id=offer),
                eur(float(rng.integers(0, 60))),
            )
        )
        audiences.append(segments[s])
    cand = Candidates(
        ids=tuple(p.id for p in props),
        value=np.round(rng.uniform(-2, 20, n), 2),
        cost=np.asarray([cents_up(p.spend) for p in props if p.spend]),
        channel_code=np.asarray([0 if p.channel is E else 1 for p in props]),
        contacts=np.ones(n, dtype=np.bool_),
        audiences=tuple(audiences),
        population=population,
        channels=(E, S),
    )
    return props, cand


def rows_of(cand: Candidates, j: int) -> np.ndarray:
    rows = cand.audiences[j]
    assert rows is not None
    return rows


def feasible(
    props: list[Proposal],
    cand: Candidates,
    chosen: np.ndarray,
    caps: ContactCaps,
    limits: BudgetLimits,
) -> bool:
    """From first principles: money in Decimal, contacts per customer, offers, duplicates."""
    picked = [j for j in range(len(props)) if chosen[j]]
    amount = [p.spend.amount if p.spend else Decimal(0) for p in props]
    spend = {
        c: sum((amount[j] for j in picked if props[j].channel is c), Decimal(0)) for c in (E, S)
    }
    if limits.total is not None and sum(spend.values()) > limits.total.amount:
        return False
    for c, m in limits.per_channel.items():
        if spend[c] > m.amount:
            return False
    total = np.zeros(cand.population, dtype=np.int64)
    for c in (E, S):
        count = np.zeros(cand.population, dtype=np.int64)
        for j in picked:
            if props[j].channel is c:
                count[rows_of(cand, j)] += 1
        total += count
        if c in caps.per_channel and count.max() > caps.per_channel[c]:
            return False
    if caps.total is not None and total.max() > caps.total:
        return False
    for i, j in itertools.combinations(picked, 2):
        a, b = props[i], props[j]
        oa = a.content.offer_id if a.content else None
        ob = b.content.offer_id if b.content else None
        overlap = len(np.intersect1d(rows_of(cand, i), rows_of(cand, j)))
        smaller = min(len(rows_of(cand, i)), len(rows_of(cand, j)))
        if oa and ob and oa != ob and overlap and overlap >= 0.5 * smaller:
            return False
        if (a.channel, a.audience, a.content, a.spend) == (
            b.channel,
            b.audience,
            b.content,
            b.spend,
        ):
            return False
    return True


def brute_force(
    props: list[Proposal], cand: Candidates, caps: ContactCaps, limits: BudgetLimits
) -> float:
    best = 0.0
    for mask in itertools.product([False, True], repeat=len(props)):
        chosen = np.asarray(mask)
        if (cand.value[chosen] > 0).all() and feasible(props, cand, chosen, caps, limits):
            best = max(best, float(cand.value[chosen].sum()))
    return best


CAPS = ContactCaps({E: 1, S: 1}, total=2)
LIMITS = BudgetLimits(eur(100), {S: eur(50)})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    email_cap=st.integers(0, 3),
    total_cap=st.one_of(st.none(), st.integers(0, 4)),
    budget=st.integers(0, 300),
    exact=st.booleans(),
)
def test_portfolio_is_never_infeasible(
    seed: int, email_cap: int, total_cap: int | None, budget: int, exact: bool
) -> None:
    props, cand = instance(seed, n=12)
    caps = ContactCaps({E: email_cap, S: 1}, total=total_cap)
    limits = BudgetLimits(eur(budget), {S: eur(budget / 3)})
    report = find_conflicts(props, cand, caps=caps, limits=limits)
    portfolio = select_portfolio(
        cand, report, caps=caps, limits=limits, options=None if exact else GREEDY
    )
    assert feasible(props, cand, portfolio.selected, caps, limits)
    assert portfolio.bound >= portfolio.value - 1e-9
    assert len(portfolio.outcomes) == len(props)
    assert all(o.reason for o in portfolio.outcomes)
    selected = {j for j, o in enumerate(portfolio.outcomes) if o.status is DecisionStatus.SELECTED}
    assert selected == set(np.flatnonzero(portfolio.selected).tolist())


def test_milp_finds_the_brute_force_optimum_and_the_bound_holds() -> None:
    for seed in range(6):
        props, cand = instance(seed, n=9)
        report = find_conflicts(props, cand, caps=CAPS, limits=LIMITS)
        exact = select_portfolio(cand, report, caps=CAPS, limits=LIMITS)
        greedy = select_portfolio(cand, report, caps=CAPS, limits=LIMITS, options=GREEDY)
        optimum = brute_force(props, cand, CAPS, LIMITS)
        assert exact.method == "milp"
        assert abs(exact.value - optimum) < 1e-6
        assert greedy.value <= optimum + 1e-9
        assert greedy.bound >= optimum - 1e-6  # the stated bound is a real upper bound
        assert 0 <= greedy.gap <= 1


def _send(
    pid: str,
    channel: ChannelName,
    spend: float,
    offer: str | None = None,
    body: str = "b",
    segment: str = "s1",
) -> Proposal:
    return Proposal(
        pid,
        "crm",
        ActionKind.SEND_MESSAGE,
        1,
        "why",
        NOW,
        channel,
        Audience(segment_id=segment),
        Content("hi", body, offer_id=offer),
        eur(spend),
    )


def _cand(
    props: list[Proposal], values: list[float], audiences: list[np.ndarray], population: int = 10
) -> Candidates:
    return Candidates(
        ids=tuple(p.id for p in props),
        value=np.asarray(values, dtype=np.float64),
        cost=np.asarray([cents_up(p.spend) if p.spend else 0.0 for p in props]),
        channel_code=np.asarray([0 if p.channel is E else 1 for p in props]),
        contacts=np.ones(len(props), dtype=np.bool_),
        audiences=tuple(audiences),
        population=population,
        channels=(E, S),
    )


def test_reasons_name_the_binding_constraint_and_the_winner() -> None:
    everyone = np.arange(10)
    props = [
        _send("big", E, 80, body="x"),
        _send("small", E, 30, body="y", segment="s2"),
        _send("loss", E, 1, body="z", segment="s3"),
        _send("twin-a", S, 5, body="same", segment="s4"),
        _send("twin-b", S, 5, body="same", segment="s4"),
        _send("offer-a", S, 1, offer="o1", segment="s5"),
        _send("offer-b", S, 1, offer="o2", segment="s5"),
        _send("too-dear", E, 500, body="w", segment="s6"),
    ]
    none = np.zeros(0, dtype=np.int64)
    cand = _cand(
        props,
        [10, 5, -1, 3, 2, 4, 1, 9],
        [everyone[:5], everyone[5:], everyone[:2], none, none, everyone[5:], everyone[5:], none],
    )
    limits = BudgetLimits(eur(100))
    caps = ContactCaps({S: 5})
    report = find_conflicts(props, cand, caps=caps, limits=limits)
    portfolio = select_portfolio(cand, report, caps=caps, limits=limits)
    out = dict(zip(cand.ids, portfolio.outcomes, strict=True))
    assert out["big"].status is DecisionStatus.SELECTED
    assert out["small"].status is DecisionStatus.DEFERRED
    assert "the total budget of 100.00 EUR" in out["small"].reason
    assert out["small"].rivals[0] == 0  # the most valuable user of the budget first
    assert 1 in out["big"].rivals  # what it beat
    assert out["loss"].status is DecisionStatus.DROPPED
    assert "not positive" in out["loss"].reason
    assert {out["twin-a"].status, out["twin-b"].status} == {
        DecisionStatus.SELECTED,
        DecisionStatus.DROPPED,
    }
    assert "duplicates twin-a" in out["twin-b"].reason
    assert out["offer-b"].status is DecisionStatus.DROPPED
    assert "contradicts offer-a" in out["offer-b"].reason
    assert out["too-dear"].status is DecisionStatus.DROPPED
    assert "on its own it breaks the total budget" in out["too-dear"].reason


def test_contact_cap_defers_and_counts_customers() -> None:
    everyone = np.arange(10)
    props = [_send("a", E, 0, body="1"), _send("b", E, 0, body="2", segment="s2")]
    cand = _cand(props, [5, 4], [everyone, everyone[:4]])
    caps = ContactCaps({E: 1})
    limits = BudgetLimits()
    report = find_conflicts(props, cand, caps=caps, limits=limits)
    portfolio = select_portfolio(cand, report, caps=caps, limits=limits)
    b = portfolio.outcomes[1]
    assert b.status is DecisionStatus.DEFERRED
    assert b.binding == ("the email cap of 1 message per customer (4 of its customers at the cap)",)
    assert portfolio.outcomes[0].binding == b.binding
    assert portfolio.gap == 0


def test_greedy_on_a_large_instance_is_feasible_with_a_bound() -> None:
    props, cand = instance(3, n=300, population=2_000)
    caps = ContactCaps({E: 2, S: 1}, total=2)
    limits = BudgetLimits(eur(3_000), {S: eur(800)})
    report = find_conflicts(props, cand, caps=caps, limits=limits)
    portfolio = select_portfolio(cand, report, caps=caps, limits=limits, options=GREEDY)
    assert portfolio.method == "greedy"
    assert portfolio.value > 0
    assert portfolio.bound >= portfolio.value
    assert "Lagrangian bound" in portfolio.solver_status
