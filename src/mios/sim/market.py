"""The simulated market: domain Actions in, domain Outcome events out, one day at a time.

    market = Market(load_scenario("retail-holiday"), seed=7)
    outcomes = market.step(actions, day=0)      # execute the day's actions, then close the day

``step`` is ``execute`` for each action followed by ``advance``; a channel adapter calls the two
halves separately (actions arrive one by one, the clock closes the day). What each action kind
does:

- ``send_message`` (email, sms, push): every customer of the audience gets the message, up to the
  channel's capacity for the day. Each one counts as a contact toward fatigue; a customer without
  consent for the channel (or who withdrew it) creates a compliance incident and a complaint.
  ``parameters["holdout_share"]`` (with an optional ``experiment_id``) keeps a random share of the
  audience out; their purchases are reported under the action with ``arm: holdout``.
- ``set_budget`` (paid channels): the daily spend from today on, and the offer and angle its ads
  carry. ``adjust_bid`` with ``parameters["multiplier"]`` scales that daily spend.
- ``publish_content`` (content): one piece that reaches people every day of its life.
- any other kind changes nothing in the market.

Content with a banned term or a claim that is not substantiated creates one brand incident per
execution. Outcomes are aggregated per action, kind and segment (``detail="aggregate"``, the
default, which scales to millions) or reported per customer (``detail="customer"``). Every run is
determined by scenario, seed and actions: the same inputs give byte-identical outcomes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any, Literal

import numpy as np

from mios.domain.action import Action
from mios.domain.channel import CONSENT_CHANNELS, ChannelName
from mios.domain.customer_table import CustomerTable
from mios.domain.money import Money
from mios.domain.outcome import Outcome, OutcomeKind
from mios.domain.proposal import ActionKind, Audience, Content
from mios.errors import MarketError
from mios.sim.scenario import Scenario
from mios.sim.totals import BRAND, COMPLIANCE, Totals
from mios.sim.truth import (
    ACTION_STREAM,
    ADDRESSED,
    CHANNEL_INDEX,
    DAY_STREAM,
    HOLDOUT_STREAM,
    GroundTruth,
)
from mios.types import BoolArray, FloatArray, IntArray

Detail = Literal["aggregate", "customer"]

_ORDER_VALUE_SD = 0.3  # spread of one order's value around its average (log-normal)
_ORGANIC = "organic"
_MAX_HOLDOUT = 0.9


@dataclass(frozen=True)
class Execution:
    """What one action did: how many units the market took and the events it caused."""

    action_id: str
    day: int
    accepted: int  # messages sent, budget settings or pieces taken; 0 when nothing happened
    outcomes: tuple[Outcome, ...]
    note: str | None = None  # why less happened than asked (an outage, capacity, a spend cap)
    outage: bool = False  # the channel was down: nothing happened, and a retry later may work


@dataclass
class _MediaSetting:
    action_id: str
    daily_spend: float
    offer: int
    angle: int | None


@dataclass(frozen=True)
class _Piece:
    action_id: str
    first_day: int
    last_day: int
    offer: int
    angle: int | None


@dataclass(frozen=True)
class _Holdout:
    action_id: str
    experiment_id: str
    positions: IntArray


@dataclass
class _Day:
    """What one open day has accumulated; reset when the day closes."""

    ordinal: int = 0
    sent: dict[ChannelName, int] = field(default_factory=dict)
    holdouts: list[_Holdout] = field(default_factory=list)


class Market:
    """A market of ``customers`` people (default: the scenario's number) drawn with ``seed``."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        customers: int | None = None,
        *,
        detail: Detail = "aggregate",
    ) -> None:
        if detail not in ("aggregate", "customer"):
            raise MarketError(f"detail must be 'aggregate' or 'customer', got {detail!r}")
        self._truth = GroundTruth.build(scenario, seed, customers)
        self._detail: Detail = detail
        population = self._truth.population
        n = len(population)
        self._day = 0
        self._today = _Day()
        self._week_contacts = np.zeros(n, dtype=np.int16)
        self._withdrawn = np.zeros((n, len(CONSENT_CHANNELS)), dtype=np.bool_)
        self._organic_used = np.zeros(n, dtype=np.bool_)
        self._organic_base = self._truth.organic_rate[population.segment] * population.propensity
        self._members = {
            segment_id: np.flatnonzero(population.segment == index)
            for index, segment_id in enumerate(population.segment_ids)
        }
        self._audiences: dict[str, IntArray] = {}
        self._media: dict[ChannelName, _MediaSetting] = {}
        self._adstock: dict[ChannelName, float] = dict.fromkeys(self._truth.media, 0.0)
        self._pieces: list[_Piece] = []
        self._banned = [
            (term, re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.IGNORECASE))
            for term in scenario.risk.banned_terms
        ]
        self._totals = Totals(
            currency=scenario.currency,
            margins={o.id: Decimal(str(o.margin)) for o in scenario.offers},
            customers=n,
        )
        self._table: CustomerTable | None = None

    # -- what anyone may know -------------------------------------------------------------

    @property
    def scenario(self) -> Scenario:
        return self._truth.scenario

    @property
    def day(self) -> int:
        """The open day: the next ``step`` or ``execute`` happens on it."""
        return self._day

    @property
    def customers(self) -> int:
        return len(self._truth.population)

    @property
    def currency(self) -> str:
        return self.scenario.currency

    @property
    def segment_ids(self) -> tuple[str, ...]:
        return self._truth.population.segment_ids

    def customer_ids(self, positions: IntArray) -> list[str]:
        return self._truth.population.ids(positions)

    def customer_table(self) -> CustomerTable:
        """The customers as a business would hold them (ids, region, time zone, consent at the
        start, the ``segment`` attribute); import it into a workspace to run mios on them."""
        if self._table is None:
            self._table = self._truth.population.customer_table(self.scenario.start)
        return self._table

    def members(self, segment_id: str) -> IntArray:
        """Positions of a scenario segment's customers (the ``segment`` attribute)."""
        try:
            return self._members[segment_id].copy()
        except KeyError:
            known = ", ".join(self.segment_ids)
            raise MarketError(
                f"no segment {segment_id!r}; the market's segments are {known}"
            ) from None

    def consented(self, channel: ChannelName) -> BoolArray:
        """Who may be messaged on ``channel`` now: granted at the start and not withdrawn since."""
        column = _consent_column(channel)
        return np.asarray(
            self._truth.population.consent[:, column] & ~self._withdrawn[:, column], dtype=np.bool_
        )

    def contacts_this_week(self) -> IntArray:
        """Messages each customer has had in the current week (weeks start on day 0, 7, ...)."""
        return self._week_contacts.astype(np.int64)

    def totals(self) -> Totals:
        """Everything so far; the current week counts toward contacts if it has begun."""
        snapshot = replace(self._totals, contact_weeks=self._totals.contact_weeks.copy())
        if self._day % 7:
            snapshot.add_contact_weeks(self._week_contacts.astype(np.int64))
        return snapshot

    # -- acting ---------------------------------------------------------------------------

    def define_audience(self, name: str, customers: IntArray | Sequence[str]) -> None:
        """Name a set of customers (positions or ids) so actions can target it by segment id.

        A scenario segment id cannot be redefined; any other name is replaced when defined again.
        """
        if not name.strip():
            raise MarketError("an audience needs a name")
        if name in self._members:
            raise MarketError(f"audience {name!r} is a scenario segment and cannot be redefined")
        if isinstance(customers, np.ndarray):
            positions = np.unique(customers.astype(np.int64))
            if len(positions) and (positions[0] < 0 or positions[-1] >= self.customers):
                raise MarketError(f"audience {name!r} has positions outside the market")
        else:
            positions = np.unique(self._truth.population.positions(list(customers)))
        self._audiences[name] = positions

    def step(self, actions: Iterable[Action], day: int) -> list[Outcome]:
        """Execute ``actions`` in order on ``day`` (the open day), then close it."""
        if day != self._day:
            raise MarketError(f"the market is on day {self._day}; cannot step day {day}")
        outcomes: list[Outcome] = []
        for action in actions:
            outcomes.extend(self.execute(action).outcomes)
        outcomes.extend(self.advance())
        return outcomes

    def execute(self, action: Action) -> Execution:
        """Carry out one action on the open day and return what it did at once."""
        channel = action.channel
        if channel is not None and channel not in self.scenario.channel_names:
            raise MarketError(f"action {action.id}: the market has no {channel} channel")
        if action.spend is not None and action.spend.currency != self.currency:
            raise MarketError(
                f"action {action.id}: spend is in {action.spend.currency}; the market runs in "
                f"{self.currency}"
            )
        kind = action.kind
        if kind is ActionKind.SEND_MESSAGE:
            return self._send(action)
        if kind is ActionKind.PUBLISH_CONTENT:
            return self._publish(action)
        if kind in (ActionKind.SET_BUDGET, ActionKind.ADJUST_BID):
            return self._buy_media(action)
        return Execution(
            action.id, self._day, 0, (), f"a {kind} action changes nothing in the market"
        )

    def advance(self) -> list[Outcome]:
        """Close the open day: paid media spend and convert, content converts, people buy on
        their own; then the next day opens (and on every seventh day, a new week)."""
        day = self._day
        outcomes: list[Outcome] = []
        outcomes.extend(self._run_media(day))
        outcomes.extend(self._run_content(day))
        outcomes.extend(self._run_organic(day))
        self._totals.record(outcomes)
        self._totals.days += 1
        self._day += 1
        self._today = _Day()
        self._organic_used[:] = False
        if self._day % 7 == 0:
            self._totals.add_contact_weeks(self._week_contacts.astype(np.int64))
            self._week_contacts[:] = 0
        return outcomes

    # -- action kinds ---------------------------------------------------------------------

    def _send(self, action: Action) -> Execution:
        truth = self._truth
        channel, content = action.channel, action.content
        assert channel is not None  # the domain requires a channel to send on
        assert content is not None  # and content to send
        if channel not in ADDRESSED:
            raise MarketError(
                f"action {action.id}: send_message needs email, sms or push; {channel} takes "
                "set_budget or publish_content"
            )
        spec = truth.direct(channel)
        offer = truth.offer_index(content.offer_id)
        angle = truth.angle_index(content.angle)
        audience = self._resolve(action)
        share, experiment = _holdout(action)
        day, ordinal = self._day, self._next_ordinal()
        if truth.outage(channel, day):
            return Execution(action.id, day, 0, (), f"{channel} is down on day {day}", outage=True)

        arm: dict[str, Any] = {}
        if share > 0:
            in_holdout = _hash_uniform(audience, truth.seed, experiment) < share
            self._today.holdouts.append(_Holdout(action.id, experiment, audience[in_holdout]))
            audience = audience[~in_holdout]
            arm = {"experiment_id": experiment, "arm": "treatment"}
        room = max(truth.capacity[channel] - self._today.sent.get(channel, 0), 0)
        note = None
        if len(audience) > room:
            note = f"{channel} capacity reached: {len(audience) - room} of {len(audience)} not sent"
            audience = audience[:room]
        self._today.sent[channel] = self._today.sent.get(channel, 0) + len(audience)

        emit = _Emitter(self, action.id, channel, ordinal, arm)
        emit.money(OutcomeKind.SPEND, spec.cost_per_contact * len(audience))
        emit.brand(content)
        rng = np.random.default_rng([truth.seed, ACTION_STREAM, day, ordinal])
        self._respond(rng, channel, offer, angle, audience, emit)
        return emit.done(day, len(audience), note)

    def _respond(
        self,
        rng: np.random.Generator,
        channel: ChannelName,
        offer: int,
        angle: int | None,
        audience: IntArray,
        emit: _Emitter,
    ) -> None:
        """Draw what each recipient of one message does, and update consent and fatigue."""
        truth, population, day = self._truth, self._truth.population, self._day
        spec = truth.direct(channel)
        n = len(audience)
        segment = population.segment[audience]
        column = _consent_column(channel)
        violation = ~(population.consent[audience, column] & ~self._withdrawn[audience, column])
        contact = self._week_contacts[audience].astype(np.float64) + 1.0
        self._week_contacts[audience] += 1
        extra = truth.fatigue(contact, truth.segment_fatigue[segment])
        left = truth.response_after(extra)

        delivered = rng.random(n) < spec.delivery_rate
        opened = delivered & (rng.random(n) < spec.open_rate)
        clicked = opened & (rng.random(n) < spec.click_rate * left)
        p_message = (
            truth.message_response(channel, offer, angle)[segment]
            * population.propensity[audience]
            * truth.demand(day)
            * truth.noise(day, channel)
            * left
        )
        # A recipient may also buy on their own today; that sale is credited to the message,
        # as last-touch attribution would, which is why holdouts are needed to measure lift.
        p_organic = np.where(self._organic_used[audience], 0.0, self._organic_base[audience])
        p_organic = np.minimum(p_organic * truth.demand(day), 1.0)
        p_buy = 1.0 - (1.0 - np.minimum(p_message, 1.0) * delivered) * (1.0 - p_organic)
        bought = rng.random(n) < p_buy
        self._organic_used[audience] = True
        fatigue = self.scenario.fatigue
        complaint_chance = fatigue.complaint_base + fatigue.complaint_per_extra_contact * extra
        complained = violation | (delivered & (rng.random(n) < complaint_chance))
        unsubscribe_chance = (
            fatigue.unsubscribe_base + fatigue.unsubscribe_per_extra_contact * extra
        )
        unsubscribed = delivered & ~complained & (rng.random(n) < unsubscribe_chance)
        self._withdrawn[audience[complained | unsubscribed], column] = True
        value = truth.order_value(offer)[segment] * _order_value_draws(rng, n)

        emit.events(OutcomeKind.DELIVERED, audience[delivered])
        emit.events(OutcomeKind.OPEN, audience[opened])
        emit.events(OutcomeKind.CLICK, audience[clicked])
        emit.events(
            OutcomeKind.CONVERSION,
            audience[bought],
            values=value[bought],
            attributes={"offer": self.scenario.offers[offer].id},
        )
        emit.events(OutcomeKind.UNSUBSCRIBE, audience[unsubscribed])
        emit.events(OutcomeKind.COMPLAINT, audience[complained])
        emit.events(
            OutcomeKind.INCIDENT,
            audience[violation],
            attributes=_incident(COMPLIANCE, self.scenario.risk.compliance_incident_cost),
        )

    def _publish(self, action: Action) -> Execution:
        truth = self._truth
        assert action.content is not None  # the domain requires content to publish
        if action.channel is not ChannelName.CONTENT or truth.content is None:
            raise MarketError(f"action {action.id}: publish_content needs the content channel")
        offer = truth.offer_index(action.content.offer_id)
        angle = truth.angle_index(action.content.angle)
        day, ordinal = self._day, self._next_ordinal()
        if truth.outage(ChannelName.CONTENT, day):
            return Execution(action.id, day, 0, (), f"content is down on day {day}", outage=True)
        self._pieces.append(_Piece(action.id, day, day + truth.content.life_days - 1, offer, angle))
        emit = _Emitter(self, action.id, ChannelName.CONTENT, ordinal, {})
        emit.money(OutcomeKind.SPEND, truth.content.cost_per_piece)
        emit.brand(action.content)
        return emit.done(day, 1, None)

    def _buy_media(self, action: Action) -> Execution:
        truth = self._truth
        channel = action.channel
        if channel is None or channel not in truth.media:
            raise MarketError(f"action {action.id}: {action.kind} needs a paid media channel")
        curve = truth.media[channel]
        current = self._media.get(channel)
        if action.kind is ActionKind.SET_BUDGET:
            assert action.spend is not None  # the domain requires spend on set_budget
            spend = float(action.spend.amount)
        else:
            multiplier = action.parameters.get("multiplier")
            if not isinstance(multiplier, int | float) or not 0 <= multiplier <= 10:
                raise MarketError(
                    f"action {action.id}: adjust_bid needs parameters.multiplier between 0 and 10"
                )
            spend = (current.daily_spend if current else 0.0) * float(multiplier)
        content = action.content
        if content is not None:
            offer, angle = truth.offer_index(content.offer_id), truth.angle_index(content.angle)
        elif current is not None:
            offer, angle = current.offer, current.angle
        else:
            offer, angle = 0, None
        day, ordinal = self._day, self._next_ordinal()
        note = None
        if spend > curve.max_spend_per_day:
            note = f"{channel} spends at most {curve.max_spend_per_day:.2f} a day"
        self._media[channel] = _MediaSetting(action.id, spend, offer, angle)
        emit = _Emitter(self, action.id, channel, ordinal, {})
        if content is not None:
            emit.brand(content)
        if (
            action.audience is not None
            and action.audience.is_addressed
            and channel in CONSENT_CHANNELS
        ):
            listed = self._resolve(action)
            column = _consent_column(channel)
            violation = ~(
                self._truth.population.consent[listed, column] & ~self._withdrawn[listed, column]
            )
            emit.events(
                OutcomeKind.INCIDENT,
                listed[violation],
                attributes=_incident(COMPLIANCE, self.scenario.risk.compliance_incident_cost),
            )
        return emit.done(day, 1, note)

    # -- closing a day --------------------------------------------------------------------

    def _run_media(self, day: int) -> list[Outcome]:
        truth = self._truth
        outcomes: list[Outcome] = []
        for channel, curve in truth.media.items():
            setting = self._media.get(channel)
            spend = 0.0
            if setting is not None and not truth.outage(channel, day):
                spend = min(setting.daily_spend, curve.max_spend_per_day)
            adstock = spend + curve.adstock_decay * self._adstock[channel]
            self._adstock[channel] = adstock
            if setting is None or adstock <= 0:
                continue
            rng = np.random.default_rng([truth.seed, DAY_STREAM, day, CHANNEL_INDEX[channel]])
            mean = float(
                curve.conversions(adstock)
                * truth.demand(day)
                * truth.noise(day, channel)
                * truth.broad_response(setting.offer, setting.angle)
            )
            conversions = int(rng.poisson(mean))
            clicks = int(rng.poisson(spend / curve.cost_per_click))
            revenue = truth.broad_order_value(setting.offer) * float(
                _order_value_draws(rng, conversions).sum()
            )
            emit = _Emitter(self, setting.action_id, channel, -1, {})
            emit.money(OutcomeKind.SPEND, spend)
            emit.count(OutcomeKind.CLICK, clicks)
            emit.count(
                OutcomeKind.CONVERSION,
                conversions,
                revenue,
                {"offer": self.scenario.offers[setting.offer].id},
            )
            outcomes.extend(emit.outcomes)
        return outcomes

    def _run_content(self, day: int) -> list[Outcome]:
        truth = self._truth
        content = truth.content
        if content is None:
            return []
        self._pieces = [p for p in self._pieces if p.last_day >= day]
        outcomes: list[Outcome] = []
        for index, piece in enumerate(self._pieces):
            rng = np.random.default_rng([truth.seed, DAY_STREAM, day, 100 + index])
            mean = (
                content.reach_per_day
                * content.conversion_rate
                * truth.broad_response(piece.offer, piece.angle)
                * truth.demand(day)
                * truth.noise(day, ChannelName.CONTENT)
            )
            conversions = int(rng.poisson(mean))
            revenue = truth.broad_order_value(piece.offer) * float(
                _order_value_draws(rng, conversions).sum()
            )
            emit = _Emitter(self, piece.action_id, ChannelName.CONTENT, -1, {})
            emit.count(
                OutcomeKind.CONVERSION,
                conversions,
                revenue,
                {"offer": self.scenario.offers[piece.offer].id},
            )
            outcomes.extend(emit.outcomes)
        return outcomes

    def _run_organic(self, day: int) -> list[Outcome]:
        truth, population = self._truth, self._truth.population
        rng = np.random.default_rng([truth.seed, DAY_STREAM, day, len(CHANNEL_INDEX)])
        bought = rng.random(self.customers) < self._organic_base * truth.demand(day)
        bought &= ~self._organic_used
        value = truth.order_value(0)[population.segment] * np.exp(
            _ORDER_VALUE_SD * rng.standard_normal(self.customers) - 0.5 * _ORDER_VALUE_SD**2
        )
        house = {"offer": self.scenario.offers[0].id}
        outcomes: list[Outcome] = []
        for holdout in self._today.holdouts:
            held = holdout.positions[bought[holdout.positions]]
            bought[holdout.positions] = False
            emit = _Emitter(
                self,
                holdout.action_id,
                None,
                -1,
                {"experiment_id": holdout.experiment_id, "arm": "holdout"},
            )
            emit.events(OutcomeKind.CONVERSION, held, values=value[held], attributes=house)
            outcomes.extend(emit.outcomes)
        buyers = np.flatnonzero(bought)
        emit = _Emitter(self, None, None, -1, {})
        emit.events(OutcomeKind.CONVERSION, buyers, values=value[buyers], attributes=house)
        outcomes.extend(emit.outcomes)
        return outcomes

    # -- helpers --------------------------------------------------------------------------

    def _next_ordinal(self) -> int:
        ordinal = self._today.ordinal
        self._today.ordinal += 1
        return ordinal

    def _resolve(self, action: Action) -> IntArray:
        audience: Audience | None = action.audience
        if audience is None:
            raise MarketError(f"action {action.id}: no audience to reach")
        parts: list[IntArray] = []
        if audience.segment_id is not None:
            name = audience.segment_id
            if name in self._members:
                parts.append(self._members[name])
            elif name in self._audiences:
                parts.append(self._audiences[name])
            else:
                known = ", ".join([*self.segment_ids, *sorted(self._audiences)])
                raise MarketError(
                    f"action {action.id}: no segment or audience {name!r} in the market "
                    f"(known: {known})"
                )
        if audience.customer_ids:
            parts.append(self._truth.population.positions(audience.customer_ids))
        return parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))

    def _brand_findings(self, content: Content) -> list[str]:
        text = " ".join(t for t in (content.subject, content.headline, content.body) if t)
        found = [f"banned term {term!r}" for term, pattern in self._banned if pattern.search(text)]
        known = set(self.scenario.risk.substantiated_claims)
        found += [
            f"unsubstantiated claim {claim!r}" for claim in content.claims if claim not in known
        ]
        return found


