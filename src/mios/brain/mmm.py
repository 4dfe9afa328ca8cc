"""Media mix model: geometric adstock and Hill saturation per paid channel over a baseline.

    outcome_t = baseline_t + sum_c effect_c * hill(adstock(spend_c)_t; K_c, n_c) + noise_t
    baseline_t = intercept + trend * t + yearly and weekly Fourier terms + controls_t @ gamma

The fit is a MAP estimate (weak priors on the curves, lift tests as extra likelihood terms) by
bounded nonlinear least squares with an exact Jacobian from several starts; see ``mmm_fit``.
Uncertainty comes from a circular block bootstrap of the residuals (each lift test's measurement
redrawn from its standard error), refitted from the estimate: every figure has an interval.

Shapes: ``spend`` (T, C) spend per period and channel, ``y`` (T,), ``dates`` (T,) datetime64,
``controls`` (T, K). Rows are periods in time order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np

from mios.brain import mmm_fit
from mios.brain.mmm_curves import ResponseCurves
from mios.brain.mmm_inputs import LiftTest, days_of, linear_sigma, matrix, validated
from mios.brain.mmm_report import ChannelReport, Estimate, FitReport
from mios.brain.mmm_transforms import DAYS_PER_WEEK, DAYS_PER_YEAR, fourier_features
from mios.errors import ModelInputError, NotFittedError
from mios.types import FloatArray, TimeArray

__all__ = ["LiftTest", "MediaMixModel"]


class MediaMixModel:
    """Adstock + Hill media mix model with bootstrap intervals and lift-test calibration.

    Parameters: ``max_lag`` periods of carry-over; ``yearly_order`` / ``weekly_order`` Fourier
    pairs (None: yearly 2 when the dates span a year, weekly 3 for daily data); ``trend`` a
    linear trend; ``n_starts`` starting points of the fit; ``n_bootstrap`` refits for the
    intervals (0: none); ``block_length`` rows per bootstrap block (None: cube root of T);
    ``interval`` the central probability of every interval; ``random_state`` a seed.
    """

    def __init__(
        self,
        *,
        max_lag: int = 8,
        yearly_order: int | None = None,
        weekly_order: int | None = None,
        trend: bool = True,
        n_starts: int = 8,
        n_bootstrap: int = 200,
        block_length: int | None = None,
        interval: float = 0.9,
        random_state: int = 0,
    ) -> None:
        self.max_lag = max_lag
        self.yearly_order = yearly_order
        self.weekly_order = weekly_order
        self.trend = trend
        self.n_starts = n_starts
        self.n_bootstrap = n_bootstrap
        self.block_length = block_length
        self.interval = interval
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        del deep  # no nested estimators
        return {
            "max_lag": self.max_lag,
            "yearly_order": self.yearly_order,
            "weekly_order": self.weekly_order,
            "trend": self.trend,
            "n_starts": self.n_starts,
            "n_bootstrap": self.n_bootstrap,
            "block_length": self.block_length,
            "interval": self.interval,
            "random_state": self.random_state,
        }

    def set_params(self, **params: Any) -> Self:
        known = self.get_params()
        for name, value in params.items():
            if name not in known:
                raise ModelInputError(f"MediaMixModel has no parameter {name!r}")
            setattr(self, name, value)
        return self

    # ------------------------------------------------------------------ fit

    def fit(
        self,
        spend: FloatArray,
        y: FloatArray,
        *,
        dates: TimeArray | None = None,
        controls: FloatArray | None = None,
        lift_tests: Sequence[LiftTest] = (),
        channel_names: Sequence[str] | None = None,
        control_names: Sequence[str] | None = None,
    ) -> Self:
        """Fit on spend (T, C) and outcome (T,); returns ``self``."""
        self._check_settings()
        x, target, when, extra, names, extra_names = validated(
            spend, y, dates, controls, channel_names, control_names
        )
        t, c = x.shape
        self.channel_names_ = names
        self.uses_dates_ = when is not None
        self.control_names_ = extra_names
        self.y_scale_ = float(np.mean(np.abs(target)))
        self.spend_scale_ = x.mean(axis=0)
        self._layout(when, extra)
        design = self._design(when, extra, t)
        u, s, _ = np.linalg.svd(design, full_matrices=False)
        basis = u[:, s > s[0] * 1e-10]
        params = basis.shape[1] + 4 * c
        needed = max(2 * params, self.max_lag + 2)
        if t < needed:
            raise ModelInputError(
                f"too few rows to fit: {t} given, at least {needed} needed "
                f"(twice the {params} parameters: {basis.shape[1]} for the baseline, "
                f"4 per channel)"
            )
        scaled_spend = x / self.spend_scale_
        scaled_y = target / self.y_scale_
        lifts = tuple(self._scaled_lift(i, test, x, when) for i, test in enumerate(lift_tests))
        problem = mmm_fit.Problem(scaled_spend, scaled_y, basis, self.max_lag, lifts)
        measured = np.array([lift.lift for lift in lifts])
        rng = np.random.default_rng(self.random_state)

        first_sigma = linear_sigma(basis, scaled_spend, scaled_y)
        starts = mmm_fit.starting_points(c, self.n_starts, rng)
        first = mmm_fit.fit_media(problem, first_sigma, measured, starts)
        fitted = self._media(problem, first)
        dof = t - params
        self.sigma_ = float(np.sqrt(np.sum(problem.project(scaled_y - fitted) ** 2) / dof))
        best = mmm_fit.solve(problem, self.sigma_, measured, first.vector())
        self.solution_ = best
        self.converged_ = best.success
        self.message_ = best.message
        media = self._media(problem, best)
        self.baseline_coef_ = np.linalg.lstsq(design, scaled_y - media, rcond=None)[0]
        prediction = design @ self.baseline_coef_ + media
        residuals = scaled_y - prediction
        self.n_periods_ = t
        self.r2_ = float(1.0 - np.sum(residuals**2) / np.sum((scaled_y - scaled_y.mean()) ** 2))
        self.mape_ = float(np.mean(np.abs(residuals / scaled_y))) if np.all(target != 0) else None
        self.n_lift_tests_ = len(lifts)
        self.total_outcome_ = float(target.sum())
        self.total_spend_ = x.sum(axis=0)
        self.spend_history_ = x
        self._bootstrap(problem, best, prediction, residuals, params, rng)
        return self

    def _check_settings(self) -> None:
        if not (isinstance(self.max_lag, int) and self.max_lag >= 1):
            raise ModelInputError(f"max_lag must be a whole number >= 1, not {self.max_lag!r}")
        if not 0.0 < self.interval < 1.0:
            raise ModelInputError(f"interval must be between 0 and 1, not {self.interval!r}")
        if self.n_starts < 1 or self.n_bootstrap < 0:
            raise ModelInputError("n_starts must be >= 1 and n_bootstrap >= 0")
        if self.block_length is not None and self.block_length < 1:
            raise ModelInputError(f"block_length must be >= 1, not {self.block_length!r}")

    def _layout(self, when: TimeArray | None, extra: FloatArray) -> None:
        """Fix the baseline's columns from the training data, so ``predict`` builds the same."""
        if when is None:
            self.first_day_ = 0.0
            self.span_ = 1.0
            self.yearly_ = 0
            self.weekly_ = 0
        else:
            days = days_of(when)
            self.first_day_ = float(days[0])
            self.span_ = float(max(days[-1] - days[0], 1.0))
            step = float(np.median(np.diff(days))) if len(days) > 1 else 1.0
            auto_yearly = 2 if days[-1] - days[0] >= 365.0 else 0
            auto_weekly = 3 if step <= 1.0 else 0
            self.yearly_ = auto_yearly if self.yearly_order is None else self.yearly_order
            self.weekly_ = auto_weekly if self.weekly_order is None else self.weekly_order
        self.control_mean_ = extra.mean(axis=0)
        self.control_std_ = extra.std(axis=0)

    def _design(self, when: TimeArray | None, extra: FloatArray, t: int) -> FloatArray:
        """The baseline's columns (T, p): intercept, trend, Fourier pairs, controls."""
        days = np.arange(t, dtype=np.float64) if when is None else days_of(when)
        columns = [np.ones((t, 1))]
        if self.trend:
            columns.append(((days - self.first_day_) / self.span_)[:, None])
        columns.append(fourier_features(days, DAYS_PER_YEAR, self.yearly_))
        columns.append(fourier_features(days, DAYS_PER_WEEK, self.weekly_))
        columns.append((extra - self.control_mean_) / self.control_std_)
        return np.concatenate(columns, axis=1)

    def _scaled_lift(
        self, index: int, test: LiftTest, spend: FloatArray, when: TimeArray | None
    ) -> mmm_fit.ScaledLift:
        where = f"{test.source or f'lift test {index + 1}'} ({test.channel})"
        if test.channel not in self.channel_names_:
            raise ModelInputError(
                f"{where}: unknown channel; the channels are {', '.join(self.channel_names_)}"
            )
        if when is None:
            raise ModelInputError(f"{where}: lift tests need the dates of the rows")
        if not (np.isfinite(test.lift) and np.isfinite(test.spend_delta)):
            raise ModelInputError(f"{where}: lift and spend_delta must be numbers")
        if not (np.isfinite(test.lift_se) and test.lift_se > 0):
            raise ModelInputError(f"{where}: lift_se must be a positive number")
        if test.spend_delta == 0:
            raise ModelInputError(f"{where}: spend_delta is 0, so the test measured nothing")
        rows = np.flatnonzero((when >= test.start) & (when <= test.end))
        if rows.size == 0:
            raise ModelInputError(
                f"{where}: no rows between {test.start} and {test.end}; the data runs from "
                f"{when[0]} to {when[-1]}"
            )
        k = self.channel_names_.index(test.channel)
        window = spend[rows, k]
        spent = float(window.sum())
        if spent > 0:
            extra = test.spend_delta * window / spent
        elif test.spend_delta < 0:
            raise ModelInputError(f"{where}: cuts spend in a window where the channel spent 0")
        else:
            extra = np.full(rows.size, test.spend_delta / rows.size)
        if test.spend_delta < -spent * (1 + 1e-9):
            raise ModelInputError(
                f"{where}: cuts {-test.spend_delta:g} but the channel spent {spent:g} there"
            )
        # The test's effect runs on for max_lag - 1 periods after its window; past the last row
        # the channel is assumed to spend its mean.
        stop = int(rows[-1]) + self.max_lag
        history = np.ones(stop)
        known = min(stop, len(spend))
        history[:known] = spend[:known, k] / self.spend_scale_[k]
        return mmm_fit.ScaledLift(
            channel=k,
            first=int(rows[0]),
            last=int(rows[-1]),
            history=history,
            extra=extra / self.spend_scale_[k],
            lift=test.lift / self.y_scale_,
            se=test.lift_se / self.y_scale_,
        )

    def _media(self, problem: mmm_fit.Problem, solution: mmm_fit.Solution) -> FloatArray:
        curves = mmm_fit.saturated(problem, solution.decay, solution.half, solution.shape)
        return np.asarray(curves @ solution.beta, dtype=np.float64)

    def _bootstrap(
        self,
        problem: mmm_fit.Problem,
        best: mmm_fit.Solution,
        prediction: FloatArray,
        residuals: FloatArray,
        params: int,
        rng: np.random.Generator,
    ) -> None:
        """Refit on ``prediction`` plus block-resampled residuals ``n_bootstrap`` times."""
        t, c = problem.spend.shape
        block = self.block_length or max(1, round(t ** (1.0 / 3.0)))
        # Fitted residuals are smaller than the noise by the parameters they absorbed.
        noise = (residuals - residuals.mean()) * np.sqrt(t / (t - params))
        measured = np.array([lift.lift for lift in problem.lifts])
        se = np.array([lift.se for lift in problem.lifts])
        draws = np.empty((self.n_bootstrap, 4, c))
        start = best.vector()
        for b in range(self.n_bootstrap):
            target = prediction + noise[mmm_fit.block_indices(t, block, rng)]
            again = mmm_fit.Problem(
                problem.spend, target, problem.basis, problem.max_lag, problem.lifts
            )
            lifts = measured + se * rng.standard_normal(len(se))
            refit = mmm_fit.solve(again, self.sigma_, lifts, start, max_nfev=50, tolerance=1e-6)
            draws[b] = np.stack([refit.decay, refit.half, refit.shape, refit.beta])
        self.bootstrap_params_ = draws

    # ------------------------------------------------------------------ use

    def _check_fitted(self) -> None:
        if not hasattr(self, "solution_"):
            raise NotFittedError("this MediaMixModel is not fitted yet: call fit() first")

    def _contributions(
        self,
        decay: FloatArray,
        half: FloatArray,
        shape: FloatArray,
        beta: FloatArray,
        spend: FloatArray,
    ) -> FloatArray:
        problem = mmm_fit.Problem(
            spend / self.spend_scale_,
            np.zeros(len(spend)),
            np.zeros((len(spend), 0)),
            self.max_lag,
            (),
        )
        curves = mmm_fit.saturated(problem, decay, half, shape)
        return np.asarray(curves * beta * self.y_scale_, dtype=np.float64)

    def contributions(self, spend: FloatArray) -> FloatArray:
        """The outcome each channel drives per period (T, C) for a spend history (T, C)."""
        self._check_fitted()
        x = matrix(spend, "spend", len(self.channel_names_))
        s = self.solution_
        return self._contributions(s.decay, s.half, s.shape, s.beta, x)

    def predict(
        self,
        spend: FloatArray,
        *,
        dates: TimeArray | None = None,
        controls: FloatArray | None = None,
    ) -> FloatArray:
        """Expected outcome (T,) for spend (T, C), with dates and controls as in ``fit``
        (carry-over starts from zero at the first row)."""
        self._check_fitted()
        x = matrix(spend, "spend", len(self.channel_names_))
        t = len(x)
        when = None if dates is None else np.asarray(dates, dtype="datetime64[D]")
        if (when is None) == self.uses_dates_:
            raise ModelInputError("predict needs dates exactly when fit was given dates")
        extra = (
            np.zeros((t, 0))
            if controls is None
            else matrix(controls, "controls", len(self.control_names_))
        )
        if extra.shape[1] != len(self.control_names_):
            raise ModelInputError(f"predict needs the {len(self.control_names_)} controls")
        design = self._design(when, extra, t)
        media = self.contributions(x).sum(axis=1)
        return np.asarray(design @ self.baseline_coef_ * self.y_scale_ + media, dtype=np.float64)

    def response_curves(self) -> ResponseCurves:
        """Steady-state curves (outcome per period against spend per period), with the
        bootstrap draws, for budget allocation."""
        self._check_fitted()
        s = self.solution_
        draws = self.bootstrap_params_
        return ResponseCurves(
            channels=tuple(self.channel_names_),
            effect=s.beta * self.y_scale_,
            half_saturation=s.half * self.spend_scale_,
            shape=s.shape.copy(),
            effect_draws=draws[:, 3] * self.y_scale_,
            half_saturation_draws=draws[:, 1] * self.spend_scale_,
            shape_draws=draws[:, 2].copy(),
        )

    def report(self) -> FitReport:
        """Per channel ROAS, contribution share and curve parameters, each with its interval,
        and the fit's R^2 and MAPE."""
        self._check_fitted()
        s = self.solution_
        x = self.spend_history_
        level = self.interval
        point = self._contributions(s.decay, s.half, s.shape, s.beta, x).sum(axis=0)
        draws = self.bootstrap_params_
        totals = np.array(
            [self._contributions(d[0], d[1], d[2], d[3], x).sum(axis=0) for d in draws]
        ).reshape(len(draws), len(s.beta))
        channels = []
        for k, name in enumerate(self.channel_names_):
            spent = float(self.total_spend_[k])
            channels.append(
                ChannelReport(
                    name=name,
                    spend=spent,
                    contribution=Estimate.of(point[k], totals[:, k], level),
                    roas=Estimate.of(point[k] / spent, totals[:, k] / spent, level),
                    contribution_share=Estimate.of(
                        point[k] / self.total_outcome_, totals[:, k] / self.total_outcome_, level
                    ),
                    decay=Estimate.of(s.decay[k], draws[:, 0, k], level),
                    half_saturation=Estimate.of(
                        s.half[k] * self.spend_scale_[k],
                        draws[:, 1, k] * self.spend_scale_[k],
                        level,
                    ),
                    shape=Estimate.of(s.shape[k], draws[:, 2, k], level),
                    effect=Estimate.of(
                        s.beta[k] * self.y_scale_, draws[:, 3, k] * self.y_scale_, level
                    ),
                )
            )
        return FitReport(
            channels=tuple(channels),
            periods=self.n_periods_,
            r2=self.r2_,
            mape=self.mape_,
            interval=level,
            bootstrap_draws=len(draws),
            lift_tests=self.n_lift_tests_,
            converged=self.converged_,
            message=self.message_,
        )
