"""The numeric core of the media mix model: a penalised nonlinear least-squares (MAP) fit.

Everything here is in scaled units (outcome divided by its mean, each channel's spend by its mean
per period), where the parameters are all of order one.

The objective, minimised by ``scipy.optimize.least_squares`` (trust region reflective, bounded,
exact Jacobian), is a negative log posterior::

    sum_t (P (y - sum_c beta_c hill(adstock(x_c))))_t**2 / sigma**2     the data
    + sum_i ((implied lift_i - measured lift_i) / se_i)**2             the lift tests
    + sum_c ((log K_c - 0) / 1)**2 + ((log n_c - 0) / 0.2)**2           priors on the curves

``P`` projects out the baseline (intercept, trend, seasonality, controls): those coefficients
enter linearly and without bounds, so they are solved exactly for any media parameters (variable
projection), and the optimiser only moves ``4 x channels`` numbers: decay, half saturation K,
shape n and the non-negative effect ``beta`` of each channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares, nnls

from mios.brain.mmm_transforms import adstock_and_gradient, hill_and_gradients
from mios.types import FloatArray, IntArray

DECAY_BOUNDS = (0.0, 0.95)
HALF_SATURATION_BOUNDS = (0.05, 20.0)
SHAPE_BOUNDS = (0.5, 4.0)
PRIOR_LOG_HALF = (0.0, 1.0)  # K near the channel's mean spend, within a factor e either way
# Concave (Michaelis-Menten, n = 1) unless the data insist: how a curve bends near zero spend is
# only seen in periods of little spend, and a free shape there swings the ROAS of an always-on
# channel by tens of percent (the default of Google's Meridian is n = 1 too).
PRIOR_LOG_SHAPE = (0.0, 0.2)
DEFAULT_START = (0.3, 1.0, 1.0)


@dataclass(frozen=True)
class ScaledLift:
    """A lift test in scaled units. ``history`` is the tested channel's spend from the first row
    to the end of the test's carry-over (past the last row it is padded with the mean spend);
    ``extra`` is added to rows ``first`` to ``last``; the implied lift is the change of the
    channel's contribution over rows ``first`` to the end of ``history``."""

    channel: int
    first: int
    last: int
    history: FloatArray
    extra: FloatArray
    lift: float
    se: float

    def moved(self) -> FloatArray:
        moved = self.history.copy()
        moved[self.first : self.last + 1] += self.extra
        return moved


@dataclass(frozen=True)
class Problem:
    """One fit's data. ``basis`` is an orthonormal basis (T, r) of the baseline's columns."""

    spend: FloatArray  # (T, C)
    target: FloatArray  # (T,)
    basis: FloatArray  # (T, r)
    max_lag: int
    lifts: tuple[ScaledLift, ...]

    @property
    def channels(self) -> int:
        return int(self.spend.shape[1])

    def project(self, values: FloatArray) -> FloatArray:
        """The part of ``values`` (T,) or (T, k) the baseline cannot explain."""
        return values - self.basis @ (self.basis.T @ values)


@dataclass(frozen=True)
class Solution:
    """Media parameters, each (C,), and the fit's state."""

    decay: FloatArray
    half: FloatArray
    shape: FloatArray
    beta: FloatArray
    cost: float
    success: bool
    message: str

    def vector(self) -> FloatArray:
        return np.concatenate([self.decay, self.half, self.shape, self.beta])


def saturated(
    problem: Problem, decay: FloatArray, half: FloatArray, shape: FloatArray
) -> FloatArray:
    """hill(adstock(spend)) per channel, (T, C)."""
    out = np.empty_like(problem.spend)
    for c in range(problem.channels):
        carried, _ = adstock_and_gradient(problem.spend[:, c], float(decay[c]), problem.max_lag)
        out[:, c] = hill_and_gradients(carried, float(half[c]), float(shape[c]))[0]
    return out