class _Emitter:
    """Turns arrays of who-did-what into Outcome events for one action (or for nobody's)."""

    def __init__(
        self,
        market: Market,
        action_id: str | None,
        channel: ChannelName | None,
        ordinal: int,
        attributes: dict[str, Any],
    ) -> None:
        self._market = market
        self._action_id = action_id
        self._channel = channel
        self._attributes = attributes
        day = market.day
        start = market.scenario.start
        self._at = datetime.combine(start.fromordinal(start.toordinal() + day), time(12), UTC)
        source = action_id or _ORGANIC
        self._prefix = f"d{day}.{ordinal}.{source}" if ordinal >= 0 else f"d{day}.{source}"
        if "arm" in attributes and attributes["arm"] == "holdout":
            self._prefix += ".holdout"
        self.outcomes: list[Outcome] = []

    def _outcome(
        self,
        kind: OutcomeKind,
        key: str,
        count: int,
        value: float | None,
        attributes: dict[str, Any],
        customer_id: str | None = None,
    ) -> None:
        money = None
        if value is not None:
            money = Money(Decimal(f"{value:.2f}"), self._market.currency)
        self.outcomes.append(
            Outcome(
                id=f"{self._prefix}/{kind}/{key}",
                kind=kind,
                at=self._at,
                action_id=self._action_id,
                customer_id=customer_id,
                channel=self._channel,
                value=money,
                count=count,
                attributes={**self._attributes, **attributes},
            )
        )

    def money(self, kind: OutcomeKind, amount: float) -> None:
        if amount > 0:
            self._outcome(kind, "total", 1, amount, {})

    def count(
        self,
        kind: OutcomeKind,
        count: int,
        value: float | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        if count > 0:
            self._outcome(kind, "total", count, value, attributes or {})

    def brand(self, content: Content) -> None:
        findings = self._market._brand_findings(content)
        if findings:
            cost = self._market.scenario.risk.brand_incident_cost
            self._outcome(
                OutcomeKind.INCIDENT,
                "brand",
                1,
                None,
                {**_incident(BRAND, cost), "findings": findings},
            )

    def events(
        self,
        kind: OutcomeKind,
        positions: IntArray,
        *,
        values: FloatArray | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        """One outcome per segment with a count (and summed value), or one per customer."""
        if not len(positions):
            return
        extra = attributes or {}
        population = self._market._truth.population
        segment_ids = population.segment_ids
        segments = population.segment[positions]
        if self._market._detail == "customer":
            ids = population.ids(positions)
            for i, customer_id in enumerate(ids):
                value = None if values is None else float(values[i])
                segment = {"segment": segment_ids[segments[i]]}
                self._outcome(kind, customer_id, 1, value, {**segment, **extra}, customer_id)
            return
        counts = np.bincount(segments, minlength=len(segment_ids))
        sums = (
            None
            if values is None
            else np.bincount(segments, weights=values, minlength=len(segment_ids))
        )
        for index, count in enumerate(counts.tolist()):
            if count:
                value = None if sums is None else float(sums[index])
                segment_id = segment_ids[index]
                self._outcome(kind, segment_id, count, value, {"segment": segment_id, **extra})

    def done(self, day: int, accepted: int, note: str | None) -> Execution:
        self._market._totals.record(self.outcomes)
        return Execution(self._action_id or _ORGANIC, day, accepted, tuple(self.outcomes), note)


def _consent_column(channel: ChannelName) -> int:
    return CONSENT_CHANNELS.index(channel)


def _incident(kind: str, cost: float) -> dict[str, Any]:
    return {"incident": kind, "cost": f"{cost:.2f}"}


def _order_value_draws(rng: np.random.Generator, n: int) -> FloatArray:
    """``n`` order-value multipliers with mean 1."""
    sd = _ORDER_VALUE_SD
    return np.asarray(np.exp(sd * rng.standard_normal(n) - 0.5 * sd * sd), dtype=np.float64)


def _holdout(action: Action) -> tuple[float, str]:
    share = action.parameters.get("holdout_share", 0.0)
    if (
        not isinstance(share, int | float)
        or isinstance(share, bool)
        or not 0 <= share <= _MAX_HOLDOUT
    ):
        raise MarketError(
            f"action {action.id}: parameters.holdout_share must be a number from 0 to "
            f"{_MAX_HOLDOUT}"
        )
    experiment = action.parameters.get("experiment_id", action.id)
    if not isinstance(experiment, str) or not experiment.strip():
        raise MarketError(f"action {action.id}: parameters.experiment_id must be a non-empty text")
    return float(share), experiment


def _hash_uniform(positions: IntArray, seed: int, key: str) -> FloatArray:
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
