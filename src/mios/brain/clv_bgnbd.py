"""BG/NBD: how many purchases a customer will make, and whether they are still a customer.

The beta-geometric / negative binomial model of Fader, Hardie & Lee (2005), "Counting your
customers the easy way": while alive, a customer buys at a Poisson rate ``lambda`` drawn from
Gamma(r, alpha) across customers; after each purchase they drop out with probability ``p``
drawn from Beta(a, b). Fitted by maximum likelihood on each customer's (x, t_x, T): repeat
purchases, the time of the last one and the age, all measured from the first purchase.

The log-likelihood of one customer (their equation 6, in logs and with ``logaddexp`` so nothing
overflows) is::

    ln L = A1 + A2 + ln( exp(A3) + [x > 0] exp(A4) )
    A1 = lnG(r + x) - lnG(r) + r ln(alpha)
    A2 = lnB(a, b + x) - lnB(a, b)
    A3 = -(r + x) ln(alpha + T)
    A4 = ln(a) - ln(b + x - 1) - (r + x) ln(alpha + t_x)

The optimiser (L-BFGS-B with the analytic gradient) works on the logs of the four parameters,
so they stay positive; standard errors come from the inverse of the Hessian of the negative
log-likelihood at the optimum (central differences of the analytic gradient).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1

from mios.brain.clv_data import check_summary
from mios.errors import ModelInputError, NotFittedError, SolverError
from mios.types import BoolArray, FloatArray, IntArray

PARAMS = ("r", "alpha", "a", "b")
MIN_CUSTOMERS = 10
# The optimiser's box on log-parameters: e^-12 .. e^12 is far outside any fitted value, and
# keeps exp() finite while it explores.
_LOG_BOUND = 12.0


class BetaGeoModel:
    """The BG/NBD model (scikit-learn contract).

    ``fit(frequency, recency, T)`` sets ``r_``, ``alpha_``, ``a_``, ``b_``, ``params_``,
    ``std_errors_`` (None for a parameter when the Hessian is not positive definite),
    ``log_likelihood_`` and ``n_customers_``.
    """

    def __init__(self, max_iter: int = 1000, tol: float = 1e-10) -> None:
        self.max_iter = max_iter
        self.tol = tol

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"max_iter": self.max_iter, "tol": self.tol}

    def set_params(self, **params: Any) -> Self:
        for name, value in params.items():
            if name not in self.get_params():
                raise ModelInputError(f"BetaGeoModel has no parameter {name!r}")
            setattr(self, name, value)
        return self

    def fit(self, frequency: FloatArray, recency: FloatArray, T: FloatArray) -> Self:
        x, t_x, age = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
        check_summary(x, t_x, age)
        if x.size < MIN_CUSTOMERS:
            raise ModelInputError(
                f"{x.size} customers: BG/NBD needs at least {MIN_CUSTOMERS} to fit four parameters"
            )
        if not (x > 0).any():
            raise ModelInputError(
                "no customer made a repeat purchase: BG/NBD needs some repeat customers to "
                "estimate purchase rates and drop-out (extend the observation period)"
            )
        data = _Summary.of(x, t_x, age)
        scale = float(x.size)

        def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
            params = np.exp(log_params)
            value, grad = _neg_log_likelihood(params, data)
            return value / scale, grad * params / scale

        start = np.zeros(4)
        result = minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 4,
            options={"maxiter": self.max_iter, "ftol": self.tol, "gtol": 1e-9},
        )
        if not np.isfinite(result.fun):
            raise SolverError(f"BG/NBD fit failed: {result.message}")
        params = np.exp(result.x)
        if np.any(np.abs(result.x) >= _LOG_BOUND - 1e-6):
            raise ModelInputError(
                "insufficient data: the BG/NBD fit ran to the edge of the parameter space "
                f"({_describe(params)}), so these data do not identify the model (typically no "
                "sign of customers leaving, or too few repeat purchases); observe a longer "
                "period or more customers"
            )
        self.r_, self.alpha_, self.a_, self.b_ = (float(v) for v in params)
        self.params_ = dict(zip(PARAMS, (float(v) for v in params), strict=True))
        self.std_errors_ = hessian_std_errors(
            lambda p: _neg_log_likelihood(p, data)[1], params, PARAMS
        )
        self.log_likelihood_ = -float(_neg_log_likelihood(params, data)[0])
        self.n_customers_ = int(x.size)
        self.converged_ = bool(result.success)
        self.iterations_ = int(result.nit)
        return self

    def expected_transactions(
        self, t: float, frequency: FloatArray, recency: FloatArray, T: FloatArray
    ) -> FloatArray:
        """Expected purchases in the next ``t`` time units of each customer (FHL eq. 10)."""
        r, alpha, a, b = self._params()
        x, t_x, age = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
        check_summary(x, t_x, age)
        if t < 0:
            raise ModelInputError(f"t must be >= 0, not {t}")
        if t == 0:
            return np.zeros_like(x)
        z = t / (alpha + age + t)
        growth = _growth(r, a, b, x, z, np.log(alpha + age) - np.log(alpha + age + t))
        result: FloatArray = (a + b + x - 1.0) / (a - 1.0) * growth * self.p_alive(x, t_x, age)
        if not np.isfinite(result).all():
            raise SolverError(
                "the expected transactions are not finite for some customers (the "
                "hypergeometric series did not converge); use a shorter horizon"
            )
        return result

    def expected_transactions_new(self, t: float) -> float:
        """Expected purchases in ``(0, t]`` of a customer born at 0 (FHL eq. 7)."""
        r, alpha, a, b = self._params()
        z = t / (alpha + t)
        head = (a + b - 1.0) / (a - 1.0)
        growth = _growth(r, a, b, np.zeros(1), z, np.log(alpha) - np.log(alpha + t))
        return float(head * growth[0])

    def p_alive(self, frequency: FloatArray, recency: FloatArray, T: FloatArray) -> FloatArray:
        """The probability that each customer is still alive at the end of the period."""
        r, alpha, a, b = self._params()
        x, t_x, age = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
        safe = np.where(x > 0, b + x - 1.0, 1.0)
        log_odds = np.log(a) - np.log(safe) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
        result: FloatArray = np.where(x > 0, np.exp(-np.logaddexp(0.0, log_odds)), 1.0)
        return result

    def _params(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "params_"):
            raise NotFittedError("this BetaGeoModel is not fitted yet; call fit() first")
        return self.r_, self.alpha_, self.a_, self.b_


def _growth(
    r: float, a: float, b: float, x: FloatArray, z: FloatArray | float, log_1_z: FloatArray | float
) -> FloatArray:
    """``1 - (1 - z)^(r + x) 2F1(r + x, b + x; a + b + x - 1; z)``, the factor of FHL's eq. 10.

    Written with Euler's transformation ``2F1(A, B; C; z) = (1 - z)^(C - A - B) 2F1(C - A, C - B;
    C; z)`` as ``1 - (1 - z)^(a - 1) 2F1(a + b - 1 - r, a - 1; a + b + x - 1; z)``: the same value,
    but the series has small upper parameters and a large lower one, so it converges fast and
    stays finite. The direct form multiplies a vanishing power by a series that overflows when
    ``x`` and the horizon are long (a daily buyer valued over a few years), giving inf or NaN."""
    series = hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
    # 1 - e^u s = -(expm1(u) s + (s - 1)): accurate for a short horizon (u and s - 1 small), and
    # valid when s < 0 (a + b + x < 1).
    result: FloatArray = -(np.expm1((a - 1.0) * log_1_z) * series + (series - 1.0))
    return result


def log_likelihood(
    params: FloatArray, frequency: FloatArray, recency: FloatArray, T: FloatArray
) -> FloatArray:
    """Each customer's log-likelihood under ``params = (r, alpha, a, b)``."""
    r, alpha, a, b = (float(v) for v in params)
    x, t_x, age = frequency, recency, T
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + age)
    a4 = np.log(a) - np.log(np.where(x > 0, b + x - 1.0, 1.0)) - (r + x) * np.log(alpha + t_x)
    mixed = np.where(x > 0, np.logaddexp(a3, a4), a3)
    result: FloatArray = a1 + a2 + mixed
    return result


