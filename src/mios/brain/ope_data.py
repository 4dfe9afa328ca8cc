"""Logged-data files for off-policy evaluation, and the evaluation of a named policy on them.

A logged-data CSV has one row per round (one action shown at one position):

- ``action``: the action shown (any label; integers sort numerically). The action set is the
  distinct values of the column.
- ``reward``: the observed reward (a number; 0/1 for clicks).
- ``propensity``: the probability that the logging policy showed this action at this position,
  in (0, 1].
- ``position`` (optional): the slot the action was shown in (any label; integers sort
  numerically). Without it there is one position.
- feature columns: numeric context features, by default every column whose name starts with
  ``x_``; ``categorical`` columns are labels one-hot encoded (their first level dropped).

Column names are options of ``load_rounds``. Errors name the file, the line and the column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from mios.brain.ope import DEFAULT_CONFIDENCE, MIN_ROUNDS, Evaluation, evaluate
from mios.brain.ope_policies import (
    GreedyPolicy,
    RidgeRewardModel,
    Rounds,
    ThompsonPolicy,
    UniformPolicy,
)
from mios.brain.tables import Table
from mios.errors import ModelInputError
from mios.types import StrArray

PolicyName = Literal["uniform", "greedy", "ts"]
POLICY_NAMES: tuple[PolicyName, ...] = ("uniform", "greedy", "ts")
DEFAULT_FOLDS = 5


@dataclass(frozen=True)
class Columns:
    """Which columns of the file hold what."""

    action: str = "action"
    reward: str = "reward"
    propensity: str = "propensity"
    position: str | None = "position"
    feature_prefix: str = "x_"
    features: tuple[str, ...] | None = None
    categorical: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoggedFile:
    """Checked rounds of a file, with the labels behind the action and position codes."""

    rounds: Rounds
    action_labels: StrArray
    position_labels: StrArray
    feature_names: tuple[str, ...]


@dataclass(frozen=True)
class PolicyReport:
    """An evaluation of one policy on one file."""

    policy: str
    file: LoggedFile
    evaluation: Evaluation
    reward_model: str


def load_rounds(table: Table, columns: Columns = Columns()) -> LoggedFile:
    """Check ``table`` and turn it into rounds; a bad cell raises naming file, line, column."""
    reward = table.floats(columns.reward)
    pscore = table.floats(columns.propensity)
    outside = np.flatnonzero((pscore <= 0) | (pscore > 1))
    if outside.size:
        row = int(outside[0])
        raise table.error(
            f"{pscore[row]:g} is not a propensity in (0, 1] ({outside.size} such rows)",
            row=row,
            column=columns.propensity,
        )
    action_labels, action = table.labels(columns.action)
    if columns.position is not None and table.has(columns.position):
        position_labels, position = table.labels(columns.position)
    else:
        position_labels, position = np.array(["0"]), np.zeros(table.rows, dtype=np.int64)
    numeric = _feature_names(table, columns)
    blocks = [table.floats(name)[:, None] for name in numeric]
    names = list(numeric)
    for name in columns.categorical:
        levels, codes = table.labels(name)
        for level in range(1, levels.size):
            blocks.append((codes == level).astype(np.float64)[:, None])
            names.append(f"{name}={levels[level]}")
    features = np.hstack(blocks) if blocks else np.zeros((table.rows, 0))
    try:
        rounds = Rounds(
            reward=reward,
            action=action,
            pscore=pscore,
            position=position,
            features=features,
            actions=int(action_labels.size),
            positions=int(position_labels.size),
        )
    except ModelInputError as exc:
        raise ModelInputError.at(str(exc), file=table.file) from None
    return LoggedFile(rounds, action_labels, position_labels, tuple(names))


def evaluate_policy(
    logged: LoggedFile,
    policy: PolicyName,
    *,
    ridge_alpha: float = 1.0,
    samples: int = 100_000,
    seed: int = 0,
    folds: int = DEFAULT_FOLDS,
    clip: float = math.inf,
    confidence: float = DEFAULT_CONFIDENCE,
) -> PolicyReport:
    """Estimate the value of ``policy`` by IPW, SNIPW and DR on the logged rounds.

    The policy (greedy's reward model, Thompson sampling's posteriors) and DR's reward model
    (ridge per action) learn from the data they are judged on, so they are cross-fitted: the
    rounds are split at random (``seed``) into ``folds`` parts, and each part's action
    distribution and expected rewards come from models fitted on the other parts. Without it a
    greedy policy looks far better than it is (it is scored on the clicks it was fitted to).
    ``folds=1`` fits on all rounds (in-sample)."""
    rounds = logged.rounds
    if policy not in POLICY_NAMES:
        raise ModelInputError(f"unknown policy {policy!r}; use one of {', '.join(POLICY_NAMES)}")
    if rounds.rows < MIN_ROUNDS:
        raise ModelInputError(
            f"insufficient data: {rounds.rows} logged round; an evaluation needs at least "
            f"{MIN_ROUNDS}"
        )
    if not 1 <= folds <= rounds.rows:
        raise ModelInputError(
            f"folds must be between 1 and the {rounds.rows} rounds, not {folds} (folds=1 fits "
            "the policy and the reward model in-sample)"
        )
    shape = (rounds.rows, rounds.actions, rounds.positions)
    dist = np.empty(shape)
    expected = np.empty(shape)
    part = np.random.default_rng(seed).permutation(rounds.rows) % folds
    for fold in range(folds):
        held_out = part == fold
        train = rounds if folds == 1 else rounds.subset(~held_out)
        chosen = _policy(policy, ridge_alpha, samples, seed).fit(train)
        dist[held_out] = chosen.action_dist(rounds.features[held_out])
        model = RidgeRewardModel(alpha=ridge_alpha).fit(train)
        expected[held_out] = model.predict(rounds.features[held_out])
    evaluation = evaluate(
        rounds.reward,
        rounds.action,
        rounds.pscore,
        dist,
        estimated_rewards=expected,
        position=rounds.position,
        clip=clip,
        confidence=confidence,
    )
    fitting = f"cross-fitted on {folds} folds" if folds > 1 else "fitted in-sample"
    described = (
        f"ridge per action (alpha {ridge_alpha:g}) on {len(logged.feature_names)} features"
        + (" and the position" if rounds.positions > 1 else "")
        + f", {fitting}"
    )
    return PolicyReport(policy, logged, evaluation, described)


def _policy(
    name: PolicyName, ridge_alpha: float, samples: int, seed: int
) -> UniformPolicy | GreedyPolicy | ThompsonPolicy:
    if name == "uniform":
        return UniformPolicy()
    if name == "greedy":
        return GreedyPolicy(alpha=ridge_alpha)
    return ThompsonPolicy(samples=samples, seed=seed)


def _feature_names(table: Table, columns: Columns) -> Sequence[str]:
    taken = {columns.action, columns.reward, columns.propensity, columns.position}
    for name in (*(columns.features or ()), *columns.categorical):
        if name in taken:
            # A policy or reward model that reads the logged reward, action or propensity of
            # the round it decides is not a policy: its estimates would be meaningless.
            raise ModelInputError.at(
                f"column {name!r} cannot be a feature: it is the action, reward, propensity or "
                "position column, what was logged, not a context the policy decides on",
                file=table.file,
                line=1,
            )
    if columns.features is not None:
        for name in columns.features:
            table.column(name)  # a missing one raises, naming the columns the file has
        return columns.features
    return [
        name
        for name in table.names
        if name.startswith(columns.feature_prefix)
        and name not in taken
        and name not in columns.categorical
    ]
