"""Response forecasts per cell, with hierarchical shrinkage so sparse cells borrow strength.

A *cell* is one (segment, channel, offer, angle). ``ResponseModel`` keeps a tree of levels,
by default::

    global -> channel -> channel x offer -> segment x channel x offer x angle (the cell)

Response rate. Every node at level ``L`` has a Beta prior centred on its parent's posterior
mean ``m``. Its variance is the parent's posterior variance plus the spread of level ``L``
around its parents, ``v = v_parent + rho_L * (m (1 - m) - v_parent)`` (the law of total
variance), so a cell whose ancestors are unseen too gets the uncertainty of every level it
skips. ``rho_L = 1 / (kappa_L + 1)`` is the intra-class correlation of level ``L``; ``kappa_L``
maximises the Beta-Binomial marginal likelihood (empirical Bayes) of the nodes whose parent has
at least two children with data. The posterior is ``Beta(m kappa + y, (1 - m) kappa + n -
y)``: a cell with few trials sits near its parent, a cell with many follows its own data.

Value per response. Order values are Gamma with a known coefficient of variation ``value_cv``
(shape ``k = 1 / cv^2``); each node's mean value ``mu`` has a conjugate prior (on the Gamma
rate) centred on its parent's posterior mean, whose strength in responses is
``s = cv^2 / rho_value``, with ``rho_value`` the relative spread of level ``L``'s means around
their parents, fitted by the method of moments as for rates. The posterior mean of a node is
``(s mu_parent + sum of values) / (s + responses)``.

Outcomes update the model by adding counts (``update``): the fitted spreads stay, every
posterior is recomputed from the counts in one pass over the nodes, nothing is refitted.

Shapes: ``cells`` is ``(m, 4)`` strings (or a sequence of 4-tuples) in ``KEYS`` order;
``trials``, ``successes`` and ``values`` (the summed value of that row's responses) are ``(m,)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from mios.brain.response_inputs import KEYS, Cells, audience_of, grid_of, rows_of
from mios.brain.response_tree import (
    empty_level,
    grow,
    marginal_kappa,
    shared_parent,
    strength,
    value_gamma,
)
from mios.errors import ModelInputError, NotFittedError
from mios.types import FloatArray, StrArray

DEFAULT_LEVELS: tuple[tuple[str, ...], ...] = (("channel",), ("channel", "offer"), KEYS)

_VALUE_REL_VAR_CAP = 4.0  # relative variance of a value mean with next to no data behind it


@dataclass(frozen=True)
class Forecast:
    """A predictive mean with its central interval, one entry per cell. Arrays are ``(m,)``."""

    mean: FloatArray
    low: FloatArray
    high: FloatArray
    level: float

    def row(self, i: int) -> dict[str, float]:
        return {"mean": float(self.mean[i]), "low": float(self.low[i]), "high": float(self.high[i])}


class ResponseModel:
    """Hierarchical Beta-Binomial response rates and Gamma values per response.

    Parameters (stored unchanged, scikit-learn style):

    - ``levels``: the tree below the global node, each level a superset of the one above, the
      last one all of ``KEYS``.
    - ``interval``: the central probability of every interval (0.9: the 5th to 95th percentile).
    - ``prior_strength``: ``kappa`` of a level whose spread cannot be estimated (fewer than two
      nodes with data under a shared parent), in pseudo-trials.
    - ``min_prior_strength`` / ``max_prior_strength``: bounds on every fitted ``kappa``.
    - ``value_cv``: the coefficient of variation of one order's value around its cell's mean.
    - ``global_prior``: ``(alpha, beta)`` of the global rate before any data.
    """

    def __init__(
        self,
        levels: tuple[tuple[str, ...], ...] = DEFAULT_LEVELS,
        interval: float = 0.9,
        prior_strength: float = 50.0,
        min_prior_strength: float = 1.0,
        max_prior_strength: float = 1e5,
        value_cv: float = 0.5,
        global_prior: tuple[float, float] = (1.0, 1.0),
    ) -> None:
        self.levels = levels
        self.interval = interval
        self.prior_strength = prior_strength
        self.min_prior_strength = min_prior_strength
        self.max_prior_strength = max_prior_strength
        self.value_cv = value_cv
        self.global_prior = global_prior

    # -- scikit-learn contract ------------------------------------------------------------------

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {
            "levels": self.levels,
            "interval": self.interval,
            "prior_strength": self.prior_strength,
            "min_prior_strength": self.min_prior_strength,
            "max_prior_strength": self.max_prior_strength,
            "value_cv": self.value_cv,
            "global_prior": self.global_prior,
        }

    def set_params(self, **params: Any) -> ResponseModel:
        for name, value in params.items():
            if name not in self.get_params():
                raise ModelInputError(f"ResponseModel has no parameter {name!r}")
            setattr(self, name, value)
        return self

    # -- fitting --------------------------------------------------------------------------------

    def fit(
        self,
        cells: Cells,
        trials: Any,
        successes: Any,
        values: Any | None = None,
    ) -> ResponseModel:
        """Fit the spreads of every level and the posteriors of every node. Returns ``self``."""
        self._check_params()
        grid, n, y, v = rows_of(cells, trials, successes, values)
        if not np.any(n > 0):
            raise ModelInputError(
                "insufficient data: every row has 0 trials; a response model needs at least "
                "one row with trials > 0"
            )
        _check_value_total(0.0, 0.0, y, v)
        columns = [tuple(KEYS.index(k) for k in level) for level in self.levels]
        self._tables = [empty_level(())] + [empty_level(c) for c in columns]
        self._add(grid, n, y, v)
        self.rho_ = np.zeros(len(self._tables), dtype=np.float64)
        self.rho_estimated_ = np.zeros(len(self._tables), dtype=np.bool_)
        self.value_rho_ = np.zeros(len(self._tables), dtype=np.float64)
        self.has_values_ = values is not None
        # Top-down: a level's spread is measured around its parents' posterior means.
        self._propagate(fit_upto=0)
        for depth in range(1, len(self._tables)):
            self.rho_[depth], self.rho_estimated_[depth] = self._fit_rate_spread(depth)
            self.value_rho_[depth] = self._fit_value_spread(depth)
            self._propagate(fit_upto=depth)
        self.prior_strength_ = tuple(float(1.0 / r - 1.0) for r in self.rho_[1:])
        self.n_cells_ = len(self._tables[-1].index)
        self.trials_ = float(self._tables[0].trials[0])
        return self

    def update(
        self,
        cells: Cells,
        trials: Any,
        successes: Any,
        values: Any | None = None,
    ) -> ResponseModel:
        """Add outcomes (counts, and the value of the responses if known) to the posteriors.
        The fitted spreads stay; cells never seen join the tree. Returns ``self``."""
        self._fitted()
        grid, n, y, v = rows_of(cells, trials, successes, values)
        root = self._tables[0]
        _check_value_total(float(root.value.sum()), float(root.responses.sum()), y, v)
        self._add(grid, n, y, v)
        self.has_values_ = self.has_values_ or values is not None
        self._propagate(fit_upto=len(self._tables) - 1)
        self.n_cells_ = len(self._tables[-1].index)
        self.trials_ = float(self._tables[0].trials[0])
        return self

    # -- prediction -----------------------------------------------------------------------------

    def posterior(self, cells: Cells) -> tuple[FloatArray, FloatArray]:
        """``(alpha, beta)`` of each cell's response rate, ``(m,)`` each. Unseen cells get the
        prior their nearest seen ancestor implies."""
        self._fitted()
        grid = grid_of(cells)
        alpha = np.empty(len(grid), dtype=np.float64)
        beta = np.empty(len(grid), dtype=np.float64)
        for i, cell in enumerate(grid.tolist()):
            alpha[i], beta[i] = self._rate_of(cell)
        return alpha, beta

    def predict(self, cells: Cells) -> FloatArray:
        """Posterior mean response rate per cell, ``(m,)``."""
        alpha, beta = self.posterior(cells)
        return np.asarray(alpha / (alpha + beta), dtype=np.float64)

    def predict_interval(self, cells: Cells) -> FloatArray:
        """``(m, 2)``: the central ``interval`` of each cell's response rate."""
        alpha, beta = self.posterior(cells)
        lo, hi = self._tails()
        return np.column_stack(
            [stats.beta.ppf(lo, alpha, beta), stats.beta.ppf(hi, alpha, beta)]
        ).astype(np.float64)

    def predict_responses(self, cells: Cells, audience: Any) -> Forecast:
        """Responses from an audience of ``audience`` people per cell (Beta-Binomial
        predictive): what will be counted, parameter and sampling uncertainty together."""
        alpha, beta = self.posterior(cells)
        size = audience_of(audience, len(alpha))
        lo, hi = self._tails()
        return Forecast(
            mean=size * alpha / (alpha + beta),
            low=np.asarray(stats.betabinom.ppf(lo, size, alpha, beta), dtype=np.float64),
            high=np.asarray(stats.betabinom.ppf(hi, size, alpha, beta), dtype=np.float64),
            level=self.interval,
        )

    def predict_value(self, cells: Cells) -> Forecast:
        """The expected value of one response per cell (the posterior of the cell's mean)."""
        mean, rel_var = self._value_posterior(cells)
        shape, rate = value_gamma(mean, rel_var)
        lo, hi = self._tails()
        # mu = 1 / lambda, so mu's low quantile is lambda's high one.
        return Forecast(
            mean=mean,
            low=np.asarray(1.0 / stats.gamma.ppf(hi, shape, scale=1.0 / rate), np.float64),
            high=np.asarray(1.0 / stats.gamma.ppf(lo, shape, scale=1.0 / rate), np.float64),
            level=self.interval,
        )

    def predict_total_value(
        self, cells: Cells, audience: Any, *, draws: int = 4000, seed: int = 0
    ) -> Forecast:
        """The summed value of the responses of an audience per cell, by simulation: a rate
        and a mean value from their posteriors, responses from the rate, values from the mean."""
        alpha, beta = self.posterior(cells)
        mean, rel_var = self._value_posterior(cells)
        size = audience_of(audience, len(alpha))
        rng = np.random.default_rng(seed)
        shape, rate = value_gamma(mean, rel_var)
        k = 1.0 / self.value_cv**2
        rates = rng.beta(alpha, beta, size=(draws, len(alpha)))
        responses = rng.binomial(size.astype(np.int64), rates)
        mu = 1.0 / rng.gamma(shape, 1.0 / rate, size=(draws, len(alpha)))
        # A sum of K Gamma(k, mu/k) order values is Gamma(K k, mu/k); K = 0 sums to 0.
        safe = np.maximum(responses * k, 1e-300)
        total = np.where(responses > 0, rng.gamma(safe, mu / k), 0.0)
        lo, hi = self._tails()
        return Forecast(
            mean=size * alpha / (alpha + beta) * mean,
            low=np.quantile(total, lo, axis=0),
            high=np.quantile(total, hi, axis=0),
            level=self.interval,
        )

    # -- internals ------------------------------------------------------------------------------

    def _check_params(self) -> None:
        known = set(KEYS)
        previous: set[str] = set()
        for level in self.levels:
            if not set(level) <= known:
                raise ModelInputError(f"levels: {level} names a key outside {KEYS}")
            if not previous <= set(level):
                raise ModelInputError(f"levels: {level} does not contain the level above it")
            previous = set(level)
        if not self.levels or set(self.levels[-1]) != known:
            raise ModelInputError(f"levels: the last level must be all of {KEYS}")
        if not 0.0 < self.interval < 1.0:
            raise ModelInputError(f"interval must be in (0, 1), got {self.interval}")
        if not 0.0 < self.min_prior_strength <= self.prior_strength <= self.max_prior_strength:
            raise ModelInputError(
                "need 0 < min_prior_strength <= prior_strength <= max_prior_strength"
            )
        if not self.value_cv > 0.0:
            raise ModelInputError(f"value_cv must be > 0, got {self.value_cv}")
        if min(self.global_prior) <= 0.0:
            raise ModelInputError("global_prior must be two positive numbers")

    def _fitted(self) -> None:
        if not hasattr(self, "_tables"):
            raise NotFittedError("this ResponseModel is not fitted yet; call fit() first")

    def _tails(self) -> tuple[float, float]:
        tail = (1.0 - self.interval) / 2.0
        return tail, 1.0 - tail

    def _add(self, grid: StrArray, n: FloatArray, y: FloatArray, v: FloatArray | None) -> None:
        rows = grid.tolist()
        parents = np.zeros(len(rows), dtype=np.int64)
        for table in self._tables:
            node = np.empty(len(rows), dtype=np.int64)
            new_parents: list[int] = []
            for i, cell in enumerate(rows):
                key = table.key(cell)
                found = table.index.get(key)
                if found is None:
                    found = table.index[key] = len(table.index)
                    new_parents.append(int(parents[i]))
                node[i] = found
            if new_parents:
                grow(table, np.asarray(new_parents, dtype=np.int64))
            size = len(table.index)
            table.trials += np.bincount(node, weights=n, minlength=size)
            table.successes += np.bincount(node, weights=y, minlength=size)
            if v is not None:
                table.responses += np.bincount(node, weights=y, minlength=size)
                table.value += np.bincount(node, weights=v, minlength=size)
            parents = node

    def _fit_rate_spread(self, depth: int) -> tuple[float, bool]:
        table, parent = self._tables[depth], self._tables[depth - 1]
        m = parent.alpha / (parent.alpha + parent.beta)
        usable = shared_parent(table.parent, table.trials >= 1.0)
        if np.count_nonzero(usable) < 2:
            return self._rho(self.prior_strength), False
        kappa = marginal_kappa(
            m[table.parent[usable]],
            table.trials[usable],
            table.successes[usable],
            (self.min_prior_strength, self.max_prior_strength),
        )
        return self._rho(kappa), True

    def _fit_value_spread(self, depth: int) -> float:
        table, parent = self._tables[depth], self._tables[depth - 1]
        usable = shared_parent(table.parent, table.responses >= 1.0)
        r = table.responses[usable]
        if len(r) < 2:
            return self.value_cv**2 / self.prior_strength
        mu = parent.value_mean[table.parent[usable]]
        z = (table.value[usable] / r / mu - 1.0) ** 2
        excess = z - self.value_cv**2 / r
        # A spread at or below the sampling noise means the level adds nothing of its own.
        rho = float(np.sum(r * excess) / np.sum(r))
        low = self.value_cv**2 / self.max_prior_strength
        high = self.value_cv**2 / self.min_prior_strength
        return float(np.clip(rho, low, high))

    def _rho(self, strength: float) -> float:
        return 1.0 / (strength + 1.0)

    def _propagate(self, fit_upto: int) -> None:
        """Posteriors of every node of levels ``0..fit_upto`` from their counts, top-down."""
        root = self._tables[0]
        a0, b0 = self.global_prior
        root.alpha = a0 + root.successes
        root.beta = b0 + root.trials - root.successes
        total = root.value.sum()
        r0 = root.responses.sum()
        root.value_mean = np.asarray([total / r0 if r0 > 0 else 1.0])
        root.value_rel_var = np.asarray([min(self.value_cv**2 / max(r0, 1e-12), 1.0)])
        for depth in range(1, fit_upto + 1):
            table, parent = self._tables[depth], self._tables[depth - 1]
            pa, pb = parent.alpha[table.parent], parent.beta[table.parent]
            m = pa / (pa + pb)
            v_parent = pa * pb / ((pa + pb) ** 2 * (pa + pb + 1.0))
            kappa = strength(m, v_parent, self.rho_[depth])
            table.alpha = m * kappa + table.successes
            table.beta = (1.0 - m) * kappa + table.trials - table.successes
            mu = parent.value_mean[table.parent]
            prior_rel = parent.value_rel_var[table.parent] + self.value_rho_[depth]
            s = self.value_cv**2 / prior_rel  # pseudo-responses
            table.value_mean = (s * mu + table.value) / (s + table.responses)
            table.value_rel_var = np.minimum(
                self.value_cv**2 / (s + table.responses), _VALUE_REL_VAR_CAP
            )

    def _rate_of(self, cell: Sequence[str]) -> tuple[float, float]:
        deepest, node = self._deepest(cell)
        table = self._tables[deepest]
        a, b = float(table.alpha[node]), float(table.beta[node])
        for depth in range(deepest + 1, len(self._tables)):
            m = a / (a + b)
            v = a * b / ((a + b) ** 2 * (a + b + 1.0))
            kappa = float(strength(np.asarray(m), np.asarray(v), self.rho_[depth]))
            a, b = m * kappa, (1.0 - m) * kappa
        return a, b

    def _value_posterior(self, cells: Cells) -> tuple[FloatArray, FloatArray]:
        self._fitted()
        if not self.has_values_:
            raise ModelInputError(
                "insufficient data: no values were given to fit or update; pass values= (the "
                "summed value of each row's responses) to forecast value"
            )
        if not self._tables[0].responses.sum() > 0:
            # Without one valued response the value of a response is unknown, not 1.
            raise ModelInputError(
                "insufficient data: values were given but no row has a response (successes > "
                "0) to carry one; forecasting value needs at least one response with its value"
            )
        grid = grid_of(cells)
        mean = np.empty(len(grid), dtype=np.float64)
        rel = np.empty(len(grid), dtype=np.float64)
        for i, cell in enumerate(grid.tolist()):
            deepest, node = self._deepest(cell)
            table = self._tables[deepest]
            mean[i] = table.value_mean[node]
            rel[i] = table.value_rel_var[node] + float(np.sum(self.value_rho_[deepest + 1 :]))
        return mean, np.minimum(rel, _VALUE_REL_VAR_CAP)

    def _deepest(self, cell: Sequence[str]) -> tuple[int, int]:
        for depth in range(len(self._tables) - 1, 0, -1):
            table = self._tables[depth]
            node = table.index.get(table.key(cell))
            if node is not None:
                return depth, node
        return 0, 0


def _check_value_total(value: float, responses: float, y: FloatArray, v: FloatArray | None) -> None:
    """Refuse values that leave every response worth 0: order values are Gamma (> 0), and a
    zero mean would turn every value forecast into 0/0."""
    if v is None:
        return
    if responses + float(y.sum()) > 0 and value + float(v.sum()) <= 0:
        raise ModelInputError.at(
            "every response so far has value 0; order values must be > 0 (leave values out "
            "to forecast response rates only)",
            field="values",
        )
