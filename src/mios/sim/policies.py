"""Reference policies: baselines and an upper reference, so any decision maker's regret is a number.

All three stay within the market's ``limits``: a week's spend on paid media and content stays
within 7 x ``daily_budget``, no customer gets more than ``contacts_per_week`` messages in a week,
and nobody is messaged on a channel they have not consented to (or have withdrawn from).
``random`` and ``static`` use only what a business knows (prices, consent, whom it contacted);
``oracle`` reads the ground truth.

- ``random``: each day, each messaging channel sends to a random 1/14 of the customers it may
  reach (one message per channel per fortnight on average, landing on random days), with a
  random offer and angle; the paid budget is split at random each
  day; a content piece goes out with chance 1/7.
- ``static``: a calendar. Each messaging channel sends once a week on its own weekday (email on
  Tuesdays, sms on Thursdays, push on Saturdays) to everyone it may reach; one content piece on
  Mondays; the paid budget split evenly; offer and angle of messages and content rotate week by
  week.
Ads of ``random`` and ``static`` are evergreen: they carry the house offer (the scenario's first).

- ``oracle``: knows the truth (every response rate, every customer's propensity, the season and
  the shocks ahead). It messages each customer on the best days of the week over the channel,
  offer and angle worth most to them while a message is still worth its cost, and spreads paid
  budget by marginal return on the true curves. It is greedy, not provably optimal: a strong
  reference, not a bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Protocol

import numpy as np

from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.proposal import ActionKind, Audience, Content
from mios.errors import MarketError
from mios.sim.ground_truth import ground_truth
from mios.sim.market import Market
from mios.sim.truth import ADDRESSED, POLICY_STREAM, GroundTruth
from mios.types import BoolArray, FloatArray, IntArray

_PUBLISH_CHANCE = 1 / 7
_RANDOM_SHARE = 1 / 14  # of the reachable, each day: one message per channel per fortnight
_BUDGET_STEPS = 200  # resolution of the oracle's budget split
_STATIC_WEEKDAY = {ChannelName.EMAIL: 1, ChannelName.SMS: 3, ChannelName.PUSH: 5}
_PUBLISH_WEEKDAY = 0
_CENT = Decimal("0.01")


class Policy(Protocol):
    name: str

    def actions(self, market: Market, day: int) -> list[Action]: ...


@dataclass(frozen=True)
class _Plan:
    """A message to build: who, on which channel, with which offer and angle."""

    channel: ChannelName
    positions: IntArray
    offer: str
    angle: str
    label: str


class _Base:
    name = "base"

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._week = -1
        self._week_spend = Decimal(0)

    # -- shared mechanics -----------------------------------------------------------------

    def _messaging(self, market: Market) -> list[ChannelName]:
        return [c for c in ADDRESSED if c in market.channel_names]

    def _paid(self, market: Market) -> list[ChannelName]:
        return [c for c in market.channel_names if c.is_paid_media]

    def _reachable(self, market: Market, channel: ChannelName, planned: IntArray) -> BoolArray:
        cap = market.limits.contacts_per_week
        return np.asarray(market.consented(channel) & (planned < cap), dtype=np.bool_)

    def _budget_left(self, market: Market, day: int) -> Decimal:
        """What this week may still spend on paid media and content."""
        if day // 7 != self._week:
            self._week, self._week_spend = day // 7, Decimal(0)
        weekly = _floor(7 * market.limits.daily_budget)
        return max(weekly - self._week_spend, Decimal(0))

    def _spend(self, amount: float | Decimal) -> Decimal:
        """Book ``amount`` (rounded down to the cent, so rounding never overspends)."""
        booked = _floor(amount)
        self._week_spend += booked
        return booked

    def _build(self, market: Market, day: int, plans: list[_Plan]) -> list[Action]:
        actions = []
        for plan in plans:
            if not len(plan.positions):
                continue
            audience = f"{self.name}-{plan.label}"
            market.define_audience(audience, plan.positions)
            actions.append(
                _action(
                    f"{self.name}-d{day}-{plan.label}",
                    ActionKind.SEND_MESSAGE,
                    plan.channel,
                    audience=Audience(segment_id=audience),
                    content=_content(plan.offer, plan.angle),
                )
            )
        return actions

    def _budgets(
        self, market: Market, day: int, split: dict[ChannelName, float], content: Content | None
    ) -> list[Action]:
        """Budget settings; ads without content carry the house offer, as evergreen ads do."""
        return [
            _action(
                f"{self.name}-d{day}-{channel}",
                ActionKind.SET_BUDGET,
                channel,
                spend=Money(self._spend(amount), market.currency),
                content=content,
            )
            for channel, amount in split.items()
        ]

    def _publish(self, market: Market, day: int, offer: str, angle: str) -> Action:
        # The market charges the exact price, so the week's books carry it exactly too.
        self._week_spend += Decimal(str(market.price(ChannelName.CONTENT)))
        return _action(
            f"{self.name}-d{day}-content",
            ActionKind.PUBLISH_CONTENT,
            ChannelName.CONTENT,
            content=_content(offer, angle),
        )

    def _can_publish(self, market: Market, left: Decimal) -> bool:
        return (
            ChannelName.CONTENT in market.channel_names
            and Decimal(str(market.price(ChannelName.CONTENT))) <= left
        )

    def _weekday(self, market: Market, day: int) -> int:
        return (market.start.weekday() + day) % 7


class RandomPolicy(_Base):
    name = "random"

    def actions(self, market: Market, day: int) -> list[Action]:
        rng = np.random.default_rng([self.seed, POLICY_STREAM, day])
        offers, angles = market.offer_ids, market.angle_ids

        def pick(options: tuple[str, ...]) -> str:
            return options[int(rng.integers(len(options)))]

        planned = market.contacts_this_week()
        plans: list[_Plan] = []
        for channel in self._messaging(market):
            picked = rng.random(market.customers) < _RANDOM_SHARE
            chosen = np.flatnonzero(picked & self._reachable(market, channel, planned))
            planned[chosen] += 1
            plans.append(_Plan(channel, chosen, pick(offers), pick(angles), str(channel)))
        actions = self._build(market, day, plans)
        left = self._budget_left(market, day)
        if rng.random() < _PUBLISH_CHANCE and self._can_publish(market, left):
            actions.append(self._publish(market, day, pick(offers), pick(angles)))
            left = self._budget_left(market, day)
        paid = self._paid(market)
        if paid:
            today = float(left) / (7 - day % 7)
            shares = rng.dirichlet(np.ones(len(paid)))
            split = dict(zip(paid, (today * shares).tolist(), strict=True))
            actions.extend(self._budgets(market, day, split, None))
        return actions


class StaticPolicy(_Base):
    name = "static"

    def actions(self, market: Market, day: int) -> list[Action]:
        week = day // 7
        offer = market.offer_ids[week % len(market.offer_ids)]
        angle = market.angle_ids[week % len(market.angle_ids)]
        weekday = self._weekday(market, day)
        planned = market.contacts_this_week()
        plans: list[_Plan] = []
        for channel in self._messaging(market):
            if weekday != _STATIC_WEEKDAY[channel]:
                continue
            chosen = np.flatnonzero(self._reachable(market, channel, planned))
            planned[chosen] += 1
            plans.append(_Plan(channel, chosen, offer, angle, str(channel)))
        actions = self._build(market, day, plans)
        left = self._budget_left(market, day)
        if weekday == _PUBLISH_WEEKDAY and self._can_publish(market, left):
            actions.append(self._publish(market, day, offer, angle))
            left = self._budget_left(market, day)
        paid = self._paid(market)
        if paid:
            each = float(left) / (7 - day % 7) / len(paid)
            split = dict.fromkeys(paid, each)
            actions.extend(self._budgets(market, day, split, None))
        return actions


class OraclePolicy(_Base):
    name = "oracle"

    def actions(self, market: Market, day: int) -> list[Action]:
        truth = ground_truth(market)
        actions = self._build(market, day, self._messages(market, truth, day))
        left = self._budget_left(market, day)
        best_offer, best_angle, value = self._best_broad(truth)
        content = truth.content
        if content is not None and day % 7 == 0 and self._can_publish(market, left):
            life = range(day, day + content.life_days)
            reached = sum(
                content.reach_per_day * content.conversion_rate * truth.demand(d) for d in life
            )
            if reached * value > content.cost_per_piece:
                actions.append(self._publish(market, day, best_offer, best_angle))
                left = self._budget_left(market, day)
        paid = self._paid(market)
        if paid:
            split = self._split(truth, day, paid, float(left) / (7 - day % 7), value)
            actions.extend(self._budgets(market, day, split, _content(best_offer, best_angle)))
        return actions

    def _best_broad(self, truth: GroundTruth) -> tuple[str, str, float]:
        """The offer and angle that make media and content worth most: margin per conversion
        the curves predict at response 1."""
        best = (0, 0, -np.inf)
        for o in range(len(truth.scenario.offers)):
            margin_value = truth.broad_order_value(o) * truth.offer_margin[o]
            for a in range(len(truth.scenario.angles)):
                worth = truth.broad_response(o, a) * margin_value
                if worth > best[2]:
                    best = (o, a, worth)
        o, a, worth = best
        return truth.scenario.offers[o].id, truth.scenario.angles[a].id, float(worth)

    def _split(
        self,
        truth: GroundTruth,
        day: int,
        paid: list[ChannelName],
        budget: float,
        value_per_conversion: float,
    ) -> dict[ChannelName, float]:
        """Water-filling on the true steady-state curves: each slice of budget goes where it
        earns most per unit, and none goes where it earns less than it costs."""
        spend = dict.fromkeys(paid, 0.0)
        step = budget / _BUDGET_STEPS
        if step <= 0:
            return spend
        demand = truth.demand(day)

        def profit(channel: ChannelName, amount: float) -> float:
            if truth.outage(channel, day):
                return -amount
            gain = float(truth.media[channel].steady_state(amount)) * demand * value_per_conversion
            return gain - amount

        left = budget
        while left > 1e-9:
            best: tuple[float, ChannelName, float] | None = None
            for channel in paid:
                room = truth.media[channel].max_spend_per_day - spend[channel]
                slice_ = min(step, room, left)
                if slice_ <= 1e-9:
                    continue
                rate = profit(channel, spend[channel] + slice_) - profit(channel, spend[channel])
                rate /= slice_
                if best is None or rate > best[0]:
                    best = (rate, channel, slice_)
            if best is None or best[0] <= 0:
                break
            _, channel, slice_ = best
            spend[channel] += slice_
            left -= slice_
        return spend

    def _messages(self, market: Market, truth: GroundTruth, day: int) -> list[_Plan]:
        """Each reachable customer gets the one message worth most to them, if it is worth its
        cost and today is one of the week's best days for it."""
        cap = market.limits.contacts_per_week
        week_start = day - day % 7
        week = list(range(week_start, week_start + 7))
        ranked = sorted(week, key=lambda d: (-truth.demand(d), d))
        if day not in ranked[:cap]:
            return []
        population = truth.population
        segment = population.segment
        planned = market.contacts_this_week()
        extra = truth.fatigue(planned.astype(np.float64) + 1.0, truth.segment_fatigue[segment])
        left = truth.response_after(extra)
        organic = truth.organic_rate[segment] * population.propensity * truth.demand(day)
        best_value = np.zeros(market.customers)
        best_channel = np.full(market.customers, -1)
        choices: list[tuple[ChannelName, IntArray, IntArray]] = []
        channels = self._messaging(market)
        for index, channel in enumerate(channels):
            if truth.outage(channel, day):
                continue
            spec = truth.direct(channel)
            offer, angle, worth = _best_message(truth, channel)
            per_customer: FloatArray = (
                worth[segment]
                * population.propensity
                * truth.demand(day)
                * left
                * (1 - organic)
                * spec.delivery_rate
                - spec.cost_per_contact
            )
            per_customer = np.where(self._reachable(market, channel, planned), per_customer, 0.0)
            better = per_customer > best_value
            best_value = np.where(better, per_customer, best_value)
            best_channel = np.where(better, index, best_channel)
            choices.append((channel, offer, angle))
        plans: list[_Plan] = []
        for channel, offer, angle in choices:
            chosen = np.flatnonzero(best_channel == channels.index(channel))
            room = truth.capacity[channel]
            if len(chosen) > room:
                chosen = np.sort(chosen[np.argsort(-best_value[chosen], kind="stable")[:room]])
            for s, segment_id in enumerate(population.segment_ids):
                plans.append(
                    _Plan(
                        channel,
                        chosen[segment[chosen] == s],
                        truth.scenario.offers[int(offer[s])].id,
                        truth.scenario.angles[int(angle[s])].id,
                        f"{channel}-{segment_id}",
                    )
                )
        return plans


