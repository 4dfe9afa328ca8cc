"""Steady-state media response curves: what a channel returns per period for a steady spend.

With normalised adstock a steady spend ``s`` per period carries over to exactly ``s``, so the
expected outcome per period is ``effect * s**n / (s**n + K**n)``. The curves carry the bootstrap
draws of their parameters so an allocation can say how sure its expected outcome is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mios.errors import ModelInputError
from mios.types import FloatArray


def _hill(spend: FloatArray, half: FloatArray, shape: FloatArray) -> FloatArray:
    ratio = np.maximum(spend, 0.0) / half
    u = ratio**shape
    return np.asarray(u / (1.0 + u), dtype=np.float64)


@dataclass(frozen=True)
class ResponseCurves:
    """One Hill curve per channel, in outcome per period against spend per period.

    ``effect``, ``half_saturation`` and ``shape`` are (C,); the ``*_draws`` are (B, C), one row
    per bootstrap fit (B may be 0).
    """

    channels: tuple[str, ...]
    effect: FloatArray
    half_saturation: FloatArray
    shape: FloatArray
    effect_draws: FloatArray
    half_saturation_draws: FloatArray
    shape_draws: FloatArray

    def __post_init__(self) -> None:
        c = len(self.channels)
        for name in ("effect", "half_saturation", "shape"):
            if np.shape(getattr(self, name)) != (c,):
                raise ModelInputError(f"response curves: {name} must hold one value per channel")
        draws = np.shape(self.effect_draws)
        if len(draws) != 2 or draws[1] != c:
            raise ModelInputError("response curves: the draws must be (draws, channels)")
        if np.any(self.half_saturation <= 0) or np.any(self.shape <= 0):
            raise ModelInputError("response curves: half saturation and shape must be positive")

    def outcome(self, spend: FloatArray) -> FloatArray:
        """Expected outcome per period (..., C) for spend per period (..., C)."""
        return self.effect * _hill(
            np.asarray(spend, dtype=np.float64), self.half_saturation, self.shape
        )

    def marginal(self, spend: FloatArray) -> FloatArray:
        """The derivative of ``outcome`` in spend, the marginal return on ad spend (..., C)."""
        s = np.maximum(np.asarray(spend, dtype=np.float64), 1e-12 * self.half_saturation)
        u = (s / self.half_saturation) ** self.shape
        return np.asarray(self.effect * self.shape * u / (s * (1.0 + u) ** 2), dtype=np.float64)

    def outcome_draws(self, spend: FloatArray) -> FloatArray:
        """Expected outcome per period (B, C) under each bootstrap draw, for spend (C,)."""
        s = np.asarray(spend, dtype=np.float64)[None, :]
        return np.asarray(
            self.effect_draws * _hill(s, self.half_saturation_draws, self.shape_draws),
            dtype=np.float64,
        )

    @property
    def draws(self) -> int:
        return int(self.effect_draws.shape[0])
