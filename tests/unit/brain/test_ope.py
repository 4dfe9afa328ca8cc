"""Off-policy estimators: exact values on a hand example, intervals that cover the truth on
simulated logs, the effective sample size, the warnings, and the checks on bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mios.brain.ope import (
    dr,
    evaluate,
    importance_weights,
    ipw,
    snipw,
    weight_warnings,
)
from mios.errors import ModelInputError

# Three rounds, two actions, one position: every estimate worked out by hand below.
REWARD = np.array([1.0, 0.0, 1.0])
ACTION = np.array([0, 1, 1])
PSCORE = np.array([0.5, 0.25, 0.8])
DIST = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]])[:, :, None]
Q = np.array([[0.6, 0.2], [0.3, 0.4], [0.5, 0.7]])[:, :, None]


def test_ipw_snipw_and_dr_match_the_formulas_on_a_hand_example() -> None:
    weights = np.array([0.9 / 0.5, 0.5 / 0.25, 0.8 / 0.8])  # 1.8, 2.0, 1.0
    assert np.allclose(importance_weights(ACTION, PSCORE, DIST), weights)
    assert ipw(REWARD, ACTION, PSCORE, DIST).value == pytest.approx((1.8 + 0 + 1.0) / 3)
    assert snipw(REWARD, ACTION, PSCORE, DIST).value == pytest.approx(2.8 / 4.8)
    direct = np.array([0.9 * 0.6 + 0.1 * 0.2, 0.5 * 0.3 + 0.5 * 0.4, 0.2 * 0.5 + 0.8 * 0.7])
    correction = weights * (REWARD - np.array([0.6, 0.4, 0.7]))
    assert dr(REWARD, ACTION, PSCORE, DIST, Q).value == pytest.approx((direct + correction).mean())


def test_clipping_caps_the_weights_of_ipw_and_dr_but_not_snipw() -> None:
    clipped = ipw(REWARD, ACTION, PSCORE, DIST, clip=1.5)
    assert clipped.value == pytest.approx((1.5 + 0 + 1.0) / 3)
    assert evaluate(REWARD, ACTION, PSCORE, DIST, Q, clip=1.5).estimate(
        "snipw"
    ).value == pytest.approx(2.8 / 4.8)


def test_the_interval_is_the_normal_one_around_the_estimate() -> None:
    estimate = ipw(REWARD, ACTION, PSCORE, DIST, confidence=0.9)
    terms = np.array([1.8, 0.0, 1.0])
    assert estimate.std_error == pytest.approx(terms.std(ddof=1) / math.sqrt(3))
    assert estimate.high - estimate.value == pytest.approx(1.6448536 * estimate.std_error)
    assert estimate.value - estimate.low == pytest.approx(estimate.high - estimate.value)
    assert estimate.confidence == 0.9


def test_positions_index_the_action_distribution_like_obp() -> None:
    # Two positions with different distributions: each round reads its own position's column.
    dist = np.stack([DIST[:, :, 0], DIST[:, ::-1, 0]], axis=2)
    position = np.array([0, 1, 1])
    picked = np.array([0.9, 0.5, 0.2])
    expected = (REWARD * picked / PSCORE).mean()
    assert ipw(REWARD, ACTION, PSCORE, dist, position).value == pytest.approx(expected)


def _simulate(
    rng: np.random.Generator, rows: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A logged bandit with known truth: 3 actions, click rates by a logistic model of two
    features, a softmax logging policy and a different softmax candidate policy."""
    x = rng.normal(size=(rows, 2))
    effects = np.array([[0.8, -0.5], [-0.3, 0.9], [0.1, 0.1]])
    rate = 1 / (1 + np.exp(-(np.array([-1.0, -1.2, -0.6]) + x @ effects.T)))
    logging = np.exp(x @ np.array([[0.2, 0.1], [-0.1, 0.3], [0.0, 0.0]]).T)
    logging /= logging.sum(axis=1, keepdims=True)
    candidate = np.exp(2 * x @ effects.T)
    candidate /= candidate.sum(axis=1, keepdims=True)
    action = (rng.random(rows)[:, None] > np.cumsum(logging, axis=1)).sum(axis=1)
    reward = (rng.random(rows) < rate[np.arange(rows), action]).astype(float)
    pscore = logging[np.arange(rows), action]
    return reward, action, pscore, candidate[:, :, None], rate[:, :, None]


def test_the_intervals_cover_the_true_value_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(5)
    _, _, _, big_candidate, big_rate = _simulate(rng, 400_000)
    truth = float((big_candidate * big_rate).sum(axis=1).mean())
    hits = {"ipw": 0, "snipw": 0, "dr": 0}
    runs = 300
    for _ in range(runs):
        reward, action, pscore, candidate, rate = _simulate(rng, 1500)
        noisy_q = np.clip(rate + rng.normal(0, 0.05, size=rate.shape), 0, 1)
        result = evaluate(reward, action, pscore, candidate, noisy_q)
        for estimate in result.estimates:
            hits[estimate.name] += estimate.low <= truth <= estimate.high
    for name, count in hits.items():
        assert 0.91 <= count / runs <= 0.99, (name, count / runs)


