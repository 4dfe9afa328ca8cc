"""Weekly channel history as arrays, and the few statistics the read-stage agents share.

series = series_by_channel(ctx.history, before=ctx.now.date())
email = series[ChannelName.EMAIL]
email.revenue[-4:].sum(), email.label(-4, None)    # the last four weeks and their span
robust_z(email.revenue[-1], email.revenue[-14:-1])  # how far the last week is from its past
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from mios.domain.channel import ChannelName
from mios.domain.history import ChannelHistory
from mios.types import FloatArray

#: Scales the median absolute deviation to a standard deviation for normal data (1 / 1.4826),
#: the constant of Iglewicz and Hoaglin's modified z-score.
MAD_SCALE = 0.6745
#: The same for the mean absolute deviation, used when more than half the values are equal.
MEAN_AD_SCALE = 1.253314
WEEKS_PER_YEAR = 52


@dataclass(frozen=True, eq=False)
class ChannelSeries:
    """One channel's weeks in order; every array has one value per week."""

    channel: ChannelName
    weeks: tuple[date, ...]
    spend: FloatArray
    impressions: FloatArray
    clicks: FloatArray
    conversions: FloatArray
    revenue: FloatArray

    def __len__(self) -> int:
        return len(self.weeks)

    def label(self, start: int, stop: int | None) -> str:
        """``history:<channel>:<first week>..<last week>`` for the slice ``[start:stop]``."""
        span = self.weeks[start:stop]
        if not span:
            return f"history:{self.channel}:none"
        return f"history:{self.channel}:{span[0].isoformat()}..{span[-1].isoformat()}"

    def total(self, metric: str, start: int, stop: int | None) -> float:
        values: FloatArray = getattr(self, metric)
        return float(values[start:stop].sum())


def series_by_channel(
    history: ChannelHistory, before: date | None = None
) -> dict[ChannelName, ChannelSeries]:
    """Each channel's weeks, oldest first; weeks starting on or after ``before`` are left out
    (a snapshot may hold a week still in progress)."""
    out: dict[ChannelName, ChannelSeries] = {}
    for channel in history.channels:
        weeks = sorted(
            (w for w in history.for_channel(channel) if before is None or w.week < before),
            key=lambda w: w.week,
        )
        if not weeks:
            continue
        out[channel] = ChannelSeries(
            channel=channel,
            weeks=tuple(w.week for w in weeks),
            spend=np.asarray([float(w.spend.amount) for w in weeks], dtype=np.float64),
            impressions=np.asarray([w.impressions for w in weeks], dtype=np.float64),
            clicks=np.asarray([w.clicks for w in weeks], dtype=np.float64),
            conversions=np.asarray([w.conversions for w in weeks], dtype=np.float64),
            revenue=np.asarray([float(w.revenue.amount) for w in weeks], dtype=np.float64),
        )
    return out


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def change(now: float, before: float) -> float | None:
    """Relative change from ``before`` to ``now`` (0.18 is +18%); ``None`` from nothing."""
    return now / before - 1.0 if before > 0 else None


def robust_z(value: float, reference: FloatArray) -> float | None:
    """The modified z-score of ``value`` against ``reference``: ``0.6745 (x - median) / MAD``.

    When the MAD is zero (more than half the values equal) the mean absolute deviation stands
    in for it; when that is zero too, nothing varies and the score is undefined (``None``).
    """
    if len(reference) < 3:
        return None
    median = float(np.median(reference))
    mad = float(np.median(np.abs(reference - median)))
    if mad > 0:
        return MAD_SCALE * (value - median) / mad
    mean_ad = float(np.mean(np.abs(reference - median)))
    if mean_ad > 0:
        return (value - median) / (MEAN_AD_SCALE * mean_ad)
    return None


def percent(value: float) -> str:
    """``+18%`` / ``-7%``: a change as people read it."""
    return f"{value:+.0%}"
