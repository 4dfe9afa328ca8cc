"""BG/NBD and Gamma-Gamma: the estimator contract, recovery of known parameters from data
simulated by the models' own stories, predictions against simulated futures, and refusals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mios.brain.clv_bgnbd import BetaGeoModel, log_likelihood
from mios.brain.clv_gamma import GammaGammaModel
from mios.errors import ModelInputError, NotFittedError

TRUE_BG = {"r": 0.8, "alpha": 6.0, "a": 0.6, "b": 2.5}
TRUE_GG = {"p": 4.0, "q": 5.0, "gamma": 40.0}


def _simulate_bgnbd(
    rng: np.random.Generator, customers: int, horizon: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Customers born at 0 and watched for T in [20, 60] weeks: purchase rate ~ Gamma(r,
    alpha), after each repeat purchase they leave with probability p ~ Beta(a, b). Returns
    (x, t_x, T) and the purchases in (T, T + horizon]."""
    lam = rng.gamma(TRUE_BG["r"], 1 / TRUE_BG["alpha"], customers)
    drop = rng.beta(TRUE_BG["a"], TRUE_BG["b"], customers)
    age = rng.uniform(20, 60, customers)
    now = np.zeros(customers)
    alive = np.ones(customers, dtype=bool)
    x = np.zeros(customers)
    t_x = np.zeros(customers)
    future = np.zeros(customers)
    active = np.ones(customers, dtype=bool)
    while active.any():
        now[active] += rng.exponential(1 / lam[active])
        within = active & (now <= age)
        later = active & (now > age) & (now <= age + horizon)
        x[within] += 1
        t_x[within] = now[within]
        future[later] += 1
        bought = within | later
        alive[bought] &= rng.random(bought.sum()) >= drop[bought]
        active = bought & alive
    return x, t_x, age, future