@dataclass(frozen=True)
class _Summary:
    """The fit's data, with what depends on the frequency alone grouped by its distinct values
    (a few hundred at most): the special functions run on those, not on every customer."""

    x: FloatArray
    t_x: FloatArray
    age: FloatArray
    repeat: BoolArray
    levels: FloatArray  # distinct frequencies
    counts: FloatArray  # customers per distinct frequency
    index: IntArray  # each customer's distinct frequency

    @classmethod
    def of(cls, x: FloatArray, t_x: FloatArray, age: FloatArray) -> _Summary:
        levels, index, counts = np.unique(x, return_inverse=True, return_counts=True)
        return cls(x, t_x, age, x > 0, levels, counts.astype(np.float64), index)


def _neg_log_likelihood(params: FloatArray, data: _Summary) -> tuple[float, FloatArray]:
    """The negative log-likelihood and its gradient in (r, alpha, a, b)."""
    r, alpha, a, b = (float(v) for v in params)
    x, repeat, levels, counts = data.x, data.repeat, data.levels, data.counts
    # Terms of the frequency alone, on its distinct values.
    level_repeat = levels > 0
    b_term = np.where(level_repeat, b + levels - 1.0, 1.0)
    log_a4_head = (np.log(a) - np.log(b_term))[data.index]
    log_alpha_age = np.log(alpha + data.age)
    log_alpha_tx = np.log(alpha + data.t_x)
    a3 = -(r + x) * log_alpha_age
    # ln(e^A3 + e^A4) = A3 + softplus(A4 - A3); the share of A4 in it is sigmoid(A4 - A3).
    gap = log_a4_head + (r + x) * (log_alpha_age - log_alpha_tx)
    softplus = np.maximum(gap, 0.0) + np.log1p(np.exp(-np.abs(gap)))
    softplus = np.where(repeat, softplus, 0.0)
    mixed = a3 + softplus
    share4 = np.where(repeat, np.exp(gap - softplus), 0.0)
    share3 = 1.0 - share4
    by_level = (
        gammaln(r + levels) - gammaln(r) + r * np.log(alpha) + betaln(a, b + levels) - betaln(a, b)
    )
    value = -float(counts @ by_level + mixed.sum())
    psi_ab = digamma(a + b)
    psi_abx = digamma(a + b + levels)
    d_r = counts @ (digamma(r + levels) - digamma(r) + np.log(alpha)) - float(
        share3 @ log_alpha_age + share4 @ log_alpha_tx
    )
    d_alpha = r * x.size / alpha - float(
        share3 @ ((r + x) / (alpha + data.age)) + share4 @ ((r + x) / (alpha + data.t_x))
    )
    share4_by_level = np.bincount(data.index, weights=share4, minlength=levels.size)
    d_a = counts @ (psi_ab - psi_abx) + share4.sum() / a
    d_b = counts @ (digamma(b + levels) - digamma(b) + psi_ab - psi_abx) - float(
        share4_by_level @ (level_repeat / b_term)
    )
    return value, -np.array([d_r, d_alpha, d_a, d_b])


def hessian_std_errors(
    gradient: Any, params: FloatArray, names: tuple[str, ...]
) -> dict[str, float | None]:
    """Standard errors from the inverse Hessian of the negative log-likelihood, the Hessian
    by central differences of the analytic ``gradient``; None when it is not invertible."""
    size = params.size
    hessian = np.empty((size, size))
    for i in range(size):
        step = 1e-5 * params[i]
        up, down = params.copy(), params.copy()
        up[i] += step
        down[i] -= step
        hessian[i] = (gradient(up) - gradient(down)) / (2 * step)
    hessian = (hessian + hessian.T) / 2
    try:
        np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError:
        return dict.fromkeys(names)
    variances = np.diag(np.linalg.inv(hessian))
    return {name: float(np.sqrt(v)) for name, v in zip(names, variances, strict=True)}


def _describe(params: FloatArray) -> str:
    return ", ".join(f"{name} {value:.3g}" for name, value in zip(PARAMS, params, strict=True))
