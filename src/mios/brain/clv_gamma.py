"""Gamma-Gamma: how much a customer spends per purchase.

Fader & Hardie's spend model ("The Gamma-Gamma model of monetary value", 2013): the amounts of
one customer's purchases are Gamma(p, nu) around their own mean ``p / nu``, and ``nu`` is
Gamma(q, gamma) across customers. It is fitted by maximum likelihood on the repeat customers'
number of repeat purchases ``x`` and mean repeat spend ``m``; per customer, in logs::

    ln L = lnG(p x + q) - lnG(p x) - lnG(q) + q ln(gamma) + (p x - 1) ln(m) + p x ln(x)
           - (p x + q) ln(x m + gamma)

It assumes spend is independent of purchase frequency (check the correlation of ``x`` and ``m``
among repeat customers before trusting the value). The expected mean spend of a customer is
``p (gamma + x m) / (p x + q - 1)``: the population mean ``p gamma / (q - 1)`` shrunk toward the
customer's own mean as their purchases add up.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, gammaln

from mios.brain.clv_bgnbd import hessian_std_errors
from mios.errors import ModelInputError, NotFittedError, SolverError
from mios.types import FloatArray

PARAMS = ("p", "q", "gamma")
MIN_REPEAT_CUSTOMERS = 5
_LOG_BOUND = 15.0


class GammaGammaModel:
    """The Gamma-Gamma spend model (scikit-learn contract).

    ``fit(frequency, monetary)`` uses the customers with ``frequency > 0`` and sets ``p_``,
    ``q_``, ``gamma_``, ``params_``, ``std_errors_``, ``log_likelihood_`` and
    ``n_customers_`` (the repeat customers it was fitted on).
    """

    def __init__(self, max_iter: int = 1000, tol: float = 1e-10) -> None:
        self.max_iter = max_iter
        self.tol = tol

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"max_iter": self.max_iter, "tol": self.tol}

    def set_params(self, **params: Any) -> Self:
        for name, value in params.items():
            if name not in self.get_params():
                raise ModelInputError(f"GammaGammaModel has no parameter {name!r}")
            setattr(self, name, value)
        return self

    def fit(self, frequency: FloatArray, monetary: FloatArray) -> Self:
        x, m = _check(frequency, monetary)
        repeat = x > 0
        x, m = x[repeat], m[repeat]
        if x.size < MIN_REPEAT_CUSTOMERS:
            raise ModelInputError(
                f"{x.size} repeat customers: the Gamma-Gamma spend model needs at least "
                f"{MIN_REPEAT_CUSTOMERS} customers with a repeat purchase"
            )
        zero = np.flatnonzero(m <= 0)
        if zero.size:
            raise ModelInputError(
                f"{zero.size} repeat customers have a mean repeat spend of 0: the Gamma-Gamma "
                "model needs positive amounts (leave free orders out of the amounts)"
            )
        if np.ptp(m) == 0:
            raise ModelInputError(
                "every repeat customer has the same mean spend: there is no variation to fit"
            )
        scale = float(x.size)
        # Start at the method of moments for the spread of the customers' means.
        start = np.log([1.0, 2.0, float(np.mean(m))])

        def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
            params = np.exp(log_params)
            value, grad = _neg_log_likelihood(params, x, m)
            return value / scale, grad * params / scale

        result = minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 3,
            options={"maxiter": self.max_iter, "ftol": self.tol, "gtol": 1e-9},
        )
        params = np.exp(result.x)
        reached = f"p {params[0]:.3g}, q {params[1]:.3g}, gamma {params[2]:.3g}"
        if not np.isfinite(result.fun):
            raise SolverError(f"Gamma-Gamma fit failed ({result.message}); parameters {reached}")
        if np.any(np.abs(result.x) >= _LOG_BOUND - 1e-6):
            # The data, not the solver: typically q and gamma grow without end because the
            # customers' mean spends differ no more than one customer's amounts do.
            raise ModelInputError(
                "insufficient data: the Gamma-Gamma fit ran to the edge of the parameter space "
                f"({reached}), so these amounts do not identify the model (typically the "
                "repeat customers' mean spends vary too little between customers); observe "
                "more repeat customers"
            )
        self.p_, self.q_, self.gamma_ = (float(v) for v in params)
        self.params_ = dict(zip(PARAMS, (float(v) for v in params), strict=True))
        self.std_errors_ = hessian_std_errors(
            lambda p: _neg_log_likelihood(p, x, m)[1], params, PARAMS
        )
        self.log_likelihood_ = -float(_neg_log_likelihood(params, x, m)[0])
        self.n_customers_ = int(x.size)
        self.converged_ = bool(result.success)
        return self

    def expected_spend(self, frequency: FloatArray, monetary: FloatArray) -> FloatArray:
        """Each customer's expected mean spend per purchase; a customer without repeat
        purchases gets the population mean."""
        if not hasattr(self, "params_"):
            raise NotFittedError("this GammaGammaModel is not fitted yet; call fit() first")
        if self.q_ <= 1:
            raise ModelInputError(
                f"the fitted spend distribution has no finite mean (q = {self.q_:.3g} <= 1): "
                "a few very large amounts dominate; cap or remove them"
            )
        x, m = _check(frequency, monetary)
        result: FloatArray = self.p_ * (self.gamma_ + x * m) / (self.p_ * x + self.q_ - 1.0)
        return result


def _check(frequency: FloatArray, monetary: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary, dtype=np.float64)
    if x.ndim != 1 or x.shape != m.shape:
        raise ModelInputError(
            f"frequency and monetary must be 1-d arrays of one length, not {x.shape}, {m.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(x) | ~np.isfinite(m) | (x < 0) | (m < 0))
    if bad.size:
        raise ModelInputError(
            f"row {int(bad[0])}: frequency and monetary must be finite and >= 0 "
            f"({bad.size} such rows)"
        )
    return x, m


def _neg_log_likelihood(
    params: FloatArray, x: FloatArray, m: FloatArray
) -> tuple[float, FloatArray]:
    p, q, gamma = (float(v) for v in params)
    px = p * x
    total = x * m + gamma
    value = -float(
        np.sum(
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(gamma)
            + (px - 1.0) * np.log(m)
            + px * np.log(x)
            - (px + q) * np.log(total)
        )
    )
    d_p = x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - np.log(total))
    d_q = digamma(px + q) - digamma(q) + np.log(gamma) - np.log(total)
    d_gamma = q / gamma - (px + q) / total
    return value, -np.array([d_p.sum(), d_q.sum(), d_gamma.sum()])
