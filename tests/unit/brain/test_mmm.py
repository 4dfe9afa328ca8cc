"""The media mix model: its contract, exact derivatives, recovery of known curves, lift-test
calibration of a confounded channel, interval coverage, and bad input."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from mios.brain import mmm_fit
from mios.brain.mmm import LiftTest, MediaMixModel
from mios.brain.mmm_transforms import (
    adstock,
    adstock_and_gradient,
    adstock_weights,
    hill,
    hill_and_gradients,
)
from mios.errors import ModelInputError, NotFittedError
from mios.types import FloatArray, TimeArray

MAX_LAG = 8


@dataclass(frozen=True)
class Simulated:
    dates: TimeArray
    spend: FloatArray  # (T, 2)
    y: FloatArray
    roas: FloatArray  # true ROAS per channel over the history
    decay: FloatArray
    half: FloatArray
    shape: FloatArray
    effect: FloatArray

    def contribution(self, k: int, spend: FloatArray) -> FloatArray:
        carried = adstock(spend, float(self.decay[k]), MAX_LAG)
        return float(self.effect[k]) * hill(carried, float(self.half[k]), float(self.shape[k]))


def simulate(seed: int, *, periods: int = 156, confound: float = 0.0) -> Simulated:
    """Weekly sales: a baseline with trend and yearly season, two paid channels with known
    adstock and Hill curves, noise. With ``confound`` an unobserved demand swing both raises
    sales and drives channel a's spend, the way budgets follow demand in real data."""
    rng = np.random.default_rng(seed)
    dates = np.datetime64("2021-01-04") + 7 * np.arange(periods)
    days = (dates - np.datetime64("1970-01-01")).astype(np.float64)
    demand = np.zeros(periods)
    for t in range(1, periods):
        demand[t] = 0.8 * demand[t - 1] + rng.normal(0, 0.6)
    a = 10 * np.exp(0.4 * rng.normal(size=periods) + confound * demand)
    a *= rng.random(periods) > 0.15
    b = 8 * np.exp(0.5 * rng.normal(size=periods)) * (rng.random(periods) > 0.3)
    spend = np.stack([a, b], axis=1)
    sim = Simulated(
        dates=dates,
        spend=spend,
        y=np.zeros(periods),
        roas=np.zeros(2),
        decay=np.array([0.5, 0.2]),
        half=np.array([8.0, 6.0]),
        shape=np.array([1.0, 1.3]),
        effect=np.array([60.0, 40.0]),
    )
    media = np.stack([sim.contribution(k, spend[:, k]) for k in range(2)], axis=1)
    base = 200 + 20 * np.arange(periods) / periods + 10 * np.sin(2 * np.pi * days / 365.25)
    y = base + 15 * confound * demand + media.sum(axis=1) + rng.normal(0, 5, periods)
    return Simulated(
        dates,
        spend,
        y,
        media.sum(axis=0) / spend.sum(axis=0),
        sim.decay,
        sim.half,
        sim.shape,
        sim.effect,
    )


def lift_test(sim: Simulated, first: int, change: float, rng: np.random.Generator) -> LiftTest:
    """A 4-week test on channel a that scales its spend by ``1 + change``, measured (carry-over
    included) with a 10% standard error."""
    last = first + 3
    x = sim.spend[:, 0]
    moved = x.copy()
    moved[first : last + 1] *= 1 + change
    after = slice(first, last + MAX_LAG)
    true = float(np.sum(sim.contribution(0, moved)[after] - sim.contribution(0, x)[after]))
    se = abs(true) * 0.1
    return LiftTest(
        channel="a",
        start=sim.dates[first],
        end=sim.dates[last],
        spend_delta=float(x[first : last + 1].sum() * change),
        lift=true + float(rng.normal()) * se,
        lift_se=se,
    )


