"""Customer value on the CDNOW sample: the published BG/NBD and Gamma-Gamma fits, and the
predictions of the ``lifetimes`` package for the same customers.

Published (Fader, Hardie & Lee 2005; Fader & Hardie's Gamma-Gamma note): BG/NBD r 0.243,
alpha 4.414, a 0.793, b 2.426 (log-likelihood -9582.4); Gamma-Gamma p 6.25, q 3.74, gamma 15.44.
The ``LIFETIMES`` figures were computed once with lifetimes 0.11.3 (``BetaGeoFitter``,
``GammaGammaFitter``, ``summary_data_from_transaction_data(..., observation_period_end=
"1997-09-30", freq="D", freq_multiplier=7)``) on the same file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mios.brain.clv import CustomerValueFit, customer_values, fit_customer_value
from mios.brain.clv_data import CustomerSummary, summarize
from mios.errors import ModelInputError

CDNOW = Path(__file__).resolve().parents[2] / "data" / "clv" / "CDNOW_sample.txt"

LIFETIMES = {
    "ids": ["1", "2", "5", "509", "1516", "2357"],
    "frequency": [2, 1, 0, 18, 26, 0],
    "recency": [30.428571, 1.714286, 0.0, 35.142857, 30.857143, 0.0],
    "T": [38.857143, 38.857143, 38.857143, 35.857143, 31.0, 27.0],
    "monetary": [22.345, 11.77, 0.0, 78.632778, 39.97, 0.0],
    "expected_52": [1.558686, 0.260122, 0.251682, 16.015904, 25.757339, 0.332073],
    "p_alive": [0.726620, 0.212391, 1.0, 0.946453, 0.968854, 1.0],
    "spend": [24.653919, 18.910018, 35.170371, 77.597771, 39.890287, 35.170371],
    "expected_52_total": 2089.398749,
    "new_39": 1.195010,
    "std_errors": {"r": 0.012557, "alpha": 0.378224, "a": 0.185734, "b": 0.705414},
}


def _cdnow() -> CustomerSummary:
    columns = np.loadtxt(CDNOW, dtype=str)
    days = np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in columns[:, 2]], dtype="datetime64[D]")
    ids = np.array([str(int(c)) for c in columns[:, 1]])
    return summarize(ids, days, columns[:, 4].astype(float), np.datetime64("1997-09-30"), "week")


SUMMARY = _cdnow()
FIT: CustomerValueFit = fit_customer_value(SUMMARY, horizon=52, discount_rate=0.0)


def test_the_cdnow_summary_has_the_published_cohort() -> None:
    assert SUMMARY.customers == 2357
    assert SUMMARY.repeat_customers == 946
    assert str(SUMMARY.first.min()) == "1997-01-01"
    assert str(SUMMARY.first.max()) <= "1997-03-31"  # a first-quarter cohort
    assert SUMMARY.T.max() == pytest.approx(272 / 7)  # 1997-01-01 to 1997-09-30: 39 weeks
    assert SUMMARY.frequency.sum() == 2457  # repeat purchase days in the 39 weeks


def test_bgnbd_on_cdnow_matches_the_published_parameters() -> None:
    model = FIT.purchases
    assert model.r_ == pytest.approx(0.243, abs=0.0005)
    assert model.alpha_ == pytest.approx(4.414, abs=0.0005)
    assert model.a_ == pytest.approx(0.793, abs=0.0005)
    assert model.b_ == pytest.approx(2.426, abs=0.0005)
    assert model.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert model.converged_
    for name, error in LIFETIMES["std_errors"].items():  # type: ignore[union-attr]
        assert model.std_errors_[name] == pytest.approx(error, rel=1e-3)


def test_gamma_gamma_on_cdnow_matches_the_published_parameters() -> None:
    spend = FIT.spend
    assert spend.n_customers_ == 946
    assert spend.p_ == pytest.approx(6.25, abs=0.005)
    assert spend.q_ == pytest.approx(3.74, abs=0.005)
    assert spend.gamma_ == pytest.approx(15.44, abs=0.01)


def test_predictions_match_lifetimes_for_the_same_customers() -> None:
    rows = np.searchsorted(SUMMARY.customer, LIFETIMES["ids"])
    assert list(SUMMARY.customer[rows]) == LIFETIMES["ids"]
    for key in ("frequency", "recency", "T", "monetary"):
        assert np.allclose(getattr(SUMMARY, key)[rows], LIFETIMES[key], atol=1e-5), key
    values = FIT.values
    assert np.allclose(values.expected_transactions[rows], LIFETIMES["expected_52"], rtol=2e-4)
    assert np.allclose(values.p_alive[rows], LIFETIMES["p_alive"], rtol=2e-4)
    assert np.allclose(values.expected_spend[rows], LIFETIMES["spend"], rtol=2e-4)
    total = values.expected_transactions.sum()
    assert total == pytest.approx(LIFETIMES["expected_52_total"], rel=2e-4)
    assert FIT.purchases.expected_transactions_new(39) == pytest.approx(
        LIFETIMES["new_39"], rel=2e-4
    )
    # Undiscounted, the value is purchases times spend.
    assert np.allclose(values.value, values.expected_transactions * values.expected_spend)


def test_discounting_lowers_the_value_and_a_longer_horizon_raises_it() -> None:
    base = FIT.values.value
    discounted = customer_values(FIT.purchases, FIT.spend, SUMMARY, 52, 0.10).value
    longer = customer_values(FIT.purchases, FIT.spend, SUMMARY, 104, 0.10).value
    assert np.all(discounted < base)
    assert np.all(discounted > base / 1.10)  # a year at 10% discounts by less than 1/1.1
    assert np.all(longer > discounted)
    with pytest.raises(ModelInputError, match="horizon must be a positive number"):
        customer_values(FIT.purchases, FIT.spend, SUMMARY, 0)
    with pytest.raises(ModelInputError, match="discount_rate must be > -1"):
        customer_values(FIT.purchases, FIT.spend, SUMMARY, 52, -1.0)


def test_the_report_lists_the_top_customers_best_first() -> None:
    described = FIT.as_dict(top=3)
    top = described["top_customers"]
    assert [row["value"] for row in top] == sorted((row["value"] for row in top), reverse=True)
    assert top[0]["value"] == pytest.approx(float(FIT.values.value.max()))
    assert described["observation"]["customers"] == 2357
    assert described["bgnbd"]["params"]["r"] == pytest.approx(0.2426, abs=1e-4)
    assert described["expected_transactions"] == pytest.approx(2089.4, abs=0.1)
