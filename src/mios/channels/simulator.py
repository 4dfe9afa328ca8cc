"""``SimulatorChannel``: the Channel port over the simulated market, one action at a time.

The market knows its scenario segments; a workspace names its own. Each workspace segment is
registered with the market as an audience of exactly the customers its rule selects, so an action
addressed to a workspace segment id reaches those customers and nobody else.

A workspace and the market do not speak quite the same language, so the channel translates
(the action it answers for, its receipt and its idempotency key stay as they were):

- **Angles.** Content whose angle is not one of the market's angles goes out with the angle
  ``angle_map`` maps it to (``{"durability": "quality"}``), else with no angle, and the market
  then applies none. A map onto an angle the market lacks is refused when the channel is built.
- **Budgets.** A ``set_budget``'s spend is the channel's budget for its budget period, as
  governance and the ledger read it. With the workspace's ``budgets`` given, it reaches the market
  as the daily spend: the amount divided by the days of the period holding the market's open day
  (7 for a weekly budget, 28 to 31 for a monthly one). A channel without a budget passes its spend
  through as the day's.
- **Bids.** ``adjust_bid`` passes ``parameters.multiplier`` through; with only
  ``bid_change_pct``, the multiplier is ``1 + bid_change_pct / 100``.
- **Ads.** ``publish_content`` on a paid channel puts new ads on the channel's running budget: the
  market gets a ``set_budget`` at the daily spend this channel last set there, carrying the ad's
  content, offer and angle. Before any ``set_budget`` ran there, that spend is zero: the ad is
  live and spends nothing until people approve a budget (an ad is not a decision to spend, and
  spending the workspace's budget on it would be spend nobody approved). A later
  ``set_budget`` without content of its own keeps the ad.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from mios.channels.port import Receipt, admit, replay
from mios.domain.action import Action
from mios.domain.budget import Budget
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.outcome import Outcome
from mios.domain.proposal import ActionKind
from mios.domain.segment import Segment
from mios.errors import ChannelError, ChannelUnavailable, MarketError
from mios.sim.market import Market
from mios.types import IntArray

_MICRO = Decimal("0.000001")  # the market keeps amounts to six decimals


class SimulatorChannel:
    """Serves every channel of ``market``; outcomes wait in ``take_outcomes()`` for measurement.

    A send's ``holdout_share`` is the market's to apply (its own seeded draw per customer, its
    holdout's purchases reported under the action with ``arm: holdout``); the receipt's
    ``held_out`` says how many it kept out."""

    def __init__(
        self,
        market: Market,
        segments: Iterable[Segment] = (),
        *,
        budgets: Iterable[Budget] = (),
        angle_map: Mapping[str, str] | None = None,
    ) -> None:
        self._market = market
        self._channels = frozenset(market.channel_names)
        self._receipts: dict[str, Receipt] = {}
        self._outcomes: list[Outcome] = []
        self._closed = False
        self._angles = frozenset(market.angle_ids)
        self._angle_map = dict(angle_map or {})
        unknown = sorted(a for a in self._angle_map.values() if a not in self._angles)
        if unknown:
            known = ", ".join(market.angle_ids)
            raise MarketError(
                f"angle_map maps onto angle {unknown[0]!r}, which the market lacks (it has {known})"
            )
        self._budgets = {b.channel: b for b in budgets}
        self._daily: dict[ChannelName, Decimal] = {}  # the daily spend last set per paid channel
        for name, positions in _audiences(market, segments).items():
            market.define_audience(name, positions)

    @property
    def channels(self) -> frozenset[ChannelName]:
        return self._channels

    def execute(self, action: Action) -> Receipt:
        channel = admit(action, self._channels, closed=self._closed)
        seen = replay(self._receipts, action)
        if seen is not None:
            return seen
        translated = self._for_market(action)
        execution = self._market.execute(translated)
        if execution.unavailable:
            raise ChannelUnavailable(f"action {action.id}: {execution.note}")
        self._remember_spend(translated)
        self._outcomes.extend(execution.outcomes)
        receipt = Receipt(
            action_id=action.id,
            idempotency_key=action.idempotency_key,
            channel=channel,
            accepted=execution.accepted,
            external_id=f"sim-d{execution.day}-{len(self._receipts) + 1}",
            note=execution.note or _unfunded(action, translated),
            held_out=execution.held_out,
        )
        self._receipts[action.idempotency_key] = receipt
        return receipt

    def _for_market(self, action: Action) -> Action:
        """``action`` as the market understands it (see the module docstring)."""
        changes: dict[str, Any] = {}
        content = action.content
        if content is not None and content.angle is not None and content.angle not in self._angles:
            changes["content"] = replace(content, angle=self._angle_map.get(content.angle))
        channel = action.channel
        if action.kind is ActionKind.SET_BUDGET and action.spend is not None:
            budget = self._budgets.get(channel) if channel is not None else None
            if budget is not None:
                amount = (action.spend.amount / self._period_days(budget)).quantize(_MICRO)
                changes["spend"] = Money(amount, action.spend.currency)
        elif action.kind is ActionKind.ADJUST_BID:
            parameters = action.parameters
            change = parameters.get("bid_change_pct")
            if (
                "multiplier" not in parameters
                and isinstance(change, int | float)
                and not isinstance(change, bool)
            ):
                changes["parameters"] = {**parameters, "multiplier": 1.0 + change / 100}
        elif (
            action.kind is ActionKind.PUBLISH_CONTENT
            and channel is not None
            and channel.is_paid_media
        ):
            changes["kind"] = ActionKind.SET_BUDGET
            changes["spend"] = Money(self._running_spend(channel), self._market.currency)
        return replace(action, **changes) if changes else action

    def _period_days(self, budget: Budget) -> int:
        start, end = budget.period.bounds(self._today())
        return (end - start).days

    def _today(self) -> date:
        return self._market.start + timedelta(days=self._market.day)

    def _running_spend(self, channel: ChannelName) -> Decimal:
        return self._daily.get(channel, Decimal(0))

    def _remember_spend(self, action: Action) -> None:
        channel = action.channel
        if channel is None or not channel.is_paid_media:
            return
        if action.kind is ActionKind.SET_BUDGET and action.spend is not None:
            self._daily[channel] = action.spend.amount
        elif action.kind is ActionKind.ADJUST_BID and channel in self._daily:
            multiplier = Decimal(str(action.parameters["multiplier"]))
            self._daily[channel] = (self._daily[channel] * multiplier).quantize(_MICRO)

    @property
    def day(self) -> int:
        """Days the market has closed."""
        return self._market.day

    def advance_day(self) -> None:
        """Close the market's open day; what paid media, content and organic sales did then
        joins the outcomes waiting to be taken."""
        if self._closed:
            raise ChannelError("the channel is closed")
        self._outcomes.extend(self._market.advance())

    def take_outcomes(self) -> list[Outcome]:
        """Every outcome since the last call, in the order it happened; each is handed over once."""
        taken, self._outcomes = self._outcomes, []
        return taken

    def close(self) -> None:
        self._closed = True


def _audiences(market: Market, segments: Iterable[Segment]) -> dict[str, IntArray]:
    """Positions of each workspace segment the market must learn, all checked before any is
    registered so a bad segment leaves the market as it was."""
    table = market.customer_table()
    audiences: dict[str, IntArray] = {}
    for segment in segments:
        positions = np.flatnonzero(segment.mask(table)).astype(np.int64)
        if segment.id not in market.segment_ids:
            audiences[segment.id] = positions
        # The market cannot redefine its own segments, so sharing a name is only safe when both
        # mean the same customers.
        elif not np.array_equal(positions, market.members(segment.id)):
            raise MarketError(
                f"workspace segment {segment.id!r} selects other customers than the market's "
                "scenario segment of that name"
            )
    return audiences


def _unfunded(action: Action, translated: Action) -> str | None:
    """Why an ad spends nothing: no budget runs on its channel yet."""
    if action.kind is not ActionKind.PUBLISH_CONTENT or translated.kind is action.kind:
        return None
    if translated.spend is None or translated.spend.amount > 0:
        return None
    return (
        f"no budget runs on {action.channel} yet: the ad is live and spends nothing until a "
        "set_budget is approved"
    )
