"""Budget allocation on response curves: the total and every bound hold, marginal returns are
equal at an interior optimum, infeasible constraints and failed solves raise clearly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mios.brain.allocation import BudgetConstraints, allocate
from mios.brain.mmm_curves import ResponseCurves
from mios.errors import InfeasibleConstraints, ModelInputError, SolverError

CHANNELS = ("search", "social", "video")


def curves(
    effect: tuple[float, ...] = (100.0, 80.0, 50.0),
    half: tuple[float, ...] = (20.0, 10.0, 5.0),
    shape: tuple[float, ...] = (1.0, 1.5, 2.0),
    draws: int = 100,
) -> ResponseCurves:
    rng = np.random.default_rng(0)
    e, h, s = np.array(effect), np.array(half), np.array(shape)
    n = len(e)
    return ResponseCurves(
        channels=CHANNELS[:n],
        effect=e,
        half_saturation=h,
        shape=s,
        effect_draws=e * rng.lognormal(0, 0.1, (draws, n)),
        half_saturation_draws=h * rng.lognormal(0, 0.1, (draws, n)),
        shape_draws=s * rng.lognormal(0, 0.05, (draws, n)),
    )


def test_an_interior_optimum_spends_the_total_and_equalises_marginal_roas() -> None:
    result = allocate(curves(), 60.0)
    assert result.spend.sum() == pytest.approx(60.0)
    assert np.all(result.spend > 0)
    assert result.at_bound == ()
    assert result.marginal_roas == pytest.approx(np.full(3, result.marginal_roas.mean()), rel=1e-4)
    assert result.outcome.low <= result.outcome.value <= result.outcome.high
    assert result.outcome.value == pytest.approx(result.outcome_by_channel.sum())
    assert result.status == 0
    assert "success" in result.message.lower()


def test_the_allocation_beats_every_split_on_a_grid() -> None:
    two = curves(effect=(100.0, 80.0), half=(20.0, 10.0), shape=(1.0, 1.5))
    best = allocate(two, 40.0)
    grid = np.linspace(0, 40, 4001)
    outcomes = [two.outcome(np.array([s, 40.0 - s])).sum() for s in grid]
    assert best.outcome.value >= max(outcomes) - 1e-6


def test_profit_stops_where_one_more_unit_returns_less_than_it_costs() -> None:
    result = allocate(curves(), 1000.0, objective="profit", value_per_outcome=3.0)
    assert result.spend.sum() < 1000.0
    assert 3.0 * result.marginal_roas == pytest.approx(np.ones(3), rel=1e-3)
    assert result.profit.value == pytest.approx(3.0 * result.outcome.value - result.spend.sum())


def test_people_fix_a_channel_and_cap_changes_from_the_current_plan() -> None:
    now = {"search": 10.0, "social": 30.0, "video": 20.0}
    rules = BudgetConstraints(fixed={"search": 10.0}, current=now, max_change=0.3)
    result = allocate(curves(), 60.0, constraints=rules)
    assert result.spend[0] == pytest.approx(10.0)
    for k, name in enumerate(CHANNELS):
        assert now[name] * 0.7 - 1e-6 <= result.spend[k] <= now[name] * 1.3 + 1e-6
    assert "search" in result.at_bound
    assert result.as_dict()["channels"][0]["at_bound"] is True


def test_every_channel_fixed_needs_no_solver() -> None:
    rules = BudgetConstraints(fixed={"search": 10.0, "social": 20.0, "video": 30.0})
    result = allocate(curves(), 60.0, constraints=rules)
    assert result.spend == pytest.approx([10.0, 20.0, 30.0])
    assert "fixed" in result.message


@settings(max_examples=40, deadline=None)
@given(
    effect=st.lists(st.floats(1.0, 500.0), min_size=3, max_size=3),
    half=st.lists(st.floats(0.5, 50.0), min_size=3, max_size=3),
    shape=st.lists(st.floats(0.6, 3.0), min_size=3, max_size=3),
    total=st.floats(1.0, 200.0),
    low_share=st.lists(st.floats(0.0, 0.3), min_size=3, max_size=3),
    high_share=st.lists(st.floats(0.35, 1.0), min_size=3, max_size=3),
)
def test_allocations_respect_the_total_and_every_bound(
    effect: list[float],
    half: list[float],
    shape: list[float],
    total: float,
    low_share: list[float],
    high_share: list[float],
) -> None:
    lower = {name: total * share for name, share in zip(CHANNELS, low_share, strict=True)}
    upper = {name: total * share for name, share in zip(CHANNELS, high_share, strict=True)}
    result = allocate(
        curves(tuple(effect), tuple(half), tuple(shape), draws=10),
        total,
        constraints=BudgetConstraints(lower=lower, upper=upper),
    )
    slack = 1e-5 * total
    assert result.spend.sum() == pytest.approx(total, rel=1e-6)
    for k, name in enumerate(CHANNELS):
        assert lower[name] - slack <= result.spend[k] <= upper[name] + slack


def test_infeasible_constraints_are_refused_before_solving() -> None:
    c = curves()
    with pytest.raises(InfeasibleConstraints, match="lower bounds add up to 90, above the total"):
        allocate(c, 60.0, constraints=BudgetConstraints(lower=dict.fromkeys(CHANNELS, 30.0)))
    with pytest.raises(InfeasibleConstraints, match="upper bounds add up to 30, below the total"):
        allocate(c, 60.0, constraints=BudgetConstraints(upper=dict.fromkeys(CHANNELS, 10.0)))
    with pytest.raises(InfeasibleConstraints, match="fixed at 50, outside"):
        allocate(
            c,
            60.0,
            constraints=BudgetConstraints(upper={"search": 20.0}, fixed={"search": 50.0}),
        )
    with pytest.raises(InfeasibleConstraints, match="unknown channel 'tv'"):
        allocate(c, 60.0, constraints=BudgetConstraints(lower={"tv": 1.0}))
    with pytest.raises(InfeasibleConstraints, match="current spend of every channel"):
        allocate(c, 60.0, constraints=BudgetConstraints(current={"search": 1.0}, max_change=0.1))
    with pytest.raises(InfeasibleConstraints, match="lower bound 40 is above its upper bound 20"):
        allocate(
            c,
            60.0,
            constraints=BudgetConstraints(lower={"search": 40.0}, upper={"search": 20.0}),
        )
    with pytest.raises(InfeasibleConstraints, match="total budget"):
        allocate(c, -5.0)


def test_a_failed_solve_raises_with_the_solvers_message() -> None:
    with pytest.raises(SolverError, match="SLSQP status 9: Iteration limit reached"):
        allocate(curves(), 60.0, maxiter=1)


def test_curves_refuse_parameters_that_do_not_match_their_channels() -> None:
    with pytest.raises(ModelInputError, match="one value per channel"):
        ResponseCurves(
            channels=("a",),
            effect=np.ones(2),
            half_saturation=np.ones(1),
            shape=np.ones(1),
            effect_draws=np.ones((0, 1)),
            half_saturation_draws=np.ones((0, 1)),
            shape_draws=np.ones((0, 1)),
        )


@pytest.mark.parametrize("objective", ["outcome", "profit"])
def test_an_s_shaped_channel_flat_at_zero_still_gets_the_budget_it_pays_back(
    objective: str,
) -> None:
    # The S-curve returns nothing for its first units (marginal ROAS 0 at zero spend), so a local
    # solver started at zero on it never moves; its later units return far more than the other's.
    two = curves(effect=(1345.8, 4955.4), half=(1623.5, 1822.4), shape=(1.7, 3.0))
    total, value = 1843.0, 1.32
    best = allocate(two, total, objective=objective, value_per_outcome=value)  # type: ignore[arg-type]

    def score(spend: np.ndarray) -> float:
        outcome = float(two.outcome(spend).sum())
        return outcome if objective == "outcome" else value * outcome - float(spend.sum())

    grid = np.linspace(0.0, total, 401)
    splits = [np.array([a, b]) for a in grid for b in grid if a + b <= total + 1e-9]
    if objective == "outcome":
        splits = [np.array([a, total - a]) for a in grid]
    top = max(score(s) for s in splits)
    assert score(best.spend) >= top - 1e-6 * abs(top)
    assert best.spend[1] > 0.5 * total
