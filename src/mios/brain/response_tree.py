"""The node tables of ``ResponseModel`` and the estimation steps on them: prior strengths by
marginal likelihood, and the variance composition that carries a parent's uncertainty down."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special

from mios.types import FloatArray, IntArray


@dataclass
class Level:
    """The nodes of one level: their keys, parents, counts, and (after ``_propagate``) their
    posteriors. Grows when ``update`` brings cells never seen."""

    columns: tuple[int, ...]
    index: dict[tuple[str, ...], int]
    parent: IntArray
    trials: FloatArray
    successes: FloatArray
    responses: FloatArray  # responses whose value was given
    value: FloatArray  # summed value of those responses
    alpha: FloatArray
    beta: FloatArray
    value_mean: FloatArray
    value_rel_var: FloatArray

    def key(self, cell: Sequence[str]) -> tuple[str, ...]:
        return tuple(cell[c] for c in self.columns)


def empty_level(columns: tuple[int, ...]) -> Level:
    def empty() -> FloatArray:
        return np.zeros(0, dtype=np.float64)

    return Level(
        columns=columns,
        index={},
        parent=np.zeros(0, dtype=np.int64),
        trials=empty(),
        successes=empty(),
        responses=empty(),
        value=empty(),
        alpha=empty(),
        beta=empty(),
        value_mean=empty(),
        value_rel_var=empty(),
    )


def grow(table: Level, parents: IntArray) -> None:
    extra = np.zeros(len(parents), dtype=np.float64)
    table.parent = np.concatenate([table.parent, parents])
    for name in ("trials", "successes", "responses", "value"):
        setattr(table, name, np.concatenate([getattr(table, name), extra]))


def strength(m: FloatArray, v_parent: FloatArray, rho: float) -> FloatArray:
    """``kappa`` of a Beta centred on ``m`` whose variance adds a level's spread ``rho`` to the
    parent's posterior variance."""
    spread = m * (1.0 - m)
    v = v_parent + rho * (spread - v_parent)
    return np.asarray(spread / np.maximum(v, 1e-300) - 1.0, dtype=np.float64)


def shared_parent(parent: IntArray, has_data: Any) -> Any:
    """Nodes with data whose parent has at least two such children: a lone child is its own
    parent's data, and its distance to the parent says nothing about the spread."""
    if not np.any(has_data):
        return has_data
    children = np.bincount(parent[has_data], minlength=int(parent.max()) + 1)
    return has_data & (children[parent] >= 2)


def marginal_kappa(
    mean: FloatArray, n: FloatArray, y: FloatArray, bounds: tuple[float, float]
) -> float:
    """The prior strength ``kappa`` that maximises the Beta-Binomial marginal likelihood of the
    nodes' counts, each node's prior centred on its parent's mean (empirical Bayes)."""

    def minus_log_likelihood(log_kappa: float) -> float:
        kappa = np.exp(log_kappa)
        a, b = mean * kappa, (1.0 - mean) * kappa
        return -float(np.sum(special.betaln(y + a, n - y + b) - special.betaln(a, b)))

    low, high = np.log(bounds[0]), np.log(bounds[1])
    found = optimize.minimize_scalar(
        minus_log_likelihood, bounds=(low, high), method="bounded", options={"xatol": 1e-4}
    )
    return float(np.exp(found.x))


def value_gamma(mean: FloatArray, rel_var: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``(A, B)`` of a Gamma over ``lambda = 1 / mu`` (shape A, rate B) under which ``mu`` has
    ``mean`` and relative variance ``rel_var``: A = 2 + 1 / rel_var, B = mean (A - 1)."""
    shape = 2.0 + 1.0 / rel_var
    return shape, mean * (shape - 1.0)