def _simulate_spend(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """Each customer's mean of ``x`` amounts ~ Gamma(p, nu), nu ~ Gamma(q, gamma)."""
    nu = rng.gamma(TRUE_GG["q"], 1 / TRUE_GG["gamma"], x.size)
    counts = np.maximum(x, 1).astype(int)
    # The mean of n Gamma(p, nu) draws is Gamma(n p, n nu).
    return np.where(x > 0, rng.gamma(counts * TRUE_GG["p"], 1 / (counts * nu)), 0.0)


RNG = np.random.default_rng(11)
X, T_X, AGE, FUTURE = _simulate_bgnbd(RNG, 8000, horizon=26.0)
SPEND = _simulate_spend(RNG, X)


@pytest.mark.parametrize("model", [BetaGeoModel(max_iter=500), GammaGammaModel(tol=1e-9)])
def test_the_estimator_contract(model: Any) -> None:
    params = model.get_params()
    for name, value in params.items():
        assert getattr(model, name) is value
    clone = type(model)(**params)
    assert clone.get_params() == params
    data = (X, T_X, AGE) if isinstance(model, BetaGeoModel) else (X, SPEND)
    predict = (
        (lambda: clone.p_alive(X, T_X, AGE))
        if isinstance(clone, BetaGeoModel)
        else (lambda: clone.expected_spend(X, SPEND))
    )
    with pytest.raises(NotFittedError, match="not fitted yet"):
        predict()
    assert clone.fit(*data) is clone
    assert set(clone.params_) == set(clone.std_errors_)
    assert all(name.endswith("_") for name in vars(clone) if name not in params)
    with pytest.raises(ModelInputError, match="has no parameter"):
        clone.set_params(learning_rate=0.1)
    assert clone.set_params(max_iter=50).max_iter == 50


def test_bgnbd_recovers_known_parameters_within_their_standard_errors() -> None:
    model = BetaGeoModel().fit(X, T_X, AGE)
    for name, truth in TRUE_BG.items():
        error = model.std_errors_[name]
        assert error is not None
        assert abs(model.params_[name] - truth) < 4 * error, (name, model.params_[name], error)


def test_bgnbd_predicts_the_simulated_future_purchases() -> None:
    model = BetaGeoModel().fit(X, T_X, AGE)
    expected = model.expected_transactions(26.0, X, T_X, AGE)
    assert expected.sum() == pytest.approx(FUTURE.sum(), rel=0.05)
    # And customer by customer, in groups of past purchases.
    past = X
    for low, high in ((0, 1), (1, 3), (3, 100)):
        group = (past >= low) & (past < high)
        assert expected[group].mean() == pytest.approx(FUTURE[group].mean(), rel=0.12)
    alive = model.p_alive(X, T_X, AGE)
    assert np.all((alive > 0) & (alive <= 1))
    assert np.all(alive[X == 0] == 1)


def test_the_likelihood_is_the_sum_the_fit_maximises() -> None:
    model = BetaGeoModel().fit(X, T_X, AGE)
    params = np.array([model.r_, model.alpha_, model.a_, model.b_])
    assert log_likelihood(params, X, T_X, AGE).sum() == pytest.approx(model.log_likelihood_)
    for nudge in (0.97, 1.03):
        assert log_likelihood(params * nudge, X, T_X, AGE).sum() < model.log_likelihood_


def test_gamma_gamma_recovers_known_parameters_within_their_standard_errors() -> None:
    model = GammaGammaModel().fit(X, SPEND)
    assert model.n_customers_ == int((X > 0).sum())
    for name, truth in TRUE_GG.items():
        error = model.std_errors_[name]
        assert error is not None
        assert abs(model.params_[name] - truth) < 4 * error, (name, model.params_[name], error)
    spend = model.expected_spend(X, SPEND)
    population = model.p_ * model.gamma_ / (model.q_ - 1)
    assert np.allclose(spend[X == 0], population)
    assert population == pytest.approx(
        TRUE_GG["p"] * TRUE_GG["gamma"] / (TRUE_GG["q"] - 1), rel=0.1
    )


def test_bgnbd_refuses_too_little_data_and_broken_summaries() -> None:
    with pytest.raises(ModelInputError, match="5 customers: BG/NBD needs at least 10"):
        BetaGeoModel().fit(X[:5], T_X[:5], AGE[:5])
    none = np.zeros(50)
    with pytest.raises(ModelInputError, match="no customer made a repeat purchase"):
        BetaGeoModel().fit(none, none, np.full(50, 10.0))
    with pytest.raises(ModelInputError, match="recency at row 0 is larger than T"):
        BetaGeoModel().fit(np.ones(20), np.full(20, 5.0), np.full(20, 4.0))
    with pytest.raises(ModelInputError, match="frequency at row 1 is not a whole number"):
        BetaGeoModel().fit(np.array([1, 1.5] * 10), np.ones(20), np.full(20, 4.0))
    with pytest.raises(ModelInputError, match="T at row 2 is not a finite number >= 0"):
        BetaGeoModel().fit(np.ones(20), np.ones(20), np.array([4, 4, np.nan] + [4] * 17))
    with pytest.raises(ModelInputError, match="recency at row 0 is not 0 with frequency 0"):
        BetaGeoModel().fit(np.zeros(20), np.ones(20), np.full(20, 4.0))
    fitted = BetaGeoModel().fit(X, T_X, AGE)
    with pytest.raises(ModelInputError, match="t must be >= 0"):
        fitted.expected_transactions(-1.0, X, T_X, AGE)
    assert np.all(fitted.expected_transactions(0.0, X, T_X, AGE) == 0)


def test_gamma_gamma_refuses_too_few_zero_and_constant_spend() -> None:
    with pytest.raises(ModelInputError, match="2 repeat customers: the Gamma-Gamma"):
        GammaGammaModel().fit(np.array([0, 1, 2, 0]), np.array([0, 5.0, 6.0, 0]))
    with pytest.raises(ModelInputError, match="have a mean repeat spend of 0"):
        GammaGammaModel().fit(np.ones(6), np.array([5.0, 0, 6, 7, 8, 9]))
    with pytest.raises(ModelInputError, match="the same mean spend"):
        GammaGammaModel().fit(np.ones(6), np.full(6, 5.0))
    with pytest.raises(ModelInputError, match="row 1: frequency and monetary must be finite"):
        GammaGammaModel().fit(np.ones(6), np.array([5.0, -1, 6, 7, 8, 9]))


def _fitted(r: float, alpha: float, a: float, b: float) -> BetaGeoModel:
    """A BG/NBD model with given parameters, as a fit would leave it."""
    model = BetaGeoModel()
    model.r_, model.alpha_, model.a_, model.b_ = r, alpha, a, b
    model.params_ = {"r": r, "alpha": alpha, "a": a, "b": b}
    return model


# FHL eq. 10 evaluated with mpmath at 60 digits (mpmath.hyp2f1 on the formula as published).
LONG_HORIZONS = [
    # (t, x, t_x, T, expected purchases): a daily buyer valued over 3 or 10 years.
    (3650.0, 300.0, 360.0, 365.0, 803.5443103172807),
    (1500.0, 700.0, 699.0, 700.0, 899.1766416590822),
    (1095.0, 1000.0, 1000.0, 1000.0, 796.4205786159131),
    (52.0, 2.0, 30.0, 39.0, 1.53956786852914),
    (0.01, 5.0, 10.0, 39.0, 2.9462820286965723e-05),
]


@pytest.mark.parametrize(("t", "x", "t_x", "age", "exact"), LONG_HORIZONS)
def test_expected_purchases_stay_exact_for_many_purchases_and_long_horizons(
    t: float, x: float, t_x: float, age: float, exact: float
) -> None:
    # The direct form (1 - z)^(r + x) 2F1(r + x, ...) overflowed here (a SolverError).
    model = _fitted(0.243, 4.414, 0.793, 2.426)
    got = model.expected_transactions(t, np.array([x]), np.array([t_x]), np.array([age]))
    assert got[0] == pytest.approx(exact, rel=1e-9)


def test_expected_purchases_when_a_plus_b_is_below_one_and_for_a_new_customer() -> None:
    odd = _fitted(0.5, 3.0, 0.3, 0.5)
    got = odd.expected_transactions(
        52.0, np.array([0.0, 3.0]), np.array([0.0, 20.0]), np.full(2, 39.0)
    )
    assert got == pytest.approx([0.4904280453236403, 1.869603316382035], rel=1e-9)
    cdnow = _fitted(0.243, 4.414, 0.793, 2.426)
    assert cdnow.expected_transactions_new(39.0) == pytest.approx(1.1967231933208169, rel=1e-9)
    assert cdnow.expected_transactions_new(0.001) == pytest.approx(5.505019750267749e-05, rel=1e-9)
