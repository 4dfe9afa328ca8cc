"""ResponseModel: the estimator contract, shrinkage, recovery of the simulator's true rates and
values, calibrated intervals, incremental updates and bad input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mios.brain.calibration import CalibrationTracker
from mios.brain.response import KEYS, ResponseModel
from mios.domain.channel import ChannelName
from mios.errors import InputError, ModelInputError, NotFittedError
from mios.sim.draws import order_value_draws
from mios.sim.scenario import load_scenario
from mios.sim.truth import GroundTruth

CHANNELS = (ChannelName.EMAIL, ChannelName.SMS)


def simulated(seed: int, *, big: int = 40_000, small_share: float = 0.3) -> dict[str, Any]:
    """Sends per (segment, channel, offer, angle) of the retail-holiday market, with the
    market's own per-message conversion chance and order values as the known truth."""
    truth = GroundTruth.build(load_scenario("retail-holiday"), seed=0, customers=1000)
    rng = np.random.default_rng(seed)
    segments = truth.population.segment_ids
    offers = [o.id for o in truth.scenario.offers]
    angles = [a.id for a in truth.scenario.angles]
    cells, rates, values = [], [], []
    for channel in CHANNELS:
        for o, offer in enumerate(offers):
            for a, angle in enumerate(angles):
                rate = truth.message_response(channel, o, a)
                for s, segment in enumerate(segments):
                    cells.append((segment, channel.value, offer, angle))
                    rates.append(rate[s])
                    values.append(truth.order_value(o)[s])
    p = np.asarray(rates)
    sizes = np.where(
        rng.random(len(p)) < small_share,
        rng.integers(20, 300, len(p)),
        rng.integers(big // 2, big, len(p)),
    )
    hits = rng.binomial(sizes, p)
    value_sums = np.asarray(
        [mean * order_value_draws(rng, int(k)).sum() for mean, k in zip(values, hits, strict=True)]
    )
    return {
        "cells": np.asarray(cells),
        "trials": sizes,
        "successes": hits,
        "values": value_sums,
        "rate": p,
        "order_value": np.asarray(values),
        "rng": rng,
    }


def toy() -> tuple[list[tuple[str, str, str, str]], list[int], list[int]]:
    cells = [
        ("a", "email", "o1", "x"),
        ("b", "email", "o1", "x"),
        ("c", "email", "o1", "x"),
        ("a", "sms", "o2", "y"),
        ("b", "sms", "o2", "y"),
    ]
    return cells, [1000, 2000, 1500, 800, 900], [30, 50, 60, 40, 30]


# -- the estimator contract ------------------------------------------------------------------


def test_constructor_stores_parameters_unchanged_and_get_params_returns_them() -> None:
    levels = (("offer",), KEYS)
    model = ResponseModel(levels=levels, interval=0.8, prior_strength=20.0, value_cv=0.3)
    params = model.get_params()
    assert params["levels"] is levels
    assert params["interval"] == 0.8
    assert params["prior_strength"] == 20.0
    assert params["value_cv"] == 0.3
    assert ResponseModel(**params).get_params() == params
    assert model.set_params(interval=0.5) is model
    assert model.interval == 0.5


def test_fit_returns_self_and_sets_fitted_attributes() -> None:
    cells, n, y = toy()
    model = ResponseModel()
    assert model.fit(cells, n, y) is model
    assert model.n_cells_ == 5
    assert model.trials_ == sum(n)
    assert len(model.prior_strength_) == 3
    assert all(k > 0 for k in model.prior_strength_)


def test_predicting_before_fit_raises_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        ResponseModel().predict([("a", "email", "o", "x")])
    with pytest.raises(NotFittedError):
        ResponseModel().update([("a", "email", "o", "x")], [1], [0])


def test_predictions_have_the_documented_shapes() -> None:
    cells, n, y = toy()
    model = ResponseModel().fit(cells, n, y, values=np.asarray(y) * 50.0)
    assert model.predict(cells).shape == (5,)
    interval = model.predict_interval(cells)
    assert interval.shape == (5, 2)
    assert np.all(interval[:, 0] <= model.predict(cells))
    assert np.all(model.predict(cells) <= interval[:, 1])
    for forecast in (
        model.predict_responses(cells, 1000),
        model.predict_value(cells),
        model.predict_total_value(cells, 1000, draws=500),
    ):
        assert forecast.mean.shape == forecast.low.shape == forecast.high.shape == (5,)
        assert np.all(forecast.low <= forecast.mean)
        assert np.all(forecast.mean <= forecast.high)
        assert forecast.level == 0.9


# -- shrinkage -------------------------------------------------------------------------------


def test_a_sparse_cell_is_pulled_toward_its_parent_and_a_big_one_is_not() -> None:
    rng = np.random.default_rng(3)
    cells = [(f"s{i}", "email", "o", "x") for i in range(12)]
    n = [20_000] * 11 + [10]
    y = [int(k) for k in rng.binomial(20_000, 0.02, 11)] + [5]  # the sparse cell: 50% observed
    cells.append(("big", "email", "o", "x"))
    n.append(200_000)
    y.append(8_000)  # 4%, far from the others' 2%, on lots of data
    model = ResponseModel().fit(cells, n, y)
    pred = model.predict(cells)
    parent = model.predict([("unseen", "email", "o", "x")])[0]
    assert pred[11] < 0.1  # 0.5 observed on 10 trials; the parent sits near 2-3%
    assert abs(pred[11] - parent) < abs(0.5 - parent) / 10
    assert pred[12] == pytest.approx(0.04, rel=0.02)  # the big cell keeps its own rate


def test_an_unseen_cell_takes_its_nearest_ancestor_with_wider_uncertainty() -> None:
    cells, n, y = toy()
    model = ResponseModel().fit(cells, n, y)
    seen = model.predict_interval([("a", "email", "o1", "x")])[0]
    new_segment = model.predict_interval([("z", "email", "o1", "x")])[0]
    new_channel = model.predict_interval([("z", "push", "o9", "q")])[0]
    assert new_segment[1] - new_segment[0] > seen[1] - seen[0]
    assert new_channel[1] - new_channel[0] > new_segment[1] - new_segment[0]
    assert model.predict([("z", "email", "o1", "x")])[0] == pytest.approx(
        (30 + 50 + 60) / 4500, rel=0.1
    )


# -- recovery and calibration on simulated data ----------------------------------------------


def test_fitted_rates_and_values_recover_the_simulators_truth() -> None:
    data = simulated(seed=1)
    model = ResponseModel().fit(data["cells"], data["trials"], data["successes"], data["values"])
    pred = model.predict(data["cells"])
    big = data["trials"] >= 10_000
    relative = np.abs(pred[big] / data["rate"][big] - 1.0)
    assert np.median(relative) < 0.1
    assert np.max(relative) < 0.5
    # Sparse cells are better estimated by the model than by their own raw share.
    small = ~big
    raw = data["successes"][small] / data["trials"][small]
    assert np.mean(np.abs(pred[small] - data["rate"][small])) < np.mean(
        np.abs(raw - data["rate"][small])
    )
    value = model.predict_value(data["cells"]).mean
    value_error = np.abs(value[big] / data["order_value"][big] - 1.0)
    assert np.median(value_error) < 0.05


def test_rate_intervals_cover_the_true_rate_about_90_percent_of_the_time() -> None:
    tracker = CalibrationTracker(nominal=0.9, min_count=100)
    for seed in range(4):
        data = simulated(seed=10 + seed)
        model = ResponseModel().fit(data["cells"], data["trials"], data["successes"])
        interval = model.predict_interval(data["cells"])
        tracker.record("rate", interval[:, 0], interval[:, 1], data["rate"])
    report = tracker.report("rate")
    assert report.count == 4 * 96
    assert report.coverage is not None
    assert 0.8 <= report.coverage <= 0.98, report.message


def test_response_count_intervals_are_calibrated_on_new_audiences() -> None:
    tracker = CalibrationTracker(nominal=0.9, min_count=100)
    for seed in range(3):
        data = simulated(seed=20 + seed)
        model = ResponseModel().fit(data["cells"], data["trials"], data["successes"])
        audience = 5_000
        forecast = model.predict_responses(data["cells"], audience)
        actual = data["rng"].binomial(audience, data["rate"])
        tracker.record("responses", forecast.low, forecast.high, actual)
    report = tracker.report("responses")
    assert report.coverage is not None
    assert 0.8 <= report.coverage <= 0.99, report.message


# -- incremental updates ---------------------------------------------------------------------


def test_update_adds_counts_and_matches_fitting_all_data_with_the_same_spreads() -> None:
    cells, n, y = toy()
    model = ResponseModel().fit(cells, n, y)
    rho = model.rho_.copy()
    model.update(cells[:2], [500, 500], [10, 40])
    assert model.trials_ == sum(n) + 1000
    np.testing.assert_array_equal(model.rho_, rho)  # spreads stay; nothing refitted
    # The same counts as one fit, with the spreads pinned, give the same posteriors.
    again = ResponseModel().fit(cells, n, y)
    again.update(cells[:2], [250, 250], [5, 20]).update(cells[:2], [250, 250], [5, 20])
    np.testing.assert_allclose(again.predict(cells), model.predict(cells))


def test_update_brings_a_new_cell_into_the_tree() -> None:
    cells, n, y = toy()
    model = ResponseModel().fit(cells, n, y)
    new = [("d", "email", "o1", "x")]
    before = model.predict(new)[0]
    model.update(new, [5_000], [1_000])
    assert model.n_cells_ == 6
    assert model.predict(new)[0] > before
    assert model.predict(new)[0] == pytest.approx(0.2, rel=0.1)


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trials", "successes", "field"),
    [
        ([10, 10], [11, 0], "successes[0]"),
        ([10, -1], [1, 0], "trials[1]"),
        ([10, 2.5], [1, 0], "trials[1]"),
        ([10, np.nan], [1, 0], "trials[1]"),
        ([10, 10], ["x", 1], "successes"),
        ([10], [1], "trials"),
    ],
)
def test_bad_counts_name_the_argument_and_row(
    trials: list[Any], successes: list[Any], field: str
) -> None:
    cells = [("a", "email", "o", "x"), ("b", "email", "o", "x")]
    with pytest.raises(ModelInputError) as caught:
        ResponseModel().fit(cells, trials, successes)
    assert isinstance(caught.value, InputError)
    assert field in str(caught.value)


