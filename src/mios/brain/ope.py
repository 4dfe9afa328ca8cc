"""Off-policy evaluation: what a candidate policy would have earned, judged on logged data.

Logged data are rounds ``i`` with an action ``a_i`` shown at a position ``k_i`` (one position
when the interface has one slot), a reward ``r_i`` and the propensity ``p_i``: the probability
that the logging policy chose ``a_i`` at ``k_i``. A candidate policy is given by its action
distribution ``pi[i, a, k]``, the probability that it shows action ``a`` at position ``k`` in
round ``i`` (each ``pi[i, :, k]`` sums to 1). With importance weights
``w_i = pi[i, a_i, k_i] / p_i``:

- IPW (inverse probability weighting): ``mean(w_i r_i)``; unbiased when the propensities are
  right, high variance when the weights are large.
- SNIPW (self-normalized IPW): ``sum(w_i r_i) / sum(w_i)``; a little biased, much steadier.
- DR (doubly robust): ``mean(sum_a pi[i, a, k_i] q[i, a, k_i] + w_i (r_i - q[i, a_i, k_i]))``
  with ``q`` an estimate of the expected reward; unbiased if either ``q`` or the propensities
  are right, and of lower variance than IPW when ``q`` is good.

These are the estimators of Open Bandit Pipeline (``obp.ope``) with the same indexing
``pi[i, a, k]``: given the same inputs they return the same values (see
``tests/unit/brain/test_ope_parity.py``). Optional weight clipping (``clip``) caps ``w_i`` in IPW
and DR as obp's ``lambda_`` does. Every estimate carries a standard error from its per-round
terms (the delta method for SNIPW) and a normal confidence interval, 95% by default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtri

from mios.errors import ModelInputError
from mios.types import FloatArray, IntArray

DEFAULT_CONFIDENCE = 0.95
# Below this share of the rows, the effective sample size says the estimate rests on few rounds.
LOW_ESS_SHARE = 0.1
# A weight above this means one round counts as this many: the estimate swings with it.
HIGH_WEIGHT = 50.0
_PROBABILITY_SLACK = 1e-6
MIN_ROUNDS = 2


@dataclass(frozen=True)
class Estimate:
    """A policy value with its standard error and a normal interval at ``confidence``."""

    name: str
    value: float
    std_error: float
    low: float
    high: float
    confidence: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "estimator": self.name,
            "value": self.value,
            "std_error": self.std_error,
            "low": self.low,
            "high": self.high,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class Evaluation:
    """The logged policy's mean reward and each estimate of the candidate policy's value, with
    the importance weights' effective sample size and the warnings they raise."""

    logged: Estimate
    estimates: tuple[Estimate, ...]
    rows: int
    effective_sample_size: float
    max_weight: float
    warnings: tuple[str, ...] = field(default=())

    def estimate(self, name: str) -> Estimate:
        for found in self.estimates:
            if found.name == name:
                return found
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "logged": self.logged.as_dict(),
            "estimates": [found.as_dict() for found in self.estimates],
            "effective_sample_size": self.effective_sample_size,
            "max_weight": self.max_weight,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class Logged:
    """Checked logged rounds: ``position`` is all zeros when the data have one position."""

    reward: FloatArray
    action: IntArray
    pscore: FloatArray
    position: IntArray


def check_logged(
    reward: FloatArray,
    action: IntArray,
    pscore: FloatArray,
    action_dist: FloatArray,
    position: IntArray | None = None,
    estimated_rewards: FloatArray | None = None,
) -> Logged:
    """Check shapes and ranges; errors name the argument and the first row at fault (0-based).

    ``action_dist`` and ``estimated_rewards`` have shape ``(rows, actions, positions)``."""
    reward = np.asarray(reward, dtype=np.float64)
    pscore = np.asarray(pscore, dtype=np.float64)
    action_dist = np.asarray(action_dist)
    rows = reward.shape[0] if reward.ndim == 1 else -1
    if rows < 1:
        raise ModelInputError("reward must be a non-empty 1-d array")
    if rows < MIN_ROUNDS:
        # One round has no spread: its standard error would print as 0, an interval of no width.
        raise ModelInputError(
            f"insufficient data: {rows} logged round; a standard error needs at least {MIN_ROUNDS}"
        )
    if action_dist.ndim != 3 or action_dist.shape[0] != rows:
        raise ModelInputError(
            f"action_dist must have shape (rows, actions, positions) = ({rows}, ., .), "
            f"not {action_dist.shape}"
        )
    _, actions, positions = action_dist.shape
    action_codes = _codes("action", action, rows, actions)
    position_codes = (
        np.zeros(rows, dtype=np.int64)
        if position is None
        else _codes("position", position, rows, positions)
    )
    for name, values in (("reward", reward), ("pscore", pscore)):
        if values.shape != (rows,):
            raise ModelInputError(f"{name} must have shape ({rows},), not {values.shape}")
        _first_bad(name, ~np.isfinite(values), "is not a finite number")
    _first_bad("pscore", (pscore <= 0) | (pscore > 1), "is not a probability in (0, 1]")
    _check_action_dist(action_dist)
    if estimated_rewards is not None:
        estimated = np.asarray(estimated_rewards)
        if estimated.shape != action_dist.shape:
            raise ModelInputError(
                f"estimated_rewards must have the shape of action_dist {action_dist.shape}, "
                f"not {estimated.shape}"
            )
        if not np.isfinite(estimated).all():
            raise ModelInputError("estimated_rewards has values that are not finite numbers")
    return Logged(reward, action_codes, pscore, position_codes)


