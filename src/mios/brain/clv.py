"""Customer value: BG/NBD purchases times Gamma-Gamma spend, discounted, per customer.

``fit_customer_value`` fits both models on a ``CustomerSummary`` (see ``clv_data``) and returns,
for every customer, over the next ``horizon`` time units:

- ``expected_transactions``: BG/NBD's conditional expectation of their purchases;
- ``p_alive``: the probability that they are still a customer;
- ``expected_spend``: Gamma-Gamma's expected mean amount per purchase;
- ``value``: the discounted expected revenue, the value term of the brain's decisions.

Discounting: the horizon is cut into steps of about a month (30.44 days); the purchases
expected in step ``i`` (the difference of the cumulative expectations) are discounted by
``(1 + discount_rate) ** -(years to the end of step i)``, ``discount_rate`` being per year.
With a zero rate the value is simply purchases times spend. All of it is vectorised over the
customers (one hypergeometric evaluation per customer and step).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from mios.brain.clv_bgnbd import BetaGeoModel
from mios.brain.clv_data import DAYS_PER_UNIT, CustomerSummary, TimeUnit
from mios.brain.clv_gamma import GammaGammaModel
from mios.errors import ModelInputError
from mios.types import FloatArray

DAYS_PER_YEAR = 365.25
DAYS_PER_STEP = DAYS_PER_YEAR / 12
DEFAULT_DISCOUNT_RATE = 0.10


@dataclass(frozen=True)
class CustomerValues:
    """Per-customer predictions over ``horizon`` time units, in the summary's order."""

    expected_transactions: FloatArray
    p_alive: FloatArray
    expected_spend: FloatArray
    value: FloatArray
    horizon: float
    time_unit: TimeUnit
    discount_rate: float


@dataclass(frozen=True)
class CustomerValueFit:
    """Both fitted models, the summary they were fitted on and the customers' values."""

    summary: CustomerSummary
    purchases: BetaGeoModel
    spend: GammaGammaModel
    values: CustomerValues

    @property
    def warnings(self) -> list[str]:
        """Plain-language warnings when a fit did not converge or its parameters are not
        identified by the data (the Hessian is not positive definite: no standard errors)."""
        found = []
        for label, model in (("BG/NBD", self.purchases), ("Gamma-Gamma", self.spend)):
            if not model.converged_:
                found.append(
                    f"the {label} fit stopped before converging; its parameters are approximate"
                )
            if any(error is None for error in model.std_errors_.values()):
                found.append(
                    f"the {label} parameters are not identified by these data (the likelihood "
                    "is flat in some direction, so there are no standard errors): the values "
                    "printed are one of many that fit as well; observe a longer period or more "
                    "customers before trusting them"
                )
        return found

    def top(self, count: int) -> list[dict[str, Any]]:
        """The ``count`` customers of highest value, best first."""
        order = np.argsort(-self.values.value, kind="stable")[:count]
        summary, values = self.summary, self.values
        return [
            {
                "customer": str(summary.customer[i]),
                "frequency": int(summary.frequency[i]),
                "recency": float(summary.recency[i]),
                "T": float(summary.T[i]),
                "monetary": float(summary.monetary[i]),
                "p_alive": float(values.p_alive[i]),
                "expected_transactions": float(values.expected_transactions[i]),
                "expected_spend": float(values.expected_spend[i]),
                "value": float(values.value[i]),
            }
            for i in order
        ]

    def as_dict(self, top: int = 10) -> dict[str, Any]:
        summary, values = self.summary, self.values
        return {
            "observation": {
                "first_purchase": str(summary.first.min()),
                "until": str(summary.until),
                "time_unit": summary.time_unit,
                "transactions": summary.transactions,
                "customers": summary.customers,
                "repeat_customers": summary.repeat_customers,
            },
            "bgnbd": _model_dict(self.purchases),
            "gamma_gamma": _model_dict(self.spend),
            "horizon": values.horizon,
            "discount_rate": values.discount_rate,
            "expected_transactions": float(values.expected_transactions.sum()),
            "expected_value": float(values.value.sum()),
            "mean_p_alive": float(values.p_alive.mean()),
            "top_customers": self.top(top),
            "warnings": self.warnings,
        }


def customer_values(
    purchases: BetaGeoModel,
    spend: GammaGammaModel,
    summary: CustomerSummary,
    horizon: float,
    discount_rate: float = DEFAULT_DISCOUNT_RATE,
) -> CustomerValues:
    """Expected purchases, P(alive), spend and discounted value of every customer."""
    if not (math.isfinite(horizon) and horizon > 0):
        raise ModelInputError(f"horizon must be a positive number of time units, not {horizon}")
    if not (math.isfinite(discount_rate) and discount_rate > -1):
        raise ModelInputError(f"discount_rate must be > -1 per year, not {discount_rate}")
    x, t_x, age = summary.frequency, summary.recency, summary.T
    unit_days = DAYS_PER_UNIT[summary.time_unit]
    expected = purchases.expected_transactions(horizon, x, t_x, age)
    spend_each = spend.expected_spend(x, summary.monetary)
    if discount_rate == 0:
        discounted = expected
    else:
        steps = max(1, math.ceil(horizon * unit_days / DAYS_PER_STEP))
        ends = np.linspace(horizon / steps, horizon, steps)
        cumulative = np.vstack(
            [np.zeros_like(x)] + [purchases.expected_transactions(t, x, t_x, age) for t in ends]
        )
        factors = (1.0 + discount_rate) ** -(ends * unit_days / DAYS_PER_YEAR)
        discounted = factors @ np.diff(cumulative, axis=0)
    return CustomerValues(
        expected_transactions=expected,
        p_alive=purchases.p_alive(x, t_x, age),
        expected_spend=spend_each,
        value=discounted * spend_each,
        horizon=float(horizon),
        time_unit=summary.time_unit,
        discount_rate=float(discount_rate),
    )


def fit_customer_value(
    summary: CustomerSummary,
    horizon: float | None = None,
    discount_rate: float = DEFAULT_DISCOUNT_RATE,
) -> CustomerValueFit:
    """Fit BG/NBD on all customers and Gamma-Gamma on the repeat ones, and value everyone over
    ``horizon`` time units (default: one year, 52 weeks or 365 days)."""
    if horizon is None:
        horizon = 52.0 if summary.time_unit == "week" else 365.0
    purchases = BetaGeoModel().fit(summary.frequency, summary.recency, summary.T)
    spend = GammaGammaModel().fit(summary.frequency, summary.monetary)
    values = customer_values(purchases, spend, summary, horizon, discount_rate)
    return CustomerValueFit(summary, purchases, spend, values)


def _model_dict(model: BetaGeoModel | GammaGammaModel) -> dict[str, Any]:
    return {
        "params": model.params_,
        "std_errors": model.std_errors_,
        "log_likelihood": model.log_likelihood_,
        "customers": model.n_customers_,
        "converged": model.converged_,
    }