class _Objective:
    """Residuals and their Jacobian for ``least_squares``, computed together and cached, since
    the solver asks for both at the same point."""

    def __init__(self, problem: Problem, sigma: float, lifts: FloatArray) -> None:
        self.problem = problem
        self.sigma = sigma
        self.lifts = lifts  # measured lift per test (bootstrap draws replace them)
        self._at: FloatArray | None = None
        self._value: tuple[FloatArray, FloatArray] | None = None

    def residuals(self, z: FloatArray) -> FloatArray:
        return self._evaluate(z)[0]

    def jacobian(self, z: FloatArray) -> FloatArray:
        return self._evaluate(z)[1]

    def _evaluate(self, z: FloatArray) -> tuple[FloatArray, FloatArray]:
        if self._at is not None and self._value is not None and np.array_equal(z, self._at):
            return self._value
        p = self.problem
        t, c = p.spend.shape
        decay, half, shape, beta = np.split(z, 4)
        model = np.zeros(t)
        d_model = np.zeros((t, 4 * c))
        lift_rows = np.zeros(len(p.lifts))
        lift_jac = np.zeros((len(p.lifts), 4 * c))
        for k in range(c):
            cols = [k, c + k, 2 * c + k, 3 * c + k]
            h, dh = _channel(p.spend[:, k], decay[k], half[k], shape[k], p.max_lag)
            model += beta[k] * h
            d_model[:, cols[:3]] = beta[k] * dh
            d_model[:, cols[3]] = h
            for i, lift in enumerate(p.lifts):
                if lift.channel != k:
                    continue
                after = slice(lift.first, None)
                h1, dh1 = _channel(lift.history, decay[k], half[k], shape[k], p.max_lag)
                h2, dh2 = _channel(lift.moved(), decay[k], half[k], shape[k], p.max_lag)
                gain = float(np.sum(h2[after] - h1[after]))
                lift_rows[i] = beta[k] * gain
                lift_jac[i, cols[:3]] = beta[k] * np.sum(dh2[after] - dh1[after], axis=0)
                lift_jac[i, cols[3]] = gain
        data = p.project(p.target - model) / self.sigma
        d_data = -p.project(d_model) / self.sigma
        se = np.array([lift.se for lift in p.lifts])
        lift_res = (lift_rows - self.lifts) / se if len(p.lifts) else np.zeros(0)
        lift_jac = lift_jac / se[:, None] if len(p.lifts) else lift_jac
        prior = np.concatenate(
            [
                (np.log(half) - PRIOR_LOG_HALF[0]) / PRIOR_LOG_HALF[1],
                (np.log(shape) - PRIOR_LOG_SHAPE[0]) / PRIOR_LOG_SHAPE[1],
            ]
        )
        prior_jac = np.zeros((2 * c, 4 * c))
        prior_jac[np.arange(c), c + np.arange(c)] = 1.0 / (half * PRIOR_LOG_HALF[1])
        prior_jac[c + np.arange(c), 2 * c + np.arange(c)] = 1.0 / (shape * PRIOR_LOG_SHAPE[1])
        value = (
            np.concatenate([data, lift_res, prior]),
            np.concatenate([d_data, lift_jac, prior_jac]),
        )
        self._at = z.copy()
        self._value = value
        return value


def _channel(
    spend: FloatArray, decay: float, half: float, shape: float, max_lag: int
) -> tuple[FloatArray, FloatArray]:
    """hill(adstock(spend)) (T,) and its derivatives in (decay, K, n), (T, 3)."""
    carried, d_carried = adstock_and_gradient(spend, float(decay), max_lag)
    h, d_x, d_half, d_shape = hill_and_gradients(carried, float(half), float(shape))
    return h, np.stack([d_x * d_carried, d_half, d_shape], axis=1)


def _bounds(channels: int) -> tuple[FloatArray, FloatArray]:
    low = np.repeat([DECAY_BOUNDS[0], HALF_SATURATION_BOUNDS[0], SHAPE_BOUNDS[0], 0.0], channels)
    high = np.repeat(
        [DECAY_BOUNDS[1], HALF_SATURATION_BOUNDS[1], SHAPE_BOUNDS[1], np.inf], channels
    )
    return low, high


