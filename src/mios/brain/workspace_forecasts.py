"""The brain's forecasts for agents, read from a workspace's weekly channel history.

``HistoryForecasts`` answers the four questions of the agents' ``Forecasts`` protocol (it matches
it by structure; the brain never imports the agents), each as an ``Estimate`` with a 90%
interval, or ``None`` where the history has nothing to go on (never NaN):

- ``response_rate(segment, channel, offer, angle)``: conversions per message. Each channel with
  history gets a ``ResponseModel`` fitted on its conversions out of impressions, one row per
  week, each week a cell of its own, so the spread of the cell level is measured (how much the
  rate moves from week to week beyond chance) rather than assumed; the offer level, which the
  history cannot measure, is given the same strength. A segment or an angle is a cell the
  history never saw: it gets the channel's rate with the cell level's spread; naming an offer
  adds the offer level's. (One model for every channel would share one
  intra-class correlation, which is a relative spread 8x larger for display's 0.005% than for
  email's 0.3%.) A channel without history borrows from all channels (a model of the channels'
  rates); without any history every cell is Beta(1, 99), as in ``nba_workspace``. Cells that
  earlier cycles measured (``measured``: a segment, channel, offer and angle with its messages,
  conversions and revenue) join their channel's model as rows of their own, at the spread the
  weeks gave: a cell sent before is forecast from what it did, one never sent borrows from its
  channel and offer, and its interval stays as wide as that uncertainty.
- ``order_value(channel, offer)``: the channel's revenue per conversion (the value posterior of
  the same model). For an offer the workspace authors, the mean is the offer's average order value
  and the interval that of an offer the history never saw, scaled to it.
- ``roas(channel)``: revenue over spend in the last ``recent_weeks`` weeks, with a circular
  block bootstrap over those weeks (seeded). ``None`` without spend or with fewer than two weeks.
- ``marginal_roas(channel)``: the slope of the channel's media response curve at its mean weekly
  spend of the recent weeks, with the interval of the curve's bootstrap refits. One
  ``MediaMixModel`` per channel, fitted on the channel's own revenue against its own spend.
  (A joint model of total revenue against every channel's spend could not tell channels apart
  on the example history, whose budgets all follow one season: it ranked display, the weakest
  channel, first.) ``None`` with fewer than ``min_curve_weeks`` weeks, spend that does not vary,
  or a fit the model refuses. Fitted on first use per channel, then cached.

Everything else is fitted once in ``from_history``; answers are cached, and the object is safe to
share between agents running in threads.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from scipy import stats

from mios.brain.mmm import MediaMixModel
from mios.brain.response import ResponseModel
from mios.domain.channel import ChannelName
from mios.domain.history import ChannelHistory, ChannelWeek
from mios.domain.workspace import Workspace
from mios.errors import DomainError, ModelInputError, NotFittedError
from mios.types import FloatArray, IntArray

ANY = "*"
#: What a cycle's measurement leaves unnamed in a cell (an offer or angle a message lacked).
UNNAMED = "-"
_FLAT_PRIOR = (1.0, 99.0)
_WEEK = timedelta(days=7)


@dataclass(frozen=True)
class MeasuredCell:
    """What earlier cycles measured for one cell: messages, conversions, their revenue."""

    segment: str
    channel: str
    offer: str
    angle: str
    trials: int
    successes: int
    revenue: float = 0.0

    @property
    def key(self) -> tuple[str, str, str, str]:
        """The cell as the model names it: what a message left unnamed is ``ANY``."""
        return (
            self.segment,
            self.channel,
            ANY if self.offer == UNNAMED else self.offer,
            ANY if self.angle == UNNAMED else self.angle,
        )


@dataclass(frozen=True)
class Estimate:
    """A forecast value with its central interval (``low <= mean <= high``, all finite)."""

    mean: float
    low: float
    high: float

    def __post_init__(self) -> None:
        if not all(math.isfinite(x) for x in (self.mean, self.low, self.high)):
            raise DomainError(f"estimate {self.mean} [{self.low}, {self.high}] is not finite")
        if not self.low <= self.mean <= self.high:
            raise DomainError(f"estimate {self.mean} lies outside [{self.low}, {self.high}]")

    @classmethod
    def around(cls, mean: float, low: float, high: float) -> Estimate | None:
        """The estimate, its interval widened to reach the mean; ``None`` if anything is NaN."""
        if not all(math.isfinite(x) for x in (mean, low, high)):
            return None
        return cls(float(mean), float(min(low, mean)), float(max(high, mean)))


class HistoryForecasts:
    """Response rates, order values, ROAS and marginal ROAS from a workspace's channel history.

    Parameters: ``seed`` for every bootstrap; ``recent_weeks`` the window ROAS and the spend of
    the marginal ROAS are measured over; ``min_curve_weeks`` the least weeks a response curve is
    fitted on; ``interval`` the central probability of every interval; ``bootstrap_draws`` the
    resamples of the ROAS bootstrap; ``curve_refits`` the bootstrap refits of each curve;
    ``measured`` the cells earlier cycles measured.
    """

    def __init__(
        self,
        workspace: Workspace,
        history: ChannelHistory,
        *,
        seed: int = 0,
        recent_weeks: int = 13,
        min_curve_weeks: int = 26,
        interval: float = 0.9,
        bootstrap_draws: int = 1000,
        curve_refits: int = 50,
        measured: Sequence[MeasuredCell] = (),
    ) -> None:
        if not 0.0 < interval < 1.0:
            raise ModelInputError(f"interval must be in (0, 1), got {interval}")
        if recent_weeks < 1 or min_curve_weeks < 1 or bootstrap_draws < 1 or curve_refits < 0:
            raise ModelInputError(
                "recent_weeks, min_curve_weeks and bootstrap_draws must be >= 1, curve_refits >= 0"
            )
        self.workspace = workspace
        self.history = history
        self.seed = seed
        self.recent_weeks = recent_weeks
        self.min_curve_weeks = min_curve_weeks
        self.interval = interval
        self.bootstrap_draws = bootstrap_draws
        self.curve_refits = curve_refits
        self.measured = tuple(measured)
        self._lock = threading.Lock()
        self._rates: dict[tuple[str, str, str, str], Estimate] = {}
        self._marginal: dict[ChannelName, Estimate | None] = {}

    @classmethod
    def from_history(
        cls,
        workspace: Workspace,
        history: ChannelHistory,
        *,
        seed: int = 0,
        measured: Sequence[MeasuredCell] = (),
    ) -> HistoryForecasts:
        """Fit the response model and every channel's ROAS on ``history`` (and the cells
        earlier cycles ``measured``)."""
        return cls(workspace, history, seed=seed, measured=measured).fit()

    def fit(self) -> HistoryForecasts:
        rows = [w for w in self.history.weeks if w.impressions > 0]
        self.models_: dict[ChannelName, ResponseModel] = {}
        self.pooled_: ResponseModel | None = None
        if rows:
            self.pooled_ = self._response(
                [((ANY, w.channel.value, ANY, ANY), *_counts(w)) for w in rows]
            )
        cells = [c for c in self.measured if c.trials > 0]
        for channel in self.history.channels:
            own = [
                ((f"week {w.week}", w.channel.value, ANY, ANY), *_counts(w))
                for w in rows
                if w.channel == channel
            ]
            if own:
                # First fit: the week-to-week spread; the offer level is given its strength.
                first = self._response(own)
                sent = [
                    (c.key, c.trials, min(c.successes, c.trials), c.revenue)
                    for c in cells
                    if c.channel == channel.value
                ]
                self.models_[channel] = self._response(own + sent, first.prior_strength_[-1])
        self.has_values_ = any(w.conversions > 0 and w.revenue.amount > 0 for w in rows)
        span = self.history.span
        self.last_week_: date | None = None if span is None else span[1]
        self.roas_ = {channel: self._roas(channel) for channel in self.history.channels}
        return self

    # -- the Forecasts protocol -----------------------------------------------------------------

    def response_rate(
        self, segment: str, channel: ChannelName, offer: str | None, angle: str | None
    ) -> Estimate:
        """Conversions per message for one (segment, channel, offer, angle)."""
        cell = (segment, channel.value, offer or ANY, angle or ANY)
        found = self._rates.get(cell)
        if found is not None:
            return found
        model, query = self._model_for(channel, cell)
        if model is None:
            a, b = _FLAT_PRIOR
        else:
            alpha, beta = model.posterior([query])
            a, b = float(alpha[0]), float(beta[0])
        tail = (1.0 - self.interval) / 2.0
        low, high = np.asarray(stats.beta.ppf([tail, 1.0 - tail], a, b), dtype=np.float64)
        mean = a / (a + b)
        estimate = Estimate(mean, min(float(low), mean), max(float(high), mean))
        self._rates[cell] = estimate
        return estimate

    def order_value(self, channel: ChannelName, offer: str | None) -> Estimate | None:
        """The value of one conversion on ``channel`` (of ``offer``), in the workspace currency."""
        model, query = self._model_for(channel, (ANY, channel.value, offer or ANY, ANY))
        if model is None or not self.has_values_:
            return None
        try:
            value = model.predict_value([query])
        except ModelInputError:  # the channel has conversions but no revenue recorded
            return None
        mean, low, high = float(value.mean[0]), float(value.low[0]), float(value.high[0])
        authored = next((o for o in self.workspace.offers if o.id == offer), None)
        if authored is not None and mean > 0:
            aov = float(authored.average_order_value.amount)
            return Estimate.around(aov, aov * low / mean, aov * high / mean)
        return Estimate.around(mean, low, high)

    def roas(self, channel: ChannelName) -> Estimate | None:
        """Revenue per unit of spend of ``channel`` over the recent weeks."""
        self._check_fitted()
        return self.roas_.get(channel)

    def marginal_roas(self, channel: ChannelName) -> Estimate | None:
        """Revenue of the next unit of spend on ``channel`` at its recent weekly spend."""
        self._check_fitted()
        with self._lock:
            if channel not in self._marginal:
                self._marginal[channel] = self._fit_curve(channel)
            return self._marginal[channel]

    # -- internals ------------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "roas_"):
            raise NotFittedError("these HistoryForecasts are not fitted yet; call fit() first")

    def _response(
        self, rows: list[tuple[tuple[str, str, str, str], int, int, float]], strength: float = 50.0
    ) -> ResponseModel:
        """A model of ``rows``: (cell, messages, conversions, their revenue)."""
        values = [value if conversions > 0 else 0.0 for _, _, conversions, value in rows]
        return ResponseModel(
            interval=self.interval,
            prior_strength=float(np.clip(strength, 1.0, 1e5)),
        ).fit(
            [cell for cell, *_ in rows],
            [trials for _, trials, _, _ in rows],
            [conversions for _, _, conversions, _ in rows],
            values if any(v > 0 for v in values) else None,
        )

    def _model_for(
        self, channel: ChannelName, cell: tuple[str, str, str, str]
    ) -> tuple[ResponseModel | None, tuple[str, str, str, str]]:
        """The model that answers for ``channel``, and the cell to ask it."""
        self._check_fitted()
        own = self.models_.get(channel)
        if own is None:
            return self.pooled_, (ANY, channel.value, ANY, ANY)
        return own, cell

    def _recent(self, channel: ChannelName) -> tuple[ChannelWeek, ...]:
        if self.last_week_ is None:
            return ()
        first = self.last_week_ - _WEEK * (self.recent_weeks - 1)
        return tuple(w for w in self.history.for_channel(channel) if w.week >= first)

    def _roas(self, channel: ChannelName) -> Estimate | None:
        weeks = self._recent(channel)
        spend = np.asarray([float(w.spend.amount) for w in weeks], dtype=np.float64)
        revenue = np.asarray([float(w.revenue.amount) for w in weeks], dtype=np.float64)
        if len(weeks) < 2 or not spend.sum() > 0:
            return None
        point = float(revenue.sum() / spend.sum())
        rng = np.random.default_rng(_stream(self.seed, "roas", channel.value))
        rows = _block_rows(len(weeks), self.bootstrap_draws, rng)
        spent = spend[rows].sum(axis=1)
        ratios = revenue[rows].sum(axis=1)[spent > 0] / spent[spent > 0]
        if not len(ratios):
            return None
        tail = 50.0 * (1.0 - self.interval)
        low, high = np.percentile(ratios, [tail, 100.0 - tail])
        return Estimate.around(point, float(low), float(high))

    def _fit_curve(self, channel: ChannelName) -> Estimate | None:
        own = {w.week: w for w in self.history.for_channel(channel)}
        recent = self._recent(channel)
        if len(own) < self.min_curve_weeks or not recent:
            return None
        first, last = min(own), max(own)
        days = np.arange(0, (last - first).days + 1, 7)
        grid = [first + timedelta(days=int(d)) for d in days]
        spend = np.asarray([_amount(own, w, "spend") for w in grid], dtype=np.float64)
        revenue = np.asarray([_amount(own, w, "revenue") for w in grid], dtype=np.float64)
        at = float(np.mean([float(w.spend.amount) for w in recent]))
        if not (np.ptp(spend) > 0 and np.ptp(revenue) > 0 and at > 0):
            return None
        model = MediaMixModel(
            n_bootstrap=self.curve_refits,
            interval=self.interval,
            random_state=_stream(self.seed, "curve", channel.value),
        )
        try:
            model.fit(
                spend[:, None],
                revenue,
                dates=np.asarray(grid, dtype="datetime64[D]"),
                channel_names=[channel.value],
            )
        except ModelInputError:
            return None
        curves = model.response_curves()
        point = float(curves.marginal(np.asarray([at]))[0])
        if curves.draws == 0:
            return Estimate.around(point, point, point)
        draws = _marginal(
            at,
            curves.effect_draws[:, 0],
            curves.half_saturation_draws[:, 0],
            curves.shape_draws[:, 0],
        )
        draws = draws[np.isfinite(draws)]
        if not len(draws):
            return None
        tail = 50.0 * (1.0 - self.interval)
        low, high = np.percentile(draws, [tail, 100.0 - tail])
        return Estimate.around(point, float(low), float(high))


def _counts(week: ChannelWeek) -> tuple[int, int, float]:
    """A week of history as a model row's counts: impressions, conversions, revenue."""
    return week.impressions, min(week.conversions, week.impressions), float(week.revenue.amount)


