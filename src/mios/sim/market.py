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

An action is checked whole before it changes anything: one the market refuses (``MarketError``)
leaves the market as it was. Content with a banned term or a claim that is not substantiated
creates one brand incident per execution. Outcomes are aggregated per action, kind and segment
(``detail="aggregate"``, which scales to millions; unsubscribes and complaints always name the
customer, so a business can honour them) or reported per customer (``detail="customer"``).

Every draw comes from a stream keyed by the seed, the day and the action's idempotency key (or
the channel, or the content piece), so the same inputs give byte-identical outcomes, and adding
an action leaves the draws of every other action as they were.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Literal

import numpy as np

from mios.domain.action import Action
from mios.domain.channel import CONSENT_CHANNELS, ChannelName
from mios.domain.customer_table import CustomerTable
from mios.domain.holdout import holdout_of
from mios.domain.outcome import Outcome, OutcomeKind
from mios.domain.proposal import ActionKind, Content
from mios.errors import DomainError, MarketError
from mios.sim.draws import hash_uniform, order_value_draws
from mios.sim.events import ORGANIC, Books, Emitter, Execution, incident
from mios.sim.media import AdPool, MediaDesk, Piece
from mios.sim.scenario import LimitsSpec, Scenario
from mios.sim.totals import COMPLIANCE, Totals
from mios.sim.truth import (
    ACTION_STREAM,
    ADDRESSED,
    DAY_STREAM,
    GroundTruth,
)
from mios.types import BoolArray, IntArray

Detail = Literal["aggregate", "customer"]


@dataclass(frozen=True)
class _Holdout:
    action_id: str
    experiment_id: str
    positions: IntArray


@dataclass(frozen=True)
class OfferTerms:
    """What a business knows of one of its offers: its margin and average order value (how
    customers respond to it is hidden)."""

    id: str
    margin: float
    average_order_value: float


