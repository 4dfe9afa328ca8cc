"""Reward models and candidate policies for off-policy evaluation.

- ``RidgeRewardModel`` estimates the expected reward ``q[i, a, k]`` of every action at every
  position from the logged rounds, the ``q`` of the doubly robust estimator.
- ``UniformPolicy``, ``GreedyPolicy`` and ``ThompsonPolicy`` are candidate policies: each is
  fitted on the logged rounds and returns its action distribution ``pi[i, a, k]``, the
  probability that it shows action ``a`` at position ``k`` in round ``i``.

With several positions a policy fills them as a ranked list without repeats: the best action
goes to position 0, the next to position 1 and so on (the ZOZOTOWN interface of Open Bandit
Pipeline shows three items this way).

All follow the scikit-learn contract: the constructor stores its arguments, ``fit`` returns
``self`` and sets attributes ending in ``_``, and using a policy before ``fit`` raises
``NotFittedError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from mios.errors import ModelInputError, NotFittedError
from mios.types import BoolArray, FloatArray, IntArray

_THOMPSON_DRAWS = 2_000_000


@dataclass(frozen=True)
class Rounds:
    """Logged rounds as codes: ``action`` in ``0..actions-1``, ``position`` in
    ``0..positions-1`` (all zeros with one position), ``features`` of shape ``(rows, d)``."""

    reward: FloatArray
    action: IntArray
    pscore: FloatArray
    position: IntArray
    features: FloatArray
    actions: int
    positions: int

    def __post_init__(self) -> None:
        rows = self.reward.shape[0]
        if self.features.ndim != 2 or self.features.shape[0] != rows:
            raise ModelInputError(
                f"features must have shape ({rows}, d), not {self.features.shape}"
            )
        if self.actions < 1 or self.positions < 1:
            raise ModelInputError("there must be at least one action and one position")
        if self.positions > self.actions:
            raise ModelInputError(
                f"{self.positions} positions but only {self.actions} actions: a ranked list "
                "needs at least as many actions as positions"
            )

    @property
    def rows(self) -> int:
        return int(self.reward.shape[0])

    def subset(self, rows: BoolArray | IntArray) -> Rounds:
        """The chosen rounds, with the same action and position sets."""
        return Rounds(
            reward=self.reward[rows],
            action=self.action[rows],
            pscore=self.pscore[rows],
            position=self.position[rows],
            features=self.features[rows],
            actions=self.actions,
            positions=self.positions,
        )


class RidgeRewardModel:
    """Ridge regression of the reward on standardized features and the position.

    With ``per_action`` (the default) each action has its own coefficients; otherwise one
    model adds an effect per action to shared feature effects. Every coefficient, intercepts
    included, is shrunk toward the overall mean reward with penalty ``alpha``, so an action
    seen in few rounds is predicted near the mean rather than from noise.
    """

    def __init__(self, alpha: float = 1.0, per_action: bool = True) -> None:
        self.alpha = alpha
        self.per_action = per_action

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"alpha": self.alpha, "per_action": self.per_action}

    def set_params(self, **params: Any) -> Self:
        for name, value in params.items():
            if name not in self.get_params():
                raise ModelInputError(f"RidgeRewardModel has no parameter {name!r}")
            setattr(self, name, value)
        return self

    def fit(self, rounds: Rounds) -> Self:
        if not self.alpha > 0:
            raise ModelInputError(f"alpha must be positive, not {self.alpha}")
        features = rounds.features
        self.mean_ = features.mean(axis=0)
        scale = features.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        self.intercept_ = float(rounds.reward.mean())
        self.actions_ = rounds.actions
        self.positions_ = rounds.positions
        shared = self._design(features)
        target = rounds.reward - self.intercept_
        position_columns = _one_hot(rounds.position, rounds.positions)[:, 1:]
        if self.per_action:
            width = shared.shape[1] + position_columns.shape[1]
            coef = np.zeros((rounds.actions, width))
            design = np.hstack([shared, position_columns])
            for action in np.unique(rounds.action):
                chosen = rounds.action == action
                coef[action] = _ridge(design[chosen], target[chosen], self.alpha)
            self.coef_ = coef
        else:
            design = np.hstack([shared, _one_hot(rounds.action, rounds.actions), position_columns])
            self.coef_ = _ridge(design, target, self.alpha)[None, :]
        return self

    def predict(self, features: FloatArray) -> FloatArray:
        """Expected rewards of shape ``(rows, actions, positions)``."""
        self._check_fitted()
        shared = self._design(np.asarray(features, dtype=np.float64))
        width = shared.shape[1]
        coef = self.coef_
        if self.per_action:
            base = shared @ coef[:, :width].T
            by_position = coef[:, width:]
        else:
            base = (shared @ coef[0, :width])[:, None] + coef[0, width : width + self.actions_]
            by_position = np.broadcast_to(
                coef[0, width + self.actions_ :], (self.actions_, self.positions_ - 1)
            )
        position_effect = np.hstack([np.zeros((self.actions_, 1)), by_position])
        result: FloatArray = self.intercept_ + base[:, :, None] + position_effect[None, :, :]
        return result

    def _design(self, features: FloatArray) -> FloatArray:
        if features.ndim != 2 or features.shape[1] != self.mean_.shape[0]:
            raise ModelInputError(
                f"features must have {self.mean_.shape[0]} columns, not shape {features.shape}"
            )
        standardized = (features - self.mean_) / self.scale_
        return np.hstack([np.ones((features.shape[0], 1)), standardized])

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError("this RidgeRewardModel is not fitted yet; call fit() first")


class UniformPolicy:
    """Every action equally likely at every position (ignoring repeats across positions)."""

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {}

    def set_params(self, **params: Any) -> Self:
        if params:
            raise ModelInputError(f"UniformPolicy has no parameter {next(iter(params))!r}")
        return self

    def fit(self, rounds: Rounds) -> Self:
        self.actions_ = rounds.actions
        self.positions_ = rounds.positions
        return self

    def action_dist(self, features: FloatArray) -> FloatArray:
        if not hasattr(self, "actions_"):
            raise NotFittedError("this UniformPolicy is not fitted yet; call fit() first")
        one = np.full((1, self.actions_, self.positions_), 1.0 / self.actions_)
        result: FloatArray = np.broadcast_to(one, (features.shape[0], *one.shape[1:]))
        return result


class GreedyPolicy:
    """Show the actions of highest predicted reward (the average over positions of a fitted
    ``RidgeRewardModel``), best first; deterministic."""

    def __init__(self, alpha: float = 1.0, per_action: bool = True) -> None:
        self.alpha = alpha
        self.per_action = per_action

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"alpha": self.alpha, "per_action": self.per_action}

    def set_params(self, **params: Any) -> Self:
        for name, value in params.items():
            if name not in self.get_params():
                raise ModelInputError(f"GreedyPolicy has no parameter {name!r}")
            setattr(self, name, value)
        return self

    def fit(self, rounds: Rounds) -> Self:
        self.model_ = RidgeRewardModel(self.alpha, self.per_action).fit(rounds)
        return self

    def action_dist(self, features: FloatArray) -> FloatArray:
        if not hasattr(self, "model_"):
            raise NotFittedError("this GreedyPolicy is not fitted yet; call fit() first")
        scores = self.model_.predict(features).mean(axis=2)
        positions = self.model_.positions_
        # A stable sort of the negated scores: ties go to the lower action code, every time.
        ranked = np.argsort(-scores, axis=1, kind="stable")[:, :positions]
        dist = np.zeros((scores.shape[0], scores.shape[1], positions))
        rows = np.arange(scores.shape[0])[:, None]
        dist[rows, ranked, np.arange(positions)[None, :]] = 1.0
        return dist


class ThompsonPolicy:
    """Bernoulli Thompson sampling: each action's click rate has a Beta posterior (prior
    ``Beta(prior_alpha, prior_beta)`` plus the logged clicks and non-clicks); each decision draws
    one rate per action and shows the highest draws, best first. The action distribution is
    estimated from ``samples`` Monte Carlo decisions with ``seed``; it is the same for every
    round (the policy does not read the features).

    ``per_position`` gives each (action, position) its own posterior, and each position in turn
    takes the best remaining draw at that position. ``learn=False`` keeps the prior alone (to
    replay a policy whose posterior was learned elsewhere). Rewards must lie in [0, 1]; a
    fractional reward counts as that share of a click.
    """

    def __init__(
        self,
        samples: int = 100_000,
        seed: int = 0,
        prior_alpha: float | FloatArray = 1.0,
        prior_beta: float | FloatArray = 1.0,
        per_position: bool = False,
        learn: bool = True,
    ) -> None:
        self.samples = samples
        self.seed = seed
        self.prior_alpha = prior_alpha
        self.prior_beta = prior_beta
        self.per_position = per_position
        self.learn = learn

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "seed": self.seed,
            "prior_alpha": self.prior_alpha,
            "prior_beta": self.prior_beta,
            "per_position": self.per_position,
            "learn": self.learn,
        }

    def set_params(self, **params: Any) -> Self:
        for name, value in params.items():
            if name not in self.get_params():
                raise ModelInputError(f"ThompsonPolicy has no parameter {name!r}")
            setattr(self, name, value)
        return self

    def fit(self, rounds: Rounds) -> Self:
        if self.samples < 1:
            raise ModelInputError(f"samples must be at least 1, not {self.samples}")
        reward = rounds.reward
        outside = np.flatnonzero((reward < 0) | (reward > 1))
        if outside.size:
            raise ModelInputError(
                f"reward at row {int(outside[0])} is {reward[outside[0]]:g}: Thompson sampling "
                "with Beta posteriors needs rewards in [0, 1] (clicks, conversions)"
            )
        cells = rounds.positions if self.per_position else 1
        shape = (rounds.actions, cells)
        alpha = _prior(self.prior_alpha, rounds.actions, "prior_alpha")[:, None] * np.ones(shape)
        beta = _prior(self.prior_beta, rounds.actions, "prior_beta")[:, None] * np.ones(shape)
        if self.learn:
            column = rounds.position if self.per_position else np.zeros_like(rounds.action)
            flat = rounds.action * cells + column
            size = rounds.actions * cells
            clicks = np.bincount(flat, weights=reward, minlength=size).reshape(shape)
            shown = np.bincount(flat, minlength=size).reshape(shape)
            alpha = alpha + clicks
            beta = beta + shown - clicks
        self.alpha_ = alpha
        self.beta_ = beta
        self.positions_ = rounds.positions
        self.dist_ = self._simulate()
        return self

    def action_dist(self, features: FloatArray) -> FloatArray:
        if not hasattr(self, "dist_"):
            raise NotFittedError("this ThompsonPolicy is not fitted yet; call fit() first")
        result: FloatArray = np.broadcast_to(
            self.dist_[None], (features.shape[0], *self.dist_.shape)
        )
        return result

    def _simulate(self) -> FloatArray:
        rng = np.random.default_rng(self.seed)
        actions, cells = self.alpha_.shape
        positions = self.positions_
        counts = np.zeros((actions, positions))
        done = 0
        while done < self.samples:
            # About 2 million draws (16 MB) at a time, whatever the number of actions.
            size = min(max(1, _THOMPSON_DRAWS // (actions * cells)), self.samples - done)
            draws = rng.beta(self.alpha_, self.beta_, size=(size, actions, cells))
            if cells == 1:
                top = np.argpartition(-draws[:, :, 0], positions - 1, axis=1)[:, :positions]
                order = np.argsort(-np.take_along_axis(draws[:, :, 0], top, axis=1), axis=1)
                chosen = np.take_along_axis(top, order, axis=1)
            else:
                chosen = np.empty((size, positions), dtype=np.int64)
                taken = np.zeros((size, actions), dtype=bool)
                for position in range(positions):
                    best = np.where(taken, -np.inf, draws[:, :, position]).argmax(axis=1)
                    chosen[:, position] = best
                    taken[np.arange(size), best] = True
            for position in range(positions):
                counts[:, position] += np.bincount(chosen[:, position], minlength=actions)
            done += size
        result: FloatArray = counts / self.samples
        return result


def _ridge(design: FloatArray, target: FloatArray, alpha: float) -> FloatArray:
    gram = design.T @ design
    gram[np.diag_indices_from(gram)] += alpha
    return np.asarray(np.linalg.solve(gram, design.T @ target), dtype=np.float64)


def _one_hot(codes: IntArray, size: int) -> FloatArray:
    result = np.zeros((codes.shape[0], size))
    result[np.arange(codes.shape[0]), codes] = 1.0
    return result


def _prior(value: float | FloatArray, actions: int, name: str) -> FloatArray:
    given = np.asarray(value, dtype=np.float64)
    if given.ndim > 1 or given.size not in (1, actions):
        raise ModelInputError(f"{name} must be one value or {actions} (one per action)")
    prior = np.broadcast_to(given, (actions,)).copy()
    if not (np.isfinite(prior).all() and (prior > 0).all()):
        raise ModelInputError(f"{name} must be positive (one value, or one per action)")
    return prior