def fitted(sim: Simulated, **settings: object) -> MediaMixModel:
    options: dict[str, object] = {"n_bootstrap": 60, **settings}
    lifts = options.pop("lift_tests", ())
    model = MediaMixModel(**options)  # type: ignore[arg-type]
    return model.fit(sim.spend, sim.y, dates=sim.dates, channel_names=["a", "b"], lift_tests=lifts)  # type: ignore[arg-type]


# ---------------------------------------------------------------- contract


def test_constructor_stores_its_arguments_and_get_params_returns_them() -> None:
    model = MediaMixModel(max_lag=4, yearly_order=1, n_bootstrap=7, random_state=3)
    params = model.get_params()
    assert params["max_lag"] == 4
    assert params["yearly_order"] == 1
    assert params["n_bootstrap"] == 7
    assert params["random_state"] == 3
    assert MediaMixModel(**params).get_params() == params
    assert model.set_params(max_lag=6) is model
    assert model.max_lag == 6
    with pytest.raises(ModelInputError, match="no parameter"):
        model.set_params(lag=2)


def test_using_the_model_before_fit_raises_not_fitted() -> None:
    model = MediaMixModel()
    with pytest.raises(NotFittedError):
        model.predict(np.ones((10, 2)))
    with pytest.raises(NotFittedError):
        model.report()
    with pytest.raises(NotFittedError):
        model.response_curves()


def test_fit_returns_self_sets_underscore_attributes_and_predicts_its_fit() -> None:
    sim = simulate(1)
    model = MediaMixModel(n_bootstrap=5)
    before = set(vars(model))
    assert model.fit(sim.spend, sim.y, dates=sim.dates) is model
    learned = set(vars(model)) - before
    assert learned
    assert all(name.endswith("_") for name in learned)
    predicted = model.predict(sim.spend, dates=sim.dates)
    assert predicted.shape == sim.y.shape
    r2 = 1 - np.sum((sim.y - predicted) ** 2) / np.sum((sim.y - sim.y.mean()) ** 2)
    assert r2 == pytest.approx(model.r2_, abs=1e-9)
    assert model.r2_ > 0.8
    assert model.bootstrap_params_.shape == (5, 4, 2)


def test_a_fit_is_reproducible_with_the_same_seed() -> None:
    sim = simulate(2)
    one = fitted(sim, n_bootstrap=10, random_state=4).report().as_dict()
    two = fitted(sim, n_bootstrap=10, random_state=4).report().as_dict()
    assert one == two


# ---------------------------------------------------------------- transforms


def test_normalised_adstock_carries_a_steady_spend_to_itself() -> None:
    weights, _ = adstock_weights(0.6, MAX_LAG)
    assert weights.sum() == pytest.approx(1.0)
    carried = adstock(np.full(30, 5.0), 0.6, MAX_LAG)
    assert carried[MAX_LAG - 1 :] == pytest.approx(5.0)
    assert carried[0] == pytest.approx(5.0 * weights[0])


@pytest.mark.parametrize("decay", [0.0, 0.3, 0.8])
def test_adstock_gradient_matches_finite_differences(decay: float) -> None:
    spend = np.random.default_rng(0).gamma(2.0, 3.0, 40)
    _, slope = adstock_and_gradient(spend, decay, MAX_LAG)
    step = 1e-6
    lo = adstock(spend, max(decay - step, 0.0), MAX_LAG)
    hi = adstock(spend, decay + step, MAX_LAG)
    numeric = (hi - lo) / (decay + step - max(decay - step, 0.0))
    assert slope == pytest.approx(numeric, rel=1e-4, abs=1e-6)


def test_hill_gradients_match_finite_differences() -> None:
    x = np.array([0.0, 0.5, 2.0, 7.0])
    value, d_x, d_half, d_shape = hill_and_gradients(x, 2.0, 1.7)
    step = 1e-6
    assert value == pytest.approx(hill(x, 2.0, 1.7))
    assert d_half == pytest.approx(
        (hill(x, 2.0 + step, 1.7) - hill(x, 2.0 - step, 1.7)) / 2e-6, abs=1e-6
    )
    assert d_shape == pytest.approx(
        (hill(x, 2.0, 1.7 + step) - hill(x, 2.0, 1.7 - step)) / 2e-6, abs=1e-6
    )
    assert d_x[1:] == pytest.approx(
        (hill(x[1:] + step, 2.0, 1.7) - hill(x[1:] - step, 2.0, 1.7)) / 2e-6, rel=1e-5
    )


