"""What a next-best-action decision is expected to bring: responses and value net of cost, each
with a central interval that carries the posteriors' uncertainty and the chance of responding.

Customers given one candidate in one segment share one response rate, so their responses are
drawn together: per draw, a rate from the cell's Beta posterior, then Binomial(customers, rate)
responses, each worth the cell's value per response (times the customers' mean value
multiplier). Context weights and levers steer arbitration only; they are not value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mios.brain.nba import NbaDecision, NextBestAction
from mios.brain.nba_inputs import Audience
from mios.errors import ModelInputError
from mios.types import FloatArray


@dataclass(frozen=True)
class PlanValue:
    """Totals with their ``interval`` bounds; ``per_candidate_*`` are (C,) expected means."""

    interval: float
    responses: float
    responses_low: float
    responses_high: float
    value: float  # expected value of the responses minus the cost of the contacts
    value_low: float
    value_high: float
    cost: float
    per_candidate_responses: FloatArray
    per_candidate_value: FloatArray  # value of the responses, before cost


def plan_value(
    engine: NextBestAction,
    decision: NbaDecision,
    audience: Audience,
    *,
    interval: float = 0.9,
    draws: int = 2000,
    seed: int = 0,
) -> PlanValue:
    if not 0.0 < interval < 1.0:
        raise ModelInputError(f"interval must be in (0, 1), got {interval}")
    if draws < 1:
        raise ModelInputError(f"draws must be >= 1, got {draws}")
    if len(decision.action) != len(audience):
        raise ModelInputError("the decision and the audience have different customers")
    count = engine.alpha_.shape[1]
    chosen = np.flatnonzero(decision.action >= 0)
    cell = audience.segment[chosen] * count + decision.action[chosen]
    cells, where = np.unique(cell, return_inverse=True)
    n = np.bincount(where, minlength=len(cells)).astype(np.float64)
    multiplier = (
        np.ones(len(chosen))
        if audience.value_multiplier is None
        else audience.value_multiplier[chosen]
    )
    mass = np.bincount(where, weights=multiplier, minlength=len(cells))
    s, c = cells // count, cells % count
    a, b = engine.alpha_[s, c], engine.beta_[s, c]
    per_response = engine.values_[s, c] * mass / np.maximum(n, 1.0)
    mean_rate = a / (a + b)
    cost = float(np.sum(engine.cost_[decision.action[chosen]]))

    rng = np.random.default_rng(seed)
    rates = rng.beta(a, b, size=(draws, len(cells)))
    responses = rng.binomial(n.astype(np.int64), rates)
    total_responses = responses.sum(axis=1)
    total_value = (responses * per_response).sum(axis=1) - cost
    tail = (1.0 - interval) / 2.0
    r_low, r_high = np.quantile(total_responses, [tail, 1.0 - tail])
    v_low, v_high = np.quantile(total_value, [tail, 1.0 - tail])
    responses_mean = float(np.sum(n * mean_rate))
    value_mean = float(np.sum(n * mean_rate * per_response)) - cost
    # A rare, valuable response can leave the mean outside the central interval (nearly every
    # draw 0, a few large); the interval is widened to hold it, as every brain interval does.
    return PlanValue(
        interval=interval,
        responses=responses_mean,
        responses_low=min(float(r_low), responses_mean),
        responses_high=max(float(r_high), responses_mean),
        value=value_mean,
        value_low=min(float(v_low), value_mean),
        value_high=max(float(v_high), value_mean),
        cost=cost,
        per_candidate_responses=np.bincount(c, weights=n * mean_rate, minlength=count).astype(
            np.float64
        ),
        per_candidate_value=np.bincount(
            c, weights=n * mean_rate * per_response, minlength=count
        ).astype(np.float64),
    )