def best_effects(
    problem: Problem, sigma: float, lifts: FloatArray, curve: FloatArray
) -> FloatArray:
    """The non-negative effects (C,) that fit best for fixed curve parameters ``curve`` (3C,:
    decay, K, n): a non-negative least squares on the projected problem."""
    decay, half, shape = np.split(curve, 3)
    curves = saturated(problem, decay, half, shape)
    rows = [problem.project(curves) / sigma]
    targets = [problem.project(problem.target) / sigma]
    if problem.lifts:
        gains = np.zeros((len(problem.lifts), problem.channels))
        for i, lift in enumerate(problem.lifts):
            k = lift.channel
            h1, _ = _channel(lift.history, decay[k], half[k], shape[k], problem.max_lag)
            h2, _ = _channel(lift.moved(), decay[k], half[k], shape[k], problem.max_lag)
            gains[i, k] = float(np.sum(h2[lift.first :] - h1[lift.first :]))
        se = np.array([lift.se for lift in problem.lifts])
        rows.append(gains / se[:, None])
        targets.append(lifts / se)
    effects, _ = nnls(np.concatenate(rows), np.concatenate(targets))
    return np.asarray(effects, dtype=np.float64)


def starting_points(channels: int, count: int, rng: np.random.Generator) -> list[FloatArray]:
    """(decay, K, n) per channel for ``count`` starts: the default curve first, then random
    ones spread over the plausible range."""
    starts = [np.repeat(np.array(DEFAULT_START, dtype=np.float64), channels)]
    for _ in range(max(count - 1, 0)):
        starts.append(
            np.concatenate(
                [
                    rng.uniform(0.0, 0.8, channels),
                    np.exp(rng.uniform(np.log(0.3), np.log(3.0), channels)),
                    rng.uniform(0.7, 1.6, channels),
                ]
            )
        )
    return starts


def fit_media(
    problem: Problem,
    sigma: float,
    lifts: FloatArray,
    starts: list[FloatArray],
    *,
    refine: int = 3,
    max_nfev: int = 200,
) -> Solution:
    """The MAP fit from the best ``refine`` of ``starts`` (each (3C,): decay, K, n), ranked by
    their objective with the effects solved exactly."""
    c = problem.channels
    prior = _Objective(problem, sigma, lifts)
    ranked: list[tuple[float, FloatArray]] = []
    for start in starts:
        z = np.concatenate([start, best_effects(problem, sigma, lifts, start)])
        ranked.append((float(np.sum(prior.residuals(z) ** 2)), z))
    ranked.sort(key=lambda pair: pair[0])
    low, high = _bounds(c)
    best: Solution | None = None
    for _, z0 in ranked[:refine]:
        solution = solve(problem, sigma, lifts, np.clip(z0, low, high), max_nfev=max_nfev)
        if best is None or solution.cost < best.cost:
            best = solution
    assert best is not None, "there is always at least one start"
    return best


def solve(
    problem: Problem,
    sigma: float,
    lifts: FloatArray,
    z0: FloatArray,
    *,
    max_nfev: int = 200,
    tolerance: float = 1e-8,
) -> Solution:
    """One bounded trust-region fit from ``z0`` (4C,)."""
    objective = _Objective(problem, sigma, lifts)
    low, high = _bounds(problem.channels)
    z0 = np.clip(z0, low, high)
    # least_squares wants a start strictly inside the bounds.
    z0 = np.where(z0 <= low, low + 1e-6, z0)
    z0 = np.where(z0 >= high, high - 1e-6, z0)
    result = least_squares(
        objective.residuals,
        z0,
        jac=objective.jacobian,
        bounds=(low, high),
        method="trf",
        x_scale="jac",
        max_nfev=max_nfev,
        ftol=tolerance,
        xtol=tolerance,
        gtol=tolerance,
    )
    decay, half, shape, beta = np.split(np.asarray(result.x, dtype=np.float64), 4)
    return Solution(
        decay=decay,
        half=half,
        shape=shape,
        beta=beta,
        cost=float(result.cost),
        success=bool(result.success),
        message=str(result.message),
    )


def block_indices(length: int, block: int, rng: np.random.Generator) -> IntArray:
    """Row indices (length,) of a circular block bootstrap with blocks of ``block`` rows."""
    count = -(-length // block)
    starts = rng.integers(0, length, size=count)
    rows = (starts[:, None] + np.arange(block)[None, :]) % length
    return np.asarray(rows.ravel()[:length], dtype=np.int64)
