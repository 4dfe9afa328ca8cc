"""Paid media and content: what the market runs on its own at the close of each day.

Each budget setting keeps its own adstock pool. Saturation acts on a channel's adstock as a whole,
and each pool's share of the day's conversions is credited to the action that bought it, with
its offer and angle, so a budget set to zero after a burst is not credited with the burst's
carry-over. A content piece converts a little every day of its life.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.outcome import Outcome, OutcomeKind
from mios.domain.proposal import ActionKind
from mios.errors import MarketError
from mios.sim.draws import order_value_draws
from mios.sim.events import Emitter
from mios.sim.truth import CHANNEL_INDEX, DAY_STREAM, GroundTruth

EmitterFactory = Callable[[str | None, ChannelName | None, dict[str, Any]], Emitter]
MAX_MULTIPLIER = 10.0
#: An old ad pool this small against the channel's half saturation no longer buys anything.
SPENT_POOL = 1e-9


@dataclass
class AdPool:
    """Adstock bought by one budget setting; its conversions are credited to that action."""

    action_id: str
    serial: int
    offer: int
    angle: int | None
    daily_spend: float
    adstock: float = 0.0


@dataclass(frozen=True)
class Piece:
    action_id: str
    serial: int
    last_day: int
    offer: int
    angle: int | None


class MediaDesk:
    def __init__(self, truth: GroundTruth) -> None:
        self._truth = truth
        self._pools: dict[ChannelName, list[AdPool]] = {c: [] for c in truth.media}
        self._current: dict[ChannelName, AdPool] = {}
        self._pieces: list[Piece] = []

    def setting(self, action: Action, channel: ChannelName) -> tuple[float, int, int | None]:
        """The daily spend, offer and angle a budget action asks for (``MarketError`` if it
        cannot be carried out); nothing changes until ``place``."""
        truth = self._truth
        current = self._current.get(channel)
        if action.kind is ActionKind.SET_BUDGET:
            assert action.spend is not None  # the domain requires spend on set_budget
            spend = float(action.spend.amount)
        else:
            multiplier = action.parameters.get("multiplier")
            if (
                isinstance(multiplier, bool)
                or not isinstance(multiplier, int | float)
                or not 0 <= multiplier <= MAX_MULTIPLIER
            ):
                raise MarketError(
                    f"action {action.id}: adjust_bid needs parameters.multiplier from 0 to "
                    f"{MAX_MULTIPLIER:g}"
                )
            if current is None:
                raise MarketError(f"action {action.id}: no budget is set on {channel} to adjust")
            spend = current.daily_spend * float(multiplier)
        content = action.content
        if content is not None:
            return spend, truth.offer_index(content.offer_id), truth.angle_index(content.angle)
        if current is not None:
            return spend, current.offer, current.angle
        return spend, 0, None

    def place(self, channel: ChannelName, pool: AdPool) -> None:
        self._current[channel] = pool
        self._pools[channel].append(pool)

    def publish(self, piece: Piece) -> None:
        self._pieces.append(piece)

    def close_day(self, day: int, emitter: EmitterFactory) -> list[Outcome]:
        return [*self._run_media(day, emitter), *self._run_content(day, emitter)]

    def _run_media(self, day: int, emitter: EmitterFactory) -> list[Outcome]:
        truth = self._truth
        outcomes: list[Outcome] = []
        for channel, curve in truth.media.items():
            current = self._current.get(channel)
            spend = 0.0
            if current is not None and not truth.outage(channel, day):
                spend = min(current.daily_spend, curve.max_spend_per_day)
            pools = self._pools[channel]
            for pool in pools:
                pool.adstock = curve.adstock_decay * pool.adstock
            if current is not None:
                current.adstock += spend
            total = sum(p.adstock for p in pools)
            # Saturation acts on all the channel's adstock together; each setting's conversions
            # are its share of the whole, with its own offer and angle.
            base = 0.0
            if total > 0:
                base = (
                    float(curve.conversions(total)) * truth.demand(day) * truth.noise(day, channel)
                )
            if current is not None and spend > 0:
                clicks_rng = np.random.default_rng(
                    [truth.seed, DAY_STREAM, day, CHANNEL_INDEX[channel]]
                )
                clicks = int(clicks_rng.poisson(spend / curve.cost_per_click))
                emit = emitter(current.action_id, channel, {})
                emit.money(OutcomeKind.SPEND, spend)
                emit.count(
                    OutcomeKind.CLICK,
                    clicks,
                    attributes={"impressions": round(clicks / curve.click_through_rate)},
                )
                outcomes.extend(emit.outcomes)
            for pool in pools:
                if pool.adstock <= 0:
                    continue
                rng = np.random.default_rng([truth.seed, DAY_STREAM, day, 100, pool.serial])
                mean = base * pool.adstock / total * truth.broad_response(pool.offer, pool.angle)
                conversions = int(rng.poisson(mean))
                revenue = truth.broad_order_value(pool.offer) * float(
                    order_value_draws(rng, conversions).sum()
                )
                emit = emitter(pool.action_id, channel, {})
                emit.count(
                    OutcomeKind.CONVERSION,
                    conversions,
                    revenue,
                    {"offer": truth.scenario.offers[pool.offer].id},
                )
                outcomes.extend(emit.outcomes)
            floor = SPENT_POOL * curve.half_saturation
            self._pools[channel] = [p for p in pools if p is current or p.adstock > floor]
        return outcomes

    def _run_content(self, day: int, emitter: EmitterFactory) -> list[Outcome]:
        truth = self._truth
        content = truth.content
        if content is None:
            return []
        self._pieces = [p for p in self._pieces if p.last_day >= day]
        outcomes: list[Outcome] = []
        for piece in self._pieces:
            rng = np.random.default_rng([truth.seed, DAY_STREAM, day, 200, piece.serial])
            mean = (
                content.reach_per_day
                * content.conversion_rate
                * truth.broad_response(piece.offer, piece.angle)
                * truth.demand(day)
                * truth.noise(day, ChannelName.CONTENT)
            )
            conversions = int(rng.poisson(mean))
            revenue = truth.broad_order_value(piece.offer) * float(
                order_value_draws(rng, conversions).sum()
            )
            emit = emitter(piece.action_id, ChannelName.CONTENT, {})
            emit.count(
                OutcomeKind.CONVERSION,
                conversions,
                revenue,
                {"offer": truth.scenario.offers[piece.offer].id},
            )
            outcomes.extend(emit.outcomes)
        return outcomes