def importance_weights(
    action: IntArray,
    pscore: FloatArray,
    action_dist: FloatArray,
    position: IntArray | None = None,
    clip: float = math.inf,
) -> FloatArray:
    """``min(pi[i, a_i, k_i] / p_i, clip)`` per round; ``clip`` must be positive."""
    if not clip > 0:
        # A cap of 0 makes every weight 0 and IPW exactly 0; NaN would make every estimate NaN.
        raise ModelInputError(f"clip must be a positive weight (or infinite), not {clip}")
    if position is None:
        position = np.zeros(action.shape[0], dtype=np.int64)
    weights = action_dist[np.arange(action.shape[0]), action, position] / pscore
    return np.minimum(weights, clip)


def ipw_terms(
    reward: FloatArray,
    action: IntArray,
    pscore: FloatArray,
    action_dist: FloatArray,
    position: IntArray | None = None,
    clip: float = math.inf,
) -> FloatArray:
    """The per-round terms ``w_i r_i`` whose mean is the IPW estimate."""
    return reward * importance_weights(action, pscore, action_dist, position, clip)


def snipw_terms(
    reward: FloatArray,
    action: IntArray,
    pscore: FloatArray,
    action_dist: FloatArray,
    position: IntArray | None = None,
) -> FloatArray:
    """The per-round terms ``w_i r_i / mean(w)`` whose mean is the SNIPW estimate."""
    weights = importance_weights(action, pscore, action_dist, position)
    mean_weight = weights.mean()
    if mean_weight <= 0:
        raise ModelInputError(_NO_OVERLAP)
    result: FloatArray = reward * weights / mean_weight
    return result


def dr_terms(
    reward: FloatArray,
    action: IntArray,
    pscore: FloatArray,
    action_dist: FloatArray,
    estimated_rewards: FloatArray,
    position: IntArray | None = None,
    clip: float = math.inf,
) -> FloatArray:
    """The per-round doubly robust terms; ``estimated_rewards[i, a, k]`` is ``q``."""
    rows = action.shape[0]
    if position is None:
        position = np.zeros(rows, dtype=np.int64)
    weights = importance_weights(action, pscore, action_dist, position, clip)
    index = np.arange(rows)
    q_at_position = estimated_rewards[index, :, position]
    pi_at_position = action_dist[index, :, position]
    q_factual = estimated_rewards[index, action, position]
    direct = np.einsum("ij,ij->i", q_at_position, pi_at_position) / pi_at_position.sum(axis=1)
    result: FloatArray = direct + weights * (reward - q_factual)
    return result


def mean_estimate(name: str, terms: FloatArray, confidence: float) -> Estimate:
    """The mean of ``terms`` with its standard error and normal interval."""
    _check_confidence(confidence)
    value = float(terms.mean())
    spread = float(terms.std(ddof=1)) if terms.size > 1 else 0.0
    error = spread / math.sqrt(terms.size)
    half = float(ndtri(0.5 + confidence / 2)) * error
    return Estimate(name, value, error, value - half, value + half, confidence)


