"""Reward model and candidate policies: the estimator contract, recovery of known rewards and
known Thompson sampling probabilities, and what each refuses."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import integrate, stats

from mios.brain.ope_policies import (
    GreedyPolicy,
    RidgeRewardModel,
    Rounds,
    ThompsonPolicy,
    UniformPolicy,
)
from mios.errors import ModelInputError, NotFittedError


def _rounds(
    rows: int = 4000, actions: int = 3, positions: int = 1, seed: int = 0, binary: bool = False
) -> tuple[Rounds, np.ndarray]:
    """Uniform logging over ``actions``; the reward is linear in two features per action plus
    a position effect (and noise), or a click drawn with that rate. Returns the true means."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 2))
    intercepts = np.linspace(0.2, 0.6, actions)
    slopes = rng.normal(0, 0.05, size=(actions, 2))
    position_effect = -0.05 * np.arange(positions)
    truth = (
        intercepts[None, :, None]
        + (features @ slopes.T)[:, :, None]
        + position_effect[None, None, :]
    )
    action = rng.integers(0, actions, rows)
    position = rng.integers(0, positions, rows)
    mean = truth[np.arange(rows), action, position]
    if binary:
        reward = (rng.random(rows) < np.clip(mean, 0, 1)).astype(float)
    else:
        reward = mean + rng.normal(0, 0.05, rows)
    rounds = Rounds(
        reward=reward,
        action=action,
        pscore=np.full(rows, 1 / actions),
        position=position,
        features=features,
        actions=actions,
        positions=positions,
    )
    return rounds, truth


ESTIMATORS: list[Any] = [
    RidgeRewardModel(alpha=2.0, per_action=False),
    UniformPolicy(),
    GreedyPolicy(alpha=0.5),
    ThompsonPolicy(samples=500, seed=3),
]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_the_estimator_contract(estimator: Any) -> None:
    params = estimator.get_params()
    for name, value in params.items():
        assert getattr(estimator, name) is value  # stored unchanged
    clone = type(estimator)(**params)
    assert clone.get_params() == params
    rounds, _ = _rounds(rows=300, positions=2, binary=True)
    use = clone.predict if isinstance(clone, RidgeRewardModel) else clone.action_dist
    with pytest.raises(NotFittedError, match="not fitted yet"):
        use(rounds.features)
    assert clone.fit(rounds) is clone
    fitted = [name for name in vars(clone) if name.endswith("_")]
    assert fitted
    assert all(not name.endswith("_") for name in params)
    out = use(rounds.features)
    assert out.shape == (300, 3, 2)
    assert np.isfinite(out).all()
    with pytest.raises(ModelInputError, match="has no parameter"):
        clone.set_params(nonsense=1)


def test_set_params_changes_a_parameter() -> None:
    model = RidgeRewardModel().set_params(alpha=3.0)
    assert model.alpha == 3.0


@pytest.mark.parametrize("per_action", [True, False])
def test_the_ridge_reward_model_recovers_known_expected_rewards(per_action: bool) -> None:
    rounds, truth = _rounds(rows=20_000, positions=3, seed=1)
    predicted = RidgeRewardModel(alpha=1.0, per_action=per_action).fit(rounds)
    error = np.abs(predicted.predict(rounds.features) - truth)
    # The shared model has one slope per feature for all actions, while the true slopes differ
    # by action (by about 0.05): a looser bound.
    assert error.mean() < (0.005 if per_action else 0.08)


def test_the_ridge_model_predicts_the_mean_for_an_action_never_logged() -> None:
    rounds, _ = _rounds(rows=600, actions=3)
    seen = rounds.subset(rounds.action != 2)
    predicted = RidgeRewardModel().fit(seen).predict(rounds.features[:5])
    assert np.allclose(predicted[:, 2, 0], seen.reward.mean())
    with pytest.raises(ModelInputError, match="alpha must be positive"):
        RidgeRewardModel(alpha=0.0).fit(rounds)
    with pytest.raises(ModelInputError, match="features must have 2 columns"):
        RidgeRewardModel().fit(rounds).predict(np.zeros((3, 5)))


def test_uniform_gives_every_action_the_same_probability() -> None:
    rounds, _ = _rounds(rows=50, actions=4, positions=2)
    dist = UniformPolicy().fit(rounds).action_dist(rounds.features)
    assert np.all(dist == 0.25)