def test_the_objective_jacobian_is_exact_with_lift_tests_and_priors() -> None:
    rng = np.random.default_rng(3)
    spend = rng.gamma(2.0, 0.5, (40, 2))
    basis = np.linalg.qr(np.stack([np.ones(40), np.linspace(0, 1, 40)], axis=1))[0]
    history = np.concatenate([spend[:30, 1], np.ones(2)])
    lift = mmm_fit.ScaledLift(1, 20, 24, history, np.full(5, 0.3), 0.4, 0.05)
    problem = mmm_fit.Problem(spend, rng.normal(1, 0.1, 40), basis, MAX_LAG, (lift,))
    objective = mmm_fit._Objective(problem, 0.1, np.array([0.4]))
    z = np.array([0.3, 0.6, 0.8, 1.2, 1.1, 1.4, 0.5, 0.7])
    analytic = objective.jacobian(z)
    numeric = np.empty_like(analytic)
    for j in range(len(z)):
        dz = np.zeros(len(z))
        dz[j] = 1e-6
        numeric[:, j] = (objective.residuals(z + dz) - objective.residuals(z - dz)) / 2e-6
    assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-5)


# ---------------------------------------------------------------- recovery


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_recovers_known_roas_and_carry_over_on_simulated_data(seed: int) -> None:
    sim = simulate(seed)
    model = fitted(sim)
    report = model.report()
    for k, channel in enumerate(report.channels):
        assert channel.roas.value == pytest.approx(sim.roas[k], rel=0.2)
        assert channel.roas.low <= channel.roas.value <= channel.roas.high
        assert channel.decay.value == pytest.approx(sim.decay[k], abs=0.2)
        contribution = channel.roas.value * channel.spend
        assert channel.contribution.value == pytest.approx(contribution)
        assert channel.contribution_share.value == pytest.approx(contribution / sim.y.sum())
    assert report.r2 > 0.8
    assert report.mape is not None
    assert report.mape < 0.05


def test_response_curves_are_the_steady_state_of_the_fitted_model() -> None:
    model = fitted(simulate(5), n_bootstrap=8)
    curves = model.response_curves()
    steady = np.full((40, 2), [9.0, 7.0])
    assert curves.outcome(np.array([9.0, 7.0])) == pytest.approx(model.contributions(steady)[-1])
    assert curves.outcome_draws(np.array([9.0, 7.0])).shape == (8, 2)
    step = 1e-5
    numeric = (
        curves.outcome(np.array([9.0 + step, 7.0 + step]))
        - curves.outcome(np.array([9.0 - step, 7.0 - step]))
    ) / (2 * step)
    assert curves.marginal(np.array([9.0, 7.0])) == pytest.approx(numeric, rel=1e-5)


# ---------------------------------------------------------------- lift tests


@pytest.mark.parametrize("seed", [0, 5])
def test_lift_tests_correct_the_roas_of_a_confounded_channel(seed: int) -> None:
    sim = simulate(seed, confound=1.0)
    rng = np.random.default_rng(100 + seed)
    tests = [
        lift_test(sim, first, 0.5 if i % 2 == 0 else -1.0, rng)
        for i, first in enumerate([20, 60, 100, 130])
    ]
    truth = sim.roas[0]
    alone = fitted(sim, n_bootstrap=100).report().channels[0].roas
    calibrated = fitted(sim, n_bootstrap=100, lift_tests=tests).report().channels[0].roas
    # Spend follows demand, so the data alone credit channel a with demand's sales ...
    assert alone.value > 1.4 * truth
    assert not alone.low <= truth <= alone.high
    # ... and the experiments pull it back to the truth.
    assert calibrated.value == pytest.approx(truth, rel=0.15)
    assert calibrated.low <= truth <= calibrated.high


