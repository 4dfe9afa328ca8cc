"""What a fitted media mix model says, with an interval on every figure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mios.types import FloatArray


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its interval (``low``, ``high``) at the model's interval level."""

    value: float
    low: float
    high: float

    @classmethod
    def of(cls, value: float, draws: FloatArray, level: float) -> Estimate:
        """The point ``value`` with the central ``level`` percentile interval of ``draws``; with
        no draws the interval is the point itself.

        The interval is widened to reach the point when the draws lie to one side of it, as the
        bootstrap draws of a weakly identified parameter do when each refit is pulled toward
        its prior again: an interval that excludes its own estimate would only confuse.
        """
        if draws.size == 0:
            return cls(float(value), float(value), float(value))
        tail = 50.0 * (1.0 - level)
        low, high = np.percentile(draws, [tail, 100.0 - tail])
        return cls(float(value), float(min(low, value)), float(max(high, value)))

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class ChannelReport:
    """One paid channel: its return, its share of the outcome and its curve's parameters.

    ``roas`` is the outcome the channel drove per unit of spend over the history;
    ``contribution_share`` its driven outcome over the total observed outcome; ``decay`` the share
    of an effect carried to the next period; ``half_saturation`` the spend per period that buys
    half of ``effect``, the most the channel can drive in one period; ``shape`` the Hill exponent.
    """

    name: str
    spend: float
    contribution: Estimate
    roas: Estimate
    contribution_share: Estimate
    decay: Estimate
    half_saturation: Estimate
    shape: Estimate
    effect: Estimate

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "spend": self.spend,
            "contribution": self.contribution.as_dict(),
            "roas": self.roas.as_dict(),
            "contribution_share": self.contribution_share.as_dict(),
            "decay": self.decay.as_dict(),
            "half_saturation": self.half_saturation.as_dict(),
            "shape": self.shape.as_dict(),
            "effect": self.effect.as_dict(),
        }


@dataclass(frozen=True)
class FitReport:
    """Per channel estimates and the fit's quality (in-sample R^2 and MAPE)."""

    channels: tuple[ChannelReport, ...]
    periods: int
    r2: float
    mape: float | None  # None when the target has a zero (a percentage of zero is undefined)
    interval: float
    bootstrap_draws: int
    lift_tests: int
    converged: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "periods": self.periods,
            "r2": self.r2,
            "mape": self.mape,
            "interval": self.interval,
            "bootstrap_draws": self.bootstrap_draws,
            "lift_tests": self.lift_tests,
            "converged": self.converged,
            "message": self.message,
            "channels": [channel.as_dict() for channel in self.channels],
        }