def test_greedy_ranks_the_best_actions_first_without_repeats() -> None:
    rounds, truth = _rounds(rows=20_000, actions=4, positions=2, seed=2)
    dist = GreedyPolicy().fit(rounds).action_dist(rounds.features)
    assert set(np.unique(dist)) == {0.0, 1.0}
    assert np.all(dist.sum(axis=1) == 1)
    assert np.all(dist.sum(axis=2) <= 1)  # no action in two positions of a round
    best = truth.mean(axis=2).argmax(axis=1)
    assert (dist[np.arange(rounds.rows), best, 0] == 1).mean() > 0.97


def test_thompson_sampling_probabilities_match_the_beta_posteriors() -> None:
    # Two actions with 3/10 and 6/10 clicks: P(second draws higher) under Beta(7, 5) vs
    # Beta(4, 8), by integration.
    reward = np.array([1.0] * 3 + [0.0] * 7 + [1.0] * 6 + [0.0] * 4)
    action = np.array([0] * 10 + [1] * 10)
    rounds = Rounds(
        reward=reward,
        action=action,
        pscore=np.full(20, 0.5),
        position=np.zeros(20, dtype=np.int64),
        features=np.zeros((20, 0)),
        actions=2,
        positions=1,
    )
    first, second = stats.beta(4, 8), stats.beta(7, 5)
    exact, _ = integrate.quad(lambda t: second.pdf(t) * first.cdf(t), 0, 1)
    policy = ThompsonPolicy(samples=200_000, seed=4).fit(rounds)
    assert np.allclose(policy.alpha_[:, 0], [4, 7])
    assert np.allclose(policy.beta_[:, 0], [8, 5])
    assert policy.dist_[1, 0] == pytest.approx(exact, abs=0.004)
    again = ThompsonPolicy(samples=200_000, seed=4).fit(rounds)
    assert np.array_equal(again.dist_, policy.dist_)  # the seed fixes it


def test_thompson_sampling_by_position_and_from_the_prior_alone() -> None:
    rounds, _ = _rounds(rows=3000, actions=4, positions=2, seed=5, binary=True)
    by_position = ThompsonPolicy(samples=5000, per_position=True).fit(rounds)
    assert by_position.alpha_.shape == (4, 2)
    dist = by_position.dist_
    assert np.allclose(dist.sum(axis=0), 1.0)
    assert np.all(dist.sum(axis=1) <= 1.0 + 1e-12)
    prior_only = ThompsonPolicy(
        samples=20_000, prior_alpha=np.array([1.0, 1.0, 1.0, 50.0]), prior_beta=1.0, learn=False
    ).fit(rounds)
    assert np.allclose(prior_only.alpha_[:, 0], [1, 1, 1, 50])
    # P(a Beta(50, 1) draw beats three uniform draws) = E[theta^3] = 50 / 53.
    assert prior_only.dist_[3, 0] == pytest.approx(50 / 53, abs=0.006)


def test_thompson_sampling_refuses_rewards_outside_0_1_and_bad_priors() -> None:
    rounds, _ = _rounds(rows=100)
    shifted = Rounds(
        reward=rounds.reward + 5,
        action=rounds.action,
        pscore=rounds.pscore,
        position=rounds.position,
        features=rounds.features,
        actions=rounds.actions,
        positions=rounds.positions,
    )
    with pytest.raises(ModelInputError, match="needs rewards in \\[0, 1\\]"):
        ThompsonPolicy().fit(shifted)
    binary, _ = _rounds(rows=100, binary=True)
    with pytest.raises(ModelInputError, match="prior_alpha must be one value or 3"):
        ThompsonPolicy(prior_alpha=np.ones(5)).fit(binary)
    with pytest.raises(ModelInputError, match="prior_beta must be positive"):
        ThompsonPolicy(prior_beta=0.0).fit(binary)
    with pytest.raises(ModelInputError, match="samples must be at least 1"):
        ThompsonPolicy(samples=0).fit(binary)


def test_rounds_refuse_more_positions_than_actions() -> None:
    with pytest.raises(ModelInputError, match="3 positions but only 2 actions"):
        Rounds(
            reward=np.zeros(3),
            action=np.zeros(3, dtype=np.int64),
            pscore=np.full(3, 0.5),
            position=np.zeros(3, dtype=np.int64),
            features=np.zeros((3, 0)),
            actions=2,
            positions=3,
        )
