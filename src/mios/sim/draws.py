"""Random draws the market shares: order values with mean 1, and stable per-customer uniforms."""

from __future__ import annotations

import numpy as np

from mios.sim.truth import HOLDOUT_STREAM
from mios.types import FloatArray, IntArray

ORDER_VALUE_SD = 0.3  # spread of one order's value around its average (log-normal)


def order_value_draws(rng: np.random.Generator, n: int) -> FloatArray:
    """``n`` order-value multipliers with mean 1."""
    sd = ORDER_VALUE_SD
    return np.asarray(np.exp(sd * rng.standard_normal(n) - 0.5 * sd * sd), dtype=np.float64)


def hash_uniform(positions: IntArray, seed: int, key: str) -> FloatArray:
    """A uniform number per customer, fixed by seed and key: the same customers stay in one
    experiment's holdout on every day it runs, whatever else the audience holds."""
    salt = np.random.default_rng([seed, HOLDOUT_STREAM, *key.encode()]).integers(
        0, 2**63, dtype=np.uint64
    )
    x = positions.astype(np.uint64) ^ salt
    # splitmix64 finalizer: a fast, well-mixed hash of each position.
    with np.errstate(over="ignore"):
        x = (x + np.uint64(0x9E3779B97F4A7C15)) & np.uint64(0xFFFFFFFFFFFFFFFF)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return np.asarray((x >> np.uint64(11)).astype(np.float64) / float(2**53), dtype=np.float64)