def _amount(weeks: dict[date, ChannelWeek], week: date, what: str) -> float:
    """Spend or revenue of a week; a week missing from the history spent and earned nothing."""
    found = weeks.get(week)
    if found is None:
        return 0.0
    return float((found.spend if what == "spend" else found.revenue).amount)


def _marginal(spend: float, effect: FloatArray, half: FloatArray, shape: FloatArray) -> FloatArray:
    """The slope of ``effect * s^n / (s^n + K^n)`` at ``spend``, one per set of parameters."""
    u = (spend / half) ** shape
    return np.asarray(effect * shape * u / (spend * (1.0 + u) ** 2), dtype=np.float64)


def _block_rows(n: int, draws: int, rng: np.random.Generator) -> IntArray:
    """``(draws, n)`` row indices of a circular block bootstrap (blocks of ``n^(1/3)``)."""
    block = max(1, round(n ** (1.0 / 3.0)))
    blocks = -(-n // block)
    starts = rng.integers(0, n, size=(draws, blocks))
    rows = (starts[:, :, None] + np.arange(block)[None, None, :]) % n
    return np.asarray(rows.reshape(draws, -1)[:, :n], dtype=np.int64)


def _stream(seed: int, *parts: str) -> int:
    """A seed of its own per purpose and channel, so the order of questions changes nothing."""
    digest = hashlib.sha256(":".join((str(seed), *parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")
