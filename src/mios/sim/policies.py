"""Reference policies: baselines and an upper reference, so any decision maker's regret is a number.

All three stay within the scenario's ``limits``: the week's spend on paid media and content stays
within 7 x ``daily_budget``, no customer gets more than ``contacts_per_week`` messages in a week,
and nobody is messaged on a channel they have not consented to (or have withdrawn from).

- ``random``: each day, each messaging channel sends with chance 2/7 to a random quarter of the
  customers it may reach, with a random offer and angle; the paid budget is split at random each
  day; a content piece goes out with chance 1/7.
- ``static``: a calendar. Each messaging channel sends once a week on its own weekday to everyone
  it may reach, the offer and angle rotating week by week; the paid budget is split evenly; one
  content piece each week.
- ``oracle``: knows the ground truth (every response rate, every customer's propensity, the season
  and the shocks ahead). It messages each customer on the best days of the week over the channel,
  offer and angle worth most to them while a message is still worth its cost, and spreads paid
  budget by marginal return on the true curves. It is greedy, not provably optimal: a strong
  reference, not a bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
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

_SEND_CHANCE = 2 / 7
_PUBLISH_CHANCE = 1 / 7
_RANDOM_SHARE = 1 / 4
_BUDGET_STEPS = 200  # resolution of the oracle's budget split


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
        self._week_spend = 0.0

    # -- shared mechanics -----------------------------------------------------------------

    def _messaging(self, market: Market) -> list[ChannelName]:
        return [c for c in ADDRESSED if c in market.scenario.channel_names]

    def _paid(self, market: Market) -> list[ChannelName]:
        return [c for c in market.scenario.channel_names if c.is_paid_media]

    def _reachable(self, market: Market, channel: ChannelName, planned: IntArray) -> BoolArray:
        cap = market.scenario.limits.contacts_per_week
        return np.asarray(market.consented(channel) & (planned < cap), dtype=np.bool_)

    def _budget_left(self, market: Market, day: int) -> float:
        """What this week may still spend on paid media and content."""
        if day % 7 == 0:
            self._week_spend = 0.0
        budget = market.scenario.limits.daily_budget * market.customers
        budget /= market.scenario.population.customers
        return max(7 * budget - self._week_spend, 0.0)

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

    def _budgets(self, market: Market, day: int, split: dict[ChannelName, float]) -> list[Action]:
        return [
            _action(
                f"{self.name}-d{day}-{channel}",
                ActionKind.SET_BUDGET,
                channel,
                spend=_money(amount, market.currency),
                content=content,
            )
            for channel, (amount, content) in self._with_content(split).items()
        ]

    def _with_content(
        self, split: dict[ChannelName, float]
    ) -> dict[ChannelName, tuple[float, Content | None]]:
        return {channel: (amount, None) for channel, amount in split.items()}

    def _publish(self, market: Market, day: int, offer: str, angle: str) -> Action:
        return _action(
            f"{self.name}-d{day}-content",
            ActionKind.PUBLISH_CONTENT,
            ChannelName.CONTENT,
            content=_content(offer, angle),
        )

    def _content_cost(self, market: Market) -> float | None:
        spec = market.scenario.channels.content
        if spec is None:
            return None
        return spec.cost_per_piece * market.customers / market.scenario.population.customers


class RandomPolicy(_Base):
    name = "random"

    def actions(self, market: Market, day: int) -> list[Action]:
        rng = np.random.default_rng([self.seed, POLICY_STREAM, day])
        scenario = market.scenario
        offers = [o.id for o in scenario.offers]
        angles = [a.id for a in scenario.angles]
        planned = market.contacts_this_week()
        plans: list[_Plan] = []
        for channel in self._messaging(market):
            if rng.random() >= _SEND_CHANCE:
                continue
            picked = rng.random(market.customers) < _RANDOM_SHARE
            chosen = np.flatnonzero(picked & self._reachable(market, channel, planned))
            planned[chosen] += 1
            plans.append(
                _Plan(
                    channel,
                    chosen,
                    offers[int(rng.integers(len(offers)))],
                    angles[int(rng.integers(len(angles)))],
                    str(channel),
                )
            )
        actions = self._build(market, day, plans)
        left = self._budget_left(market, day)
        cost = self._content_cost(market)
        if cost is not None and rng.random() < _PUBLISH_CHANCE and cost <= left:
            actions.append(
                self._publish(
                    market,
                    day,
                    offers[int(rng.integers(len(offers)))],
                    angles[int(rng.integers(len(angles)))],
                )
            )
            left -= cost
            self._week_spend += cost
        paid = self._paid(market)
        if paid:
            days_left = 7 - day % 7
            total = left / days_left
            shares = rng.dirichlet(np.ones(len(paid)))
            actions.extend(
                self._budgets(market, day, dict(zip(paid, (total * shares).tolist(), strict=True)))
            )
            self._week_spend += total
        return actions


class StaticPolicy(_Base):
    name = "static"

    def actions(self, market: Market, day: int) -> list[Action]:
        scenario = market.scenario
        week = day // 7
        offer = scenario.offers[week % len(scenario.offers)].id
        angle = scenario.angles[week % len(scenario.angles)].id
        planned = market.contacts_this_week()
        plans: list[_Plan] = []
        for index, channel in enumerate(self._messaging(market)):
            if day % 7 != 2 * index:
                continue
            chosen = np.flatnonzero(self._reachable(market, channel, planned))
            planned[chosen] += 1
            plans.append(_Plan(channel, chosen, offer, angle, str(channel)))
        actions = self._build(market, day, plans)
        left = self._budget_left(market, day)
        cost = self._content_cost(market)
        if cost is not None and day % 7 == 0 and cost <= left:
            actions.append(self._publish(market, day, offer, angle))
            self._week_spend += cost
        paid = self._paid(market)
        if paid:
            budget = scenario.limits.daily_budget * market.customers / scenario.population.customers
            # An even split of what the week has left after its content piece.
            weekly_paid = 7 * budget - (cost or 0.0)
            each = max(weekly_paid, 0.0) / 7 / len(paid)
            actions.extend(self._budgets(market, day, dict.fromkeys(paid, each)))
            self._week_spend += each * len(paid)
        return actions


class OraclePolicy(_Base):
    name = "oracle"

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self._media_content: dict[ChannelName, Content] = {}

    def actions(self, market: Market, day: int) -> list[Action]:
        truth = ground_truth(market)
        actions = self._build(market, day, self._messages(market, truth, day))
        left = self._budget_left(market, day)
        cost = self._content_cost(market)
        best_offer, best_angle, value = self._best_broad(truth)
        if cost is not None and day % 7 == 0 and cost <= left:
            content = truth.content
            assert content is not None  # a content cost means a content channel
            life = range(day, day + content.life_days)
            expected = sum(
                content.reach_per_day * content.conversion_rate * truth.demand(d) for d in life
            )
            if expected * value > cost:
                actions.append(self._publish(market, day, best_offer, best_angle))
                self._week_spend += cost
                left -= cost
        paid = self._paid(market)
        if paid:
            days_left = 7 - day % 7
            split = self._split(truth, day, paid, left / days_left, value)
            self._media_content = dict.fromkeys(paid, _content(best_offer, best_angle))
            actions.extend(self._budgets(market, day, split))
            self._week_spend += sum(split.values())
        return actions

    def _with_content(
        self, split: dict[ChannelName, float]
    ) -> dict[ChannelName, tuple[float, Content | None]]:
        return {c: (amount, self._media_content.get(c)) for c, amount in split.items()}

    def _best_broad(self, truth: GroundTruth) -> tuple[str, str, float]:
        """The offer and angle that make media and content worth most per conversion."""
        best = (0, 0, -np.inf)
        for o in range(len(truth.scenario.offers)):
            margin_value = truth.broad_order_value(o) * truth.offer_margin[o]
            for a in range(len(truth.scenario.angles)):
                worth = truth.broad_response(o, a) * margin_value
                if worth > best[2]:
                    best = (o, a, worth)
        o, a, worth = best
        # Margin per conversion the curves predict at response 1, with this offer and angle.
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
        earns most, and none goes where it earns less than it costs."""
        step = budget / _BUDGET_STEPS if budget > 0 else 0.0
        spend = dict.fromkeys(paid, 0.0)
        if step == 0:
            return spend
        demand = truth.demand(day)

        def profit(channel: ChannelName, amount: float) -> float:
            if truth.outage(channel, day):
                return -amount
            curve = truth.media[channel]
            gain = float(curve.steady_state(amount)) * demand * value_per_conversion
            return gain - amount

        for _ in range(_BUDGET_STEPS):
            gains = {
                c: profit(c, spend[c] + step) - profit(c, spend[c])
                for c in paid
                if spend[c] + step <= truth.media[c].max_spend_per_day
            }
            if not gains:
                break
            channel = max(gains, key=lambda c: (gains[c], -paid.index(c)))
            if gains[channel] <= 0:
                break
            spend[channel] += step
        return spend

    def _messages(self, market: Market, truth: GroundTruth, day: int) -> list[_Plan]:
        """Each reachable customer gets the one message worth most to them, if it is worth its
        cost and today is one of the week's best days for it."""
        scenario = market.scenario
        cap = scenario.limits.contacts_per_week
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
            per_customer = (
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
            index = channels.index(channel)
            chosen = np.flatnonzero(best_channel == index)
            room = truth.capacity[channel]
            if len(chosen) > room:
                chosen = chosen[np.argsort(-best_value[chosen], kind="stable")[:room]]
                chosen.sort()
            for s, segment_id in enumerate(population.segment_ids):
                members = chosen[segment[chosen] == s]
                plans.append(
                    _Plan(
                        channel,
                        members,
                        scenario.offers[int(offer[s])].id,
                        scenario.angles[int(angle[s])].id,
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


def _money(amount: float, currency: str) -> Money:
    return Money(Decimal(f"{amount:.2f}"), currency)


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