def _best_message(
    truth: GroundTruth, channel: ChannelName
) -> tuple[IntArray, IntArray, FloatArray]:
    """Per segment: the offer and angle with the highest margin per delivered message."""
    offers, angles = len(truth.scenario.offers), len(truth.scenario.angles)
    worth = np.stack(
        [
            truth.message_response(channel, o, a) * truth.order_value(o) * truth.offer_margin[o]
            for o in range(offers)
            for a in range(angles)
        ]
    )  # (O x A, S)
    best = np.argmax(worth, axis=0)
    return best // angles, best % angles, worth[best, np.arange(worth.shape[1])]


def _floor(amount: float | Decimal) -> Decimal:
    return Decimal(str(amount)).quantize(_CENT, rounding=ROUND_FLOOR)


def _action(
    action_id: str,
    kind: ActionKind,
    channel: ChannelName,
    *,
    audience: Audience | None = None,
    content: Content | None = None,
    spend: Money | None = None,
) -> Action:
    return Action(
        id=action_id,
        proposal_id=action_id,
        kind=kind,
        snapshot_version=1,
        channel=channel,
        audience=audience,
        content=content,
        spend=spend,
    )


def _content(offer: str, angle: str) -> Content:
    return Content(
        subject=f"{offer.replace('-', ' ').title()}: {angle}",
        body=f"Our {offer.replace('-', ' ')} offer, told from the {angle} angle.",
        offer_id=offer,
        angle=angle,
    )


POLICIES: dict[str, type[RandomPolicy | StaticPolicy | OraclePolicy]] = {
    "random": RandomPolicy,
    "static": StaticPolicy,
    "oracle": OraclePolicy,
}


def make_policy(name: str, seed: int) -> Policy:
    try:
        return POLICIES[name](seed)
    except KeyError:
        raise MarketError(f"no policy {name!r}; policies are {', '.join(POLICIES)}") from None