def test_a_lift_test_outside_the_data_or_on_an_unknown_channel_is_refused() -> None:
    sim = simulate(0)
    rng = np.random.default_rng(0)
    good = lift_test(sim, 20, 0.5, rng)
    late = LiftTest("a", np.datetime64("2030-01-01"), np.datetime64("2030-02-01"), 5.0, 1.0, 0.1)
    with pytest.raises(ModelInputError, match="no rows between"):
        fitted(sim, lift_tests=[good, late])
    unknown = LiftTest("tv", good.start, good.end, 5.0, 1.0, 0.1)
    with pytest.raises(ModelInputError, match="unknown channel"):
        fitted(sim, lift_tests=[unknown])
    too_deep = LiftTest("a", good.start, good.end, -1e9, 1.0, 0.1)
    with pytest.raises(ModelInputError, match="cuts"):
        fitted(sim, lift_tests=[too_deep])
    no_error = LiftTest("a", good.start, good.end, 5.0, 1.0, 0.0)
    with pytest.raises(ModelInputError, match="lift_se"):
        fitted(sim, lift_tests=[no_error])


# ---------------------------------------------------------------- intervals


@pytest.mark.slow
def test_roas_intervals_cover_the_truth_about_ninety_percent_of_the_time() -> None:
    inside = []
    for seed in range(20):
        sim = simulate(1000 + seed)
        report = fitted(sim, n_bootstrap=80, random_state=seed).report()
        inside += [
            channel.roas.low <= sim.roas[k] <= channel.roas.high
            for k, channel in enumerate(report.channels)
        ]
    coverage = float(np.mean(inside))
    # 40 intervals: a binomial at 90% lands in [0.75, 1.0] with probability ~ 0.99.
    assert 0.75 <= coverage <= 0.99, coverage


# ---------------------------------------------------------------- bad input


def test_bad_input_names_the_column_and_the_row() -> None:
    sim = simulate(0)
    y = sim.y.copy()
    y[7] = np.nan
    with pytest.raises(ModelInputError, match="y is not a finite number at row 8"):
        MediaMixModel().fit(sim.spend, y)
    flat = sim.spend.copy()
    flat[:, 1] = 3.0
    with pytest.raises(ModelInputError, match="spend 'b' has zero variance"):
        MediaMixModel().fit(flat, sim.y, channel_names=["a", "b"])
    with pytest.raises(ModelInputError, match="y has zero variance"):
        MediaMixModel().fit(sim.spend, np.ones(len(sim.y)))
    negative = sim.spend.copy()
    negative[3, 0] = -1.0
    with pytest.raises(ModelInputError, match="negative at row 4"):
        MediaMixModel().fit(negative, sim.y)
    backwards = sim.dates[::-1]
    with pytest.raises(ModelInputError, match="dates must increase"):
        MediaMixModel().fit(sim.spend, sim.y, dates=backwards)
    with pytest.raises(ModelInputError, match="one value per row"):
        MediaMixModel().fit(sim.spend, sim.y[:-1])


def test_too_few_rows_says_how_many_are_needed() -> None:
    sim = simulate(0, periods=15)
    with pytest.raises(ModelInputError, match=r"15 given, at least \d+ needed"):
        MediaMixModel().fit(sim.spend, sim.y, dates=sim.dates)


def test_predict_checks_its_input_against_the_fit() -> None:
    sim = simulate(0)
    model = fitted(sim, n_bootstrap=0)
    with pytest.raises(ModelInputError, match="dates"):
        model.predict(sim.spend)
    with pytest.raises(ModelInputError, match="spend must be"):
        model.predict(sim.spend[:, :1], dates=sim.dates)
