"""Budget allocation over fitted media response curves.

Maximise the expected outcome per period (or the profit, ``value * outcome - spend``) over the
channels' budgets, subject to the total, per-channel bounds and the constraints people set
(a channel held fixed, at most some share of change from the current plan). Constraints are data
(``BudgetConstraints``) compiled to the solver's bounds; what no allocation can meet is refused
before solving, and a failed solve raises ``SolverError`` with SciPy's own message.

The solver is SLSQP with the exact gradient, run from several starts (the optimum of the problem
on a grid of budget steps, found exactly by dynamic programming; an even split; the current plan;
a greedy split by marginal return), because an S-shaped curve makes the problem non-concave: a
local method started where an S-curve is flat never leaves it, so only the grid start reaches a
channel whose first steps return little but whose later ones return most.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.optimize import LinearConstraint, minimize

from mios.brain.mmm_curves import ResponseCurves
from mios.brain.mmm_report import Estimate
from mios.errors import InfeasibleConstraints, SolverError
from mios.types import FloatArray

Objective = Literal["outcome", "profit"]
GREEDY_STEPS = 400
GRID_STEPS = 200
TOLERANCE = 1e-6


@dataclass(frozen=True)
class BudgetConstraints:
    """What people fix about a budget, per channel name (spend per period).

    ``lower`` / ``upper`` bound a channel; ``fixed`` holds it at one value; with ``current`` and
    ``max_change`` (a share, 0.2 = 20%) no channel moves further than that from its current
    spend. Where several apply, the tightest wins.
    """

    lower: Mapping[str, float] = field(default_factory=dict)
    upper: Mapping[str, float] = field(default_factory=dict)
    fixed: Mapping[str, float] = field(default_factory=dict)
    current: Mapping[str, float] = field(default_factory=dict)
    max_change: float | None = None

    def bounds(self, channels: tuple[str, ...], total: float) -> tuple[FloatArray, FloatArray]:
        """Per channel (low, high) spend, each (C,), or InfeasibleConstraints naming why."""
        known = set(channels)
        for kind, given in (
            ("lower", self.lower),
            ("upper", self.upper),
            ("fixed", self.fixed),
            ("current", self.current),
        ):
            for name, amount in given.items():
                if name not in known:
                    raise InfeasibleConstraints(
                        f"{kind} bound names an unknown channel {name!r}; "
                        f"the channels are {', '.join(channels)}"
                    )
                if not (np.isfinite(amount) and amount >= 0):
                    raise InfeasibleConstraints(
                        f"{kind} bound of {name!r} must be a number >= 0, not {amount!r}"
                    )
        if self.max_change is not None:
            if not self.max_change >= 0:
                raise InfeasibleConstraints(f"max_change must be >= 0, not {self.max_change!r}")
            missing = [name for name in channels if name not in self.current]
            if missing:
                raise InfeasibleConstraints(
                    f"max_change needs the current spend of every channel; missing: "
                    f"{', '.join(missing)}"
                )
        low = np.zeros(len(channels))
        high = np.full(len(channels), float(total))
        for k, name in enumerate(channels):
            if name in self.lower:
                low[k] = max(low[k], self.lower[name])
            if name in self.upper:
                high[k] = min(high[k], self.upper[name])
            if self.max_change is not None:
                now = self.current[name]
                low[k] = max(low[k], now * (1.0 - self.max_change))
                high[k] = min(high[k], now * (1.0 + self.max_change))
            if name in self.fixed:
                amount = self.fixed[name]
                if not low[k] - TOLERANCE <= amount <= high[k] + TOLERANCE:
                    raise InfeasibleConstraints(
                        f"{name!r} is fixed at {amount:g}, outside its other bounds "
                        f"[{low[k]:g}, {high[k]:g}]"
                    )
                low[k] = high[k] = amount
            if low[k] > high[k] + TOLERANCE:
                raise InfeasibleConstraints(
                    f"{name!r}: its lower bound {low[k]:g} is above its upper bound {high[k]:g}"
                )
        return low, np.maximum(high, low)


@dataclass(frozen=True)
class Allocation:
    """The chosen spend per period (C,), its expected outcome with an interval, and the solve.

    ``marginal_roas`` is the extra outcome per extra unit of spend at the allocation (C,); at an
    interior optimum of the outcome objective it is the same for every channel not at a bound.
    """

    channels: tuple[str, ...]
    spend: FloatArray
    outcome: Estimate
    outcome_by_channel: FloatArray
    marginal_roas: FloatArray
    objective: Objective
    value_per_outcome: float
    profit: Estimate
    at_bound: tuple[str, ...]
    status: int
    message: str
    iterations: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "value_per_outcome": self.value_per_outcome,
            "total_spend": float(self.spend.sum()),
            "outcome": self.outcome.as_dict(),
            "profit": self.profit.as_dict(),
            "channels": [
                {
                    "name": name,
                    "spend": float(self.spend[k]),
                    "outcome": float(self.outcome_by_channel[k]),
                    "marginal_roas": float(self.marginal_roas[k]),
                    "at_bound": name in self.at_bound,
                }
                for k, name in enumerate(self.channels)
            ],
            "solver": {
                "status": self.status,
                "message": self.message,
                "iterations": self.iterations,
            },
        }


def allocate(
    curves: ResponseCurves,
    total: float,
    *,
    constraints: BudgetConstraints | None = None,
    objective: Objective = "outcome",
    value_per_outcome: float = 1.0,
    interval: float = 0.9,
    maxiter: int = 200,
) -> Allocation:
    """The best spend per period per channel for a budget of ``total`` per period.

    With ``objective="outcome"`` the whole total is spent; with ``"profit"`` (maximise
    ``value_per_outcome * outcome - spend``) the total is a ceiling.
    """
    if not (np.isfinite(total) and total > 0):
        raise InfeasibleConstraints(f"the total budget must be a number > 0, not {total!r}")
    if objective not in ("outcome", "profit"):
        raise InfeasibleConstraints(f"objective must be 'outcome' or 'profit', not {objective!r}")
    if not (np.isfinite(value_per_outcome) and value_per_outcome > 0):
        raise InfeasibleConstraints("value_per_outcome must be a number > 0")
    rules = constraints or BudgetConstraints()
    low, high = rules.bounds(curves.channels, total)
    spend_all = objective == "outcome"
    if low.sum() > total * (1 + TOLERANCE):
        raise InfeasibleConstraints(
            f"the channels' lower bounds add up to {low.sum():g}, above the total {total:g}"
        )
    if spend_all and high.sum() < total * (1 - TOLERANCE):
        raise InfeasibleConstraints(
            f"the channels' upper bounds add up to {high.sum():g}, below the total {total:g}: "
            f"the budget cannot all be spent (or use the profit objective, where it is a ceiling)"
        )
    if np.all(high - low <= TOLERANCE * total):
        if spend_all and abs(low.sum() - total) > TOLERANCE * total:
            raise InfeasibleConstraints(
                f"every channel is fixed, at {low.sum():g} in all, but the total is {total:g}"
            )
        done = (0, "every channel is fixed: nothing to optimise", 0)
        return _allocation(curves, low, low, high, objective, value_per_outcome, interval, done)
    weight = 1.0 if spend_all else value_per_outcome
    cost = 0.0 if spend_all else 1.0
    scale = float(total)

    def negative(u: FloatArray) -> float:
        s = u * scale
        return -float(weight * curves.outcome(s).sum() - cost * s.sum()) / scale

    def gradient(u: FloatArray) -> FloatArray:
        s = u * scale
        return np.asarray(-(weight * curves.marginal(s) - cost), dtype=np.float64)

    # Budgets are in shares of the total inside the solver, so every variable is of order one.
    budget = LinearConstraint(np.ones((1, len(low))), 1.0 if spend_all else -np.inf, 1.0)
    bounds = list(zip(low / scale, high / scale, strict=True))
    best: Any = None
    last: Any = None
    for start in _starts(curves, rules, low, high, total, spend_all, weight, cost):
        result = minimize(
            negative,
            start / scale,
            jac=gradient,
            method="SLSQP",
            bounds=bounds,
            constraints=[budget],
            options={"maxiter": maxiter, "ftol": 1e-10},
        )
        last = result
        if (
            result.success
            and _feasible(result.x * scale, low, high, total, spend_all)
            and (best is None or result.fun < best.fun)
        ):
            best = result
    if best is None:
        raise SolverError(
            f"the budget allocation failed: SLSQP status {last.status}: {last.message}"
        )
    spend = np.clip(np.asarray(best.x, dtype=np.float64) * scale, low, high)
    solved = (int(best.status), str(best.message), int(best.nit))
    return _allocation(curves, spend, low, high, objective, value_per_outcome, interval, solved)


def _feasible(
    spend: FloatArray, low: FloatArray, high: FloatArray, total: float, spend_all: bool
) -> bool:
    slack = TOLERANCE * max(total, 1.0) * 10
    within = bool(np.all(spend >= low - slack) and np.all(spend <= high + slack))
    used = float(spend.sum())
    return within and (abs(used - total) <= slack if spend_all else used <= total + slack)


def _project(values: FloatArray, low: FloatArray, high: FloatArray, total: float) -> FloatArray:
    """The point of {low <= s <= high, sum(s) = total} found by shifting ``values`` evenly."""
    lo, hi = float(np.min(low - values)), float(np.max(high - values))
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if np.clip(values + mid, low, high).sum() > total:
            hi = mid
        else:
            lo = mid
    return np.asarray(np.clip(values + 0.5 * (lo + hi), low, high), dtype=np.float64)


def _greedy(
    curves: ResponseCurves,
    low: FloatArray,
    high: FloatArray,
    total: float,
    weight: float,
    cost: float,
) -> FloatArray:
    """Spend the budget in small steps, each to the channel whose next step returns most."""
    spend = low.copy()
    step = max(total - float(low.sum()), 0.0) / GREEDY_STEPS
    if step <= 0:
        return spend
    for _ in range(GREEDY_STEPS):
        room = high - spend > step * 0.5
        if not room.any():
            break
        gain = weight * (curves.outcome(spend + step) - curves.outcome(spend)) - cost * step
        gain[~room] = -np.inf
        if cost > 0 and gain.max() <= 0:
            break
        best = int(np.argmax(gain))
        spend[best] = min(spend[best] + step, high[best])
    return spend


def _grid(
    curves: ResponseCurves,
    low: FloatArray,
    high: FloatArray,
    total: float,
    spend_all: bool,
    weight: float,
    cost: float,
) -> FloatArray:
    """The best split of the budget above the lower bounds in ``GRID_STEPS`` equal steps, found
    exactly by dynamic programming over the channels (the objective is a sum of one function per
    channel, so no local optimum can trap it), projected back onto the exact total."""
    free = max(total - float(low.sum()), 0.0)
    step = free / GRID_STEPS
    if step <= 0:
        return low.copy()
    steps = np.arange(GRID_STEPS + 1)
    # (C, G+1): each channel's objective after j steps; steps past its upper bound are barred.
    spend = low[:, None] + step * steps[None, :]
    gain = weight * curves.outcome(spend.T).T - cost * spend
    gain[spend > high[:, None] + step * 1e-9] = -np.inf
    best = gain[0]
    choice = []
    together, own = np.tril_indices(GRID_STEPS + 1)
    for k in range(1, len(low)):
        # table[t, i]: t steps in all, i of them to channel k and t - i to the ones before it.
        table = np.full((GRID_STEPS + 1, GRID_STEPS + 1), -np.inf)
        table[together, own] = best[together - own] + gain[k, own]
        choice.append(np.argmax(table, axis=1))
        best = table.max(axis=1)
    finite = np.isfinite(best)
    if not finite.any():
        return low.copy()
    if spend_all:
        left = GRID_STEPS if finite[-1] else int(np.flatnonzero(finite)[-1])
    else:
        left = int(np.argmax(best))
    taken = np.zeros(len(low), dtype=np.int64)
    for k in range(len(low) - 1, 0, -1):
        taken[k] = choice[k - 1][left]
        left -= int(taken[k])
    taken[0] = left
    start = np.minimum(low + step * taken, high)
    return _project(start, low, high, total) if spend_all else start


def _starts(
    curves: ResponseCurves,
    rules: BudgetConstraints,
    low: FloatArray,
    high: FloatArray,
    total: float,
    spend_all: bool,
    weight: float,
    cost: float,
) -> list[FloatArray]:
    even = np.full(len(low), total / len(low))
    starts = [
        _grid(curves, low, high, total, spend_all, weight, cost),
        _greedy(curves, low, high, total, weight, cost),
    ]
    if spend_all:
        starts.append(_project(even, low, high, total))
        if rules.current:
            now = np.array([rules.current.get(name, 0.0) for name in curves.channels])
            starts.append(_project(now, low, high, total))
    else:
        starts.append(np.clip(even * 0.5, low, high))
    return starts


def _allocation(
    curves: ResponseCurves,
    spend: FloatArray,
    low: FloatArray,
    high: FloatArray,
    objective: Objective,
    value: float,
    interval: float,
    solved: tuple[int, str, int],
) -> Allocation:
    by_channel = curves.outcome(spend)
    draws = curves.outcome_draws(spend).sum(axis=1)
    outcome = Estimate.of(float(by_channel.sum()), draws, interval)
    profit = Estimate.of(
        value * float(by_channel.sum()) - float(spend.sum()),
        value * draws - float(spend.sum()),
        interval,
    )
    slack = TOLERANCE * max(float(high.max()), 1.0) * 10
    at_bound = tuple(
        name
        for k, name in enumerate(curves.channels)
        if spend[k] <= low[k] + slack or spend[k] >= high[k] - slack
    )
    return Allocation(
        channels=curves.channels,
        spend=spend,
        outcome=outcome,
        outcome_by_channel=by_channel,
        marginal_roas=curves.marginal(spend),
        objective=objective,
        value_per_outcome=value,
        profit=profit,
        at_bound=at_bound,
        status=solved[0],
        message=solved[1],
        iterations=solved[2],
    )