def test_the_effective_sample_size_and_the_warnings() -> None:
    uniform = np.full((3, 2, 1), 0.5)
    even = evaluate(REWARD, ACTION, np.full(3, 0.5), uniform)
    assert even.effective_sample_size == pytest.approx(3.0)
    assert even.max_weight == pytest.approx(1.0)
    assert even.warnings == ()
    assert even.logged.value == pytest.approx(2 / 3)
    assert [found.name for found in even.estimates] == ["ipw", "snipw"]
    warned = weight_warnings(ess=5.0, rows=1000, largest=80.0, clip=math.inf)
    assert len(warned) == 2
    assert "effective sample size is 5.0 of 1,000 rows" in warned[0]
    assert "largest importance weight is 80.0" in warned[1]
    assert "clipped at 10" in weight_warnings(500.0, 1000, 80.0, clip=10.0)[0]


def test_an_evaluation_serialises_to_plain_values() -> None:
    described = evaluate(REWARD, ACTION, PSCORE, DIST, Q).as_dict()
    assert described["rows"] == 3
    assert [e["estimator"] for e in described["estimates"]] == ["ipw", "snipw", "dr"]
    assert described["logged"]["confidence"] == 0.95


@pytest.mark.parametrize(
    ("pscore", "message"),
    [
        (np.array([0.5, 0.0, 0.8]), "pscore at row 1 is not a probability in (0, 1]"),
        (np.array([0.5, 0.25, 1.2]), "pscore at row 2 is not a probability in (0, 1]"),
        (np.array([-0.1, 0.25, 0.8]), "pscore at row 0 is not a probability"),
        (np.array([0.5, np.nan, 0.8]), "pscore at row 1 is not a finite number"),
    ],
)
def test_propensities_outside_0_1_are_refused_naming_the_row(
    pscore: np.ndarray, message: str
) -> None:
    with pytest.raises(ModelInputError, match=message.replace("(", r"\(").replace("]", r"\]")):
        ipw(REWARD, ACTION, pscore, DIST)


def test_bad_shapes_codes_and_distributions_are_refused() -> None:
    with pytest.raises(ModelInputError, match=r"action at row 2 is outside 0\.\.1"):
        ipw(REWARD, np.array([0, 1, 2]), PSCORE, DIST)
    with pytest.raises(ModelInputError, match="action must hold integer codes"):
        ipw(REWARD, np.array([0.0, 1.5, 1.0]), PSCORE, DIST)
    with pytest.raises(ModelInputError, match="action_dist must have shape"):
        ipw(REWARD, ACTION, PSCORE, DIST[:2])
    with pytest.raises(ModelInputError, match=r"action_dist\[1, :, 0\] sums to 0\.9"):
        ipw(REWARD, ACTION, PSCORE, np.array([[0.9, 0.1], [0.5, 0.4], [0.2, 0.8]])[:, :, None])
    with pytest.raises(ModelInputError, match="position at row 0 is outside"):
        ipw(REWARD, ACTION, PSCORE, DIST, np.array([1, 0, 0]))
    with pytest.raises(ModelInputError, match="estimated_rewards must have the shape"):
        dr(REWARD, ACTION, PSCORE, DIST, Q[:, :1])
    with pytest.raises(ModelInputError, match="reward at row 1 is not a finite number"):
        ipw(np.array([1.0, np.inf, 0.0]), ACTION, PSCORE, DIST)
    with pytest.raises(ModelInputError, match="confidence must be in"):
        ipw(REWARD, ACTION, PSCORE, DIST, confidence=1.0)


def test_a_policy_that_never_takes_a_logged_action_is_refused_not_nan() -> None:
    never = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])[:, :, None]
    with pytest.raises(ModelInputError, match="all importance weights are 0"):
        evaluate(REWARD, ACTION, PSCORE, never)
    with pytest.raises(ModelInputError, match="all importance weights are 0"):
        snipw(REWARD, ACTION, PSCORE, never)


@pytest.mark.parametrize("clip", [0.0, -1.0, math.nan])
def test_a_clip_that_is_not_a_positive_weight_is_refused(clip: float) -> None:
    # A cap of 0 made IPW exactly 0 (and NaN made every estimate NaN) without a word.
    with pytest.raises(ModelInputError, match="clip must be a positive weight"):
        ipw(REWARD, ACTION, PSCORE, DIST, clip=clip)
    with pytest.raises(ModelInputError, match="clip must be a positive weight"):
        evaluate(REWARD, ACTION, PSCORE, DIST, Q, clip=clip)


def test_one_round_is_insufficient_data_not_an_interval_of_no_width() -> None:
    with pytest.raises(ModelInputError, match="insufficient data: 1 logged round"):
        evaluate(REWARD[:1], ACTION[:1], PSCORE[:1], DIST[:1], Q[:1])
    two = evaluate(REWARD[:2], ACTION[:2], PSCORE[:2], DIST[:2], Q[:2])
    assert all(estimate.std_error > 0 for estimate in two.estimates)