def test_no_trials_at_all_is_insufficient_data() -> None:
    with pytest.raises(ModelInputError, match="insufficient data"):
        ResponseModel().fit([("a", "email", "o", "x")], [0], [0])


def test_cells_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ModelInputError, match="cells"):
        ResponseModel().fit([("a", "email")], [1], [0])


def test_value_forecasts_without_values_say_what_is_needed() -> None:
    cells, n, y = toy()
    model = ResponseModel().fit(cells, n, y)
    with pytest.raises(ModelInputError, match="insufficient data: no values"):
        model.predict_value(cells)


def test_a_value_without_responses_is_refused() -> None:
    with pytest.raises(ModelInputError, match=r"values\[0\]"):
        ResponseModel().fit([("a", "email", "o", "x")], [10], [0], values=[5.0])


@pytest.mark.parametrize(
    "params",
    [
        {"levels": (("channel",),)},
        {"levels": (("channel", "offer"), ("channel",), KEYS)},
        {"interval": 1.0},
        {"prior_strength": 0.0},
        {"value_cv": 0.0},
    ],
)
def test_invalid_parameters_are_refused_at_fit(params: dict[str, Any]) -> None:
    cells, n, y = toy()
    with pytest.raises(ModelInputError):
        ResponseModel(**params).fit(cells, n, y)


def test_values_that_are_all_zero_are_refused_not_turned_into_nan() -> None:
    cells = [("a", "email", "o", "x"), ("b", "email", "o", "x"), ("a", "sms", "o", "x")]
    with pytest.raises(ModelInputError, match="values: every response so far has value 0"):
        ResponseModel().fit(cells, [100, 100, 100], [5, 3, 2], values=[0.0, 0.0, 0.0])
    model = ResponseModel().fit(cells, [100, 100, 100], [0, 0, 0], values=[0.0, 0.0, 0.0])
    with pytest.raises(ModelInputError, match="values: every response so far has value 0"):
        model.update(cells[:1], [10], [2], values=[0.0])
    assert model.trials_ == 300.0  # the refused update left the counts alone


def test_values_without_a_single_response_give_no_made_up_value() -> None:
    cells = [("a", "email", "o", "x"), ("b", "email", "o", "x")]
    model = ResponseModel().fit(cells, [100, 100], [0, 0], values=[0.0, 0.0])
    with pytest.raises(ModelInputError, match="insufficient data: values were given but no row"):
        model.predict_value(cells)
    model.update(cells[:1], [10], [2], values=[30.0])
    assert model.predict_value(cells[:1]).mean[0] > 0
