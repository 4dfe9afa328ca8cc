"""Sample size and duration of a two-arm test on a conversion rate.

    n = sample_size_per_arm(baseline=0.02, relative_lift=0.10)      # alpha 0.05, power 0.8

The normal-approximation formula for two proportions (two-sided test):

    n = (z_(1-alpha/2) * sqrt(2 p (1 - p)) + z_(1-beta) * sqrt(p1 (1 - p1) + p2 (1 - p2)))^2
        / (p2 - p1)^2,        p1 = baseline, p2 = baseline * (1 + lift), p = (p1 + p2) / 2

rounded up to a whole unit. ``duration_days`` spreads ``arms * n`` units, plus the holdout,
over the channel's weekly volume.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from mios.errors import DomainError

ALPHA = 0.05
POWER = 0.8


def sample_size_per_arm(
    baseline: float, relative_lift: float, *, alpha: float = ALPHA, power: float = POWER
) -> int:
    p1 = baseline
    p2 = baseline * (1.0 + relative_lift)
    if not (0.0 < p1 < 1.0 and 0.0 < p2 < 1.0) or p1 == p2:
        raise DomainError(f"rates {p1} and {p2} must differ and lie strictly between 0 and 1")
    normal = NormalDist()
    z_alpha = normal.inv_cdf(1.0 - alpha / 2.0)
    z_beta = normal.inv_cdf(power)
    pooled = (p1 + p2) / 2.0
    numerator = (
        z_alpha * math.sqrt(2.0 * pooled * (1.0 - pooled))
        + z_beta * math.sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2))
    ) ** 2
    return math.ceil(numerator / (p2 - p1) ** 2)


def duration_days(per_arm: int, arms: int, holdout: float, weekly_volume: float) -> int | None:
    """Days until every arm has ``per_arm`` units when ``holdout`` of the volume is held out;
    ``None`` when the channel has no volume."""
    if weekly_volume <= 0 or not 0.0 <= holdout < 1.0:
        return None
    needed = per_arm * arms / (1.0 - holdout)
    return max(1, math.ceil(needed / weekly_volume * 7.0))