@dataclass
class _Day:
    """What one open day has accumulated; reset when the day closes."""

    serial: int = 0  # numbers every group of events, so outcome ids never repeat
    sent: dict[ChannelName, int] = field(default_factory=dict)
    holdouts: list[_Holdout] = field(default_factory=list)
    executions: dict[str, int] = field(default_factory=dict)  # per idempotency key


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
        self._serial = 0  # numbers budget settings and content pieces across days
        self._week_contacts = np.zeros(n, dtype=np.int16)
        self._withdrawn = np.zeros((n, len(CONSENT_CHANNELS)), dtype=np.bool_)
        self._organic_used = np.zeros(n, dtype=np.bool_)
        self._organic_base = self._truth.organic_rate[population.segment] * population.propensity
        self._members = {
            segment_id: np.flatnonzero(population.segment == index)
            for index, segment_id in enumerate(population.segment_ids)
        }
        self._audiences: dict[str, IntArray] = {}
        self._media = MediaDesk(self._truth)
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

    # -- what a business would know -------------------------------------------------------

    @property
    def name(self) -> str:
        return self._truth.scenario.name

    @property
    def start(self) -> date:
        return self._truth.scenario.start

    @property
    def currency(self) -> str:
        return self._truth.scenario.currency

    @property
    def channel_names(self) -> tuple[ChannelName, ...]:
        return self._truth.scenario.channel_names

    @property
    def offer_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self._truth.scenario.offers)

    @property
    def angle_ids(self) -> tuple[str, ...]:
        return tuple(a.id for a in self._truth.scenario.angles)

    @property
    def offer_terms(self) -> tuple[OfferTerms, ...]:
        """Each offer's margin and average order value, in the scenario's order."""
        return tuple(
            OfferTerms(o.id, o.margin, o.average_order_value) for o in self._truth.scenario.offers
        )

    @property
    def banned_terms(self) -> tuple[str, ...]:
        """Terms the brand never uses (content holding one is a brand incident)."""
        return tuple(self._truth.scenario.risk.banned_terms)

    @property
    def substantiated_claims(self) -> tuple[str, ...]:
        """Ids of the claims the business can back (any other claim is a brand incident)."""
        return tuple(self._truth.scenario.risk.substantiated_claims)

    @property
    def limits(self) -> LimitsSpec:
        """The reference budget (scaled to this market's size) and contact cap."""
        return self._truth.scenario.limits.model_copy(
            update={"daily_budget": self._truth.daily_budget}
        )

    @property
    def day(self) -> int:
        """The open day: the next ``step`` or ``execute`` happens on it."""
        return self._day

    @property
    def customers(self) -> int:
        return len(self._truth.population)

    @property
    def segment_ids(self) -> tuple[str, ...]:
        return self._truth.population.segment_ids

    def price(self, channel: ChannelName) -> float:
        """What one message costs on an addressed channel, one piece on content, or one click
        on paid media."""
        if channel is ChannelName.CONTENT and self._truth.content is not None:
            return self._truth.content.cost_per_piece
        if channel in self._truth.media:
            return self._truth.media[channel].cost_per_click
        return self._truth.direct(channel).cost_per_contact

    def capacity(self, channel: ChannelName) -> int | None:
        """Most messages an addressed channel delivers a day; ``None`` for other channels."""
        if channel not in self.channel_names:
            raise MarketError(f"the market has no {channel} channel")
        return self._truth.capacity.get(channel)

    def earlier(self, start: date, *, seed: int) -> Market:
        """A separate market of the same scenario and size that opens on ``start``, before this
        one, to play out a past (for history). It has none of the scenario's shocks and no trend:
        both count from the scenario's start, so a copy opened earlier would put this market's
        competitor promotions and outages in its past and end it above this market's level."""
        if start >= self.start:
            raise MarketError(f"an earlier market must open before {self.start}, not on {start}")
        scenario = self._truth.scenario
        past = scenario.model_copy(
            update={
                "start": start,
                "shocks": [],
                "seasonality": scenario.seasonality.model_copy(update={"trend_per_year": 0.0}),
            }
        )
        return Market(past, seed, self.customers, detail=self._detail)

    def customer_ids(self, positions: IntArray) -> list[str]:
        return self._truth.population.ids(positions)

    def customer_table(self) -> CustomerTable:
        """The customers as a business would hold them at the start (ids, region, country,
        time zone, consent, the ``segment`` attribute); withdrawals since then arrive as
        unsubscribe and complaint outcomes that name the customer."""
        if self._table is None:
            self._table = self._truth.population.customer_table(self.start)
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
        """Everything so far. Contacts per week count complete weeks; until a week is complete,
        the open one counts, so a run shorter than a week still reports its contacts."""
        snapshot = replace(self._totals, contact_weeks=self._totals.contact_weeks.copy())
        complete_weeks = self._day // 7
        if complete_weeks == 0 and (self._day > 0 or self._week_contacts.any()):
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
            if customers.ndim != 1 or customers.dtype.kind not in "iu":
                raise MarketError(f"audience {name!r}: positions must be a 1-d integer array")
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
        if channel is not None and channel not in self.channel_names:
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
        outcomes.extend(self._media.close_day(day, self._emitter))
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
        day = self._day
        if truth.outage(channel, day):
            return Execution(action.id, day, 0, (), f"{channel} is down on day {day}", True)
        room = max(truth.capacity[channel] - self._today.sent.get(channel, 0), 0)
        if room == 0 and len(audience):
            return Execution(action.id, day, 0, (), f"{channel} is at capacity for day {day}", True)

        rng = self._action_rng(action)
        arm: dict[str, Any] = {}
        held_out = 0
        if share > 0:
            in_holdout = hash_uniform(audience, truth.seed, experiment) < share
            held_out = int(in_holdout.sum())
            self._today.holdouts.append(_Holdout(action.id, experiment, audience[in_holdout]))
            audience = audience[~in_holdout]
            arm = {"experiment_id": experiment, "arm": "treatment"}
        note = None
        if len(audience) > room:
            note = f"{channel} capacity reached: {len(audience) - room} of {len(audience)} not sent"
            # Who misses out is drawn afresh each time, so capacity favours nobody.
            audience = np.sort(rng.choice(audience, size=room, replace=False))
        self._today.sent[channel] = self._today.sent.get(channel, 0) + len(audience)

        emit = self._emitter(action.id, channel, arm)
        emit.money(OutcomeKind.SPEND, spec.cost_per_contact * len(audience))
        emit.brand(content)
        self._respond(rng, channel, offer, angle, audience, emit)
        return emit.done(day, len(audience), note, held_out)

    def _respond(
        self,
        rng: np.random.Generator,
        channel: ChannelName,
        offer: int,
        angle: int | None,
        audience: IntArray,
        emit: Emitter,
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
        fatigue = truth.scenario.fatigue
        complaint_chance = fatigue.complaint_base + fatigue.complaint_per_extra_contact * extra
        complained = violation | (delivered & (rng.random(n) < complaint_chance))
        unsubscribe_chance = (
            fatigue.unsubscribe_base + fatigue.unsubscribe_per_extra_contact * extra
        )
        unsubscribed = delivered & ~complained & (rng.random(n) < unsubscribe_chance)
        self._withdrawn[audience[complained | unsubscribed], column] = True
        buyers = audience[bought]
        value = truth.order_value(offer)[segment[bought]] * order_value_draws(rng, len(buyers))

        emit.events(OutcomeKind.DELIVERED, audience[delivered])
        emit.events(OutcomeKind.OPEN, audience[opened])
        emit.events(OutcomeKind.CLICK, audience[clicked])
        emit.events(
            OutcomeKind.CONVERSION,
            buyers,
            values=value,
            attributes={"offer": truth.scenario.offers[offer].id},
        )
        emit.events(OutcomeKind.UNSUBSCRIBE, audience[unsubscribed], per_customer=True)
        emit.events(OutcomeKind.COMPLAINT, audience[complained], per_customer=True)
        emit.events(
            OutcomeKind.INCIDENT,
            audience[violation],
            attributes=incident(COMPLIANCE, truth.scenario.risk.compliance_incident_cost),
        )

    def _publish(self, action: Action) -> Execution:
        truth = self._truth
        assert action.content is not None  # the domain requires content to publish
        if action.channel is not ChannelName.CONTENT or truth.content is None:
            raise MarketError(f"action {action.id}: publish_content needs the content channel")
        offer = truth.offer_index(action.content.offer_id)
        angle = truth.angle_index(action.content.angle)
        day = self._day
        if truth.outage(ChannelName.CONTENT, day):
            return Execution(action.id, day, 0, (), f"content is down on day {day}", True)
        self._serial += 1
        last_day = day + truth.content.life_days - 1
        self._media.publish(Piece(action.id, self._serial, last_day, offer, angle))
        emit = self._emitter(action.id, ChannelName.CONTENT, {})
        emit.money(OutcomeKind.SPEND, truth.content.cost_per_piece)
        emit.brand(action.content)
        return emit.done(day, 1, None)

    def _buy_media(self, action: Action) -> Execution:
        truth = self._truth
        channel = action.channel
        if channel is None or channel not in truth.media:
            raise MarketError(f"action {action.id}: {action.kind} needs a paid media channel")
        curve = truth.media[channel]
        spend, offer, angle = self._media.setting(action, channel)
        content = action.content
        audience = action.audience
        # A customer-list upload is the one paid-media audience that names people, so consent
        # applies; a segment or an estimate is the platform's targeting and names nobody.
        listed = None
        if audience is not None and audience.customer_ids and channel in CONSENT_CHANNELS:
            listed = self._truth.population.positions(audience.customer_ids)
        day = self._day
        if truth.outage(channel, day):
            return Execution(action.id, day, 0, (), f"{channel} is down on day {day}", True)

        note = None
        if spend > curve.max_spend_per_day:
            note = f"{channel} spends at most {curve.max_spend_per_day:.2f} a day"
        self._serial += 1
        self._media.place(channel, AdPool(action.id, self._serial, offer, angle, spend))
        emit = self._emitter(action.id, channel, {})
        if content is not None:
            emit.brand(content)
        if listed is not None:
            column = _consent_column(channel)
            violation = ~(
                self._truth.population.consent[listed, column] & ~self._withdrawn[listed, column]
            )
            emit.events(
                OutcomeKind.INCIDENT,
                np.unique(listed[violation]),
                attributes=incident(COMPLIANCE, truth.scenario.risk.compliance_incident_cost),
            )
        return emit.done(day, 1, note)

    # -- closing a day --------------------------------------------------------------------

    def _run_organic(self, day: int) -> list[Outcome]:
        truth, population = self._truth, self._truth.population
        rng = np.random.default_rng([truth.seed, DAY_STREAM, day, 300])
        bought = rng.random(self.customers) < self._organic_base * truth.demand(day)
        bought &= ~self._organic_used
        value = np.zeros(self.customers)
        buyers = np.flatnonzero(bought)
        value[buyers] = truth.order_value(0)[population.segment[buyers]] * order_value_draws(
            rng, len(buyers)
        )
        house = {"offer": truth.scenario.offers[0].id}
        outcomes: list[Outcome] = []
        for holdout in self._today.holdouts:
            held = holdout.positions[bought[holdout.positions]]
            bought[held] = False
            emit = self._emitter(
                holdout.action_id,
                None,
                {"experiment_id": holdout.experiment_id, "arm": "holdout"},
            )
            emit.events(OutcomeKind.CONVERSION, held, values=value[held], attributes=house)
            outcomes.extend(emit.outcomes)
        buyers = np.flatnonzero(bought)
        emit = self._emitter(None, None, {})
        emit.events(OutcomeKind.CONVERSION, buyers, values=value[buyers], attributes=house)
        outcomes.extend(emit.outcomes)
        return outcomes

    # -- helpers --------------------------------------------------------------------------

    def _emitter(
        self, action_id: str | None, channel: ChannelName | None, attributes: dict[str, Any]
    ) -> Emitter:
        self._today.serial += 1
        prefix = f"d{self._day}.{self._today.serial}.{action_id or ORGANIC}"
        return Emitter(self._books(), prefix, action_id, channel, attributes)

    def _books(self) -> Books:
        start, risk = self.start, self._truth.scenario.risk
        at = datetime.combine(date.fromordinal(start.toordinal() + self._day), time(12), UTC)
        return Books(
            population=self._truth.population,
            per_customer=self._detail == "customer",
            currency=self.currency,
            at=at,
            totals=self._totals,
            brand_findings=self._brand_findings,
            brand_incident_cost=risk.brand_incident_cost,
        )

    def _action_rng(self, action: Action) -> np.random.Generator:
        """Draws of one execution: keyed by the action's idempotency key, and by how often that
        key ran today, so other actions never shift them."""
        key = action.idempotency_key
        repeat = self._today.executions.get(key, 0)
        self._today.executions[key] = repeat + 1
        words = np.frombuffer(hashlib.sha256(key.encode()).digest()[:16], dtype=np.uint32)
        return np.random.default_rng(
            [self._truth.seed, ACTION_STREAM, self._day, *words.tolist(), repeat]
        )

    def _resolve(self, action: Action) -> IntArray:
        audience = action.audience
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
        return np.unique(np.concatenate(parts))

    def _brand_findings(self, content: Content) -> list[str]:
        text = " ".join(t for t in (content.subject, content.headline, content.body) if t)
        found = [f"banned term {term!r}" for term, pattern in self._banned if pattern.search(text)]
        known = set(self._truth.scenario.risk.substantiated_claims)
        found += [
            f"unsubstantiated claim {claim!r}" for claim in content.claims if claim not in known
        ]
        return found


def _consent_column(channel: ChannelName) -> int:
    return CONSENT_CHANNELS.index(channel)


def _holdout(action: Action) -> tuple[float, str]:
    """The share to hold out and the experiment's id (the market draws who, with its seed);
    ``MarketError`` for a malformed parameter, as for any action the market refuses."""
    try:
        found = holdout_of(action.id, action.parameters)
    except DomainError as exc:
        raise MarketError(str(exc)) from exc
    return (0.0, action.id) if found is None else (found.share, found.experiment_id)