def ipw(
    reward: FloatArray,
    action: IntArray,
    pscore: FloatArray,
    action_dist: FloatArray,
    position: IntArray | None = None,
    clip: float = math.inf,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Estimate:
    """The IPW estimate of the policy value of ``action_dist``."""
    logged = check_logged(reward, action, pscore, action_dist, position)
    terms = ipw_terms(
        logged.reward, logged.action, logged.pscore, action_dist, logged.position, clip
    )
    return mean_estimate("ipw", terms, confidence)


def snipw(
    reward: FloatArray,
    action: IntArray,
    pscore: FloatArray,
    action_dist: FloatArray,
    position: IntArray | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Estimate:
    """The self-normalized IPW estimate; its standard error by the delta method."""
    logged = check_logged(reward, action, pscore, action_dist, position)
    return _snipw(logged, action_dist, confidence)


def dr(
    reward: FloatArray,
    action: IntArray,
    pscore: FloatArray,
    action_dist: FloatArray,
    estimated_rewards: FloatArray,
    position: IntArray | None = None,
    clip: float = math.inf,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Estimate:
    """The doubly robust estimate with the reward model's ``estimated_rewards``."""
    logged = check_logged(reward, action, pscore, action_dist, position, estimated_rewards)
    terms = dr_terms(
        logged.reward,
        logged.action,
        logged.pscore,
        action_dist,
        estimated_rewards,
        logged.position,
        clip,
    )
    return mean_estimate("dr", terms, confidence)


def evaluate(
    reward: FloatArray,
    action: IntArray,
    pscore: FloatArray,
    action_dist: FloatArray,
    estimated_rewards: FloatArray | None = None,
    position: IntArray | None = None,
    clip: float = math.inf,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Evaluation:
    """IPW, SNIPW and (given ``estimated_rewards``) DR, with the logged policy's mean reward,
    the effective sample size ``(sum w)^2 / sum w^2`` of the unclipped weights and warnings when
    the weights are extreme."""
    logged = check_logged(reward, action, pscore, action_dist, position, estimated_rewards)
    weights = importance_weights(logged.action, logged.pscore, action_dist, logged.position)
    total = float(weights.sum())
    if total <= 0:
        raise ModelInputError(_NO_OVERLAP)
    rows = logged.reward.size
    ess = total**2 / float(np.square(weights).sum())
    largest = float(weights.max())
    estimates = [
        mean_estimate(
            "ipw",
            ipw_terms(
                logged.reward, logged.action, logged.pscore, action_dist, logged.position, clip
            ),
            confidence,
        ),
        _snipw(logged, action_dist, confidence),
    ]
    if estimated_rewards is not None:
        terms = dr_terms(
            logged.reward,
            logged.action,
            logged.pscore,
            action_dist,
            estimated_rewards,
            logged.position,
            clip,
        )
        estimates.append(mean_estimate("dr", terms, confidence))
    return Evaluation(
        logged=mean_estimate("logged", logged.reward, confidence),
        estimates=tuple(estimates),
        rows=rows,
        effective_sample_size=ess,
        max_weight=largest,
        warnings=tuple(weight_warnings(ess, rows, largest, clip)),
    )


def weight_warnings(ess: float, rows: int, largest: float, clip: float) -> list[str]:
    """Plain-language warnings about extreme importance weights."""
    found = []
    if ess < LOW_ESS_SHARE * rows:
        found.append(
            f"the effective sample size is {ess:,.1f} of {rows:,} rows "
            f"({ess / rows:.1%}): the candidate policy rarely takes the logged actions, so the "
            "estimates rest on few rounds and their intervals are wide"
        )
    if largest > HIGH_WEIGHT:
        clipped = f" (clipped at {clip:g} in IPW and DR)" if math.isfinite(clip) else ""
        found.append(
            f"the largest importance weight is {largest:,.1f}{clipped}: one round counts as "
            f"{largest:,.0f}; consider clipping the weights or a policy closer to the logged one"
        )
    return found


_NO_OVERLAP = (
    "the candidate policy gives probability 0 to every logged action at its position (all "
    "importance weights are 0): the logged data say nothing about it; log data where its "
    "actions were shown, or evaluate a policy that overlaps the logging policy"
)


def _snipw(logged: Logged, action_dist: FloatArray, confidence: float) -> Estimate:
    weights = importance_weights(logged.action, logged.pscore, action_dist, logged.position)
    mean_weight = float(weights.mean())
    if mean_weight <= 0:
        raise ModelInputError(_NO_OVERLAP)
    value = float((logged.reward * weights).mean() / mean_weight)
    influence = weights * (logged.reward - value) / mean_weight
    spread = mean_estimate("snipw", influence, confidence)
    half = spread.high - spread.low
    return Estimate(
        "snipw", value, spread.std_error, value - half / 2, value + half / 2, confidence
    )


def _codes(name: str, values: IntArray, rows: int, size: int) -> IntArray:
    array = np.asarray(values)
    if array.shape != (rows,):
        raise ModelInputError(f"{name} must have shape ({rows},), not {array.shape}")
    if not np.issubdtype(array.dtype, np.integer) and (
        not np.issubdtype(array.dtype, np.floating) or not np.all(array == np.round(array))
    ):
        raise ModelInputError(f"{name} must hold integer codes, not {array.dtype} values")
    codes = array.astype(np.int64)
    _first_bad(name, (codes < 0) | (codes >= size), f"is outside 0..{size - 1}")
    return codes


def _first_bad(name: str, bad: Any, message: str) -> None:
    where = np.flatnonzero(bad)
    if where.size:
        raise ModelInputError(f"{name} at row {int(where[0])} {message} ({where.size} such rows)")


def _check_action_dist(action_dist: FloatArray) -> None:
    # A policy that ignores the round (Thompson sampling) is one row broadcast: check that row.
    if action_dist.strides[0] == 0:
        action_dist = action_dist[:1]
    # Two passes over the array: a NaN or an infinity anywhere shows in its sums (einsum sums
    # the middle axis several times faster than ``sum(axis=1)``).
    sums = np.einsum("iak->ik", action_dist)
    if not np.isfinite(sums).all() or action_dist.min() < 0:
        raise ModelInputError("action_dist must hold probabilities (finite, not negative)")
    bad = np.argwhere(np.abs(sums - 1) > _PROBABILITY_SLACK)
    if bad.size:
        row, position = (int(v) for v in bad[0])
        raise ModelInputError(
            f"action_dist[{row}, :, {position}] sums to {sums[row, position]:.6g}, not 1: each "
            "row and position must be a distribution over the actions"
        )


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ModelInputError(f"confidence must be in (0, 1), not {confidence}")
