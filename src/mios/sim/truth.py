"""The market's ground truth: every parameter that decides what customers do, as arrays.

Only the market, the reference policies, tests and benchmarks may read this module; agents, the
brain and governance learn about the market from outcomes, as they would about a real one
(``tests/unit/sim/test_truth_is_hidden.py`` checks the imports).

A market may run fewer (or more) customers than its scenario names. It is then a miniature of the
same market: everything absolute (media curves and spend limits, content reach and cost, channel
capacity, the reference budget) scales by ``customers / scenario customers``, so profit per
customer and every rate stay the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mios.domain.channel import ChannelName
from mios.errors import MarketError
from mios.sim.population import Population, build_population
from mios.sim.scenario import (
    MAX_CUSTOMERS,
    ContentChannelSpec,
    DirectChannelSpec,
    PaidChannelSpec,
    Scenario,
)
from mios.types import FloatArray

ADDRESSED: tuple[ChannelName, ...] = (ChannelName.EMAIL, ChannelName.SMS, ChannelName.PUSH)
PAID: tuple[ChannelName, ...] = (
    ChannelName.PAID_SEARCH,
    ChannelName.PAID_SOCIAL,
    ChannelName.DISPLAY,
)
CHANNEL_INDEX = {channel: index for index, channel in enumerate(ChannelName)}

# Independent random streams, keyed with the seed, so one kind of draw never shifts another.
POPULATION_STREAM = 0
NOISE_STREAM = 1
ACTION_STREAM = 2
DAY_STREAM = 3
HOLDOUT_STREAM = 4
POLICY_STREAM = 5


@dataclass(frozen=True)
class MediaCurve:
    """Expected conversions per day from adstocked spend: geometric adstock, Hill saturation."""

    channel: ChannelName
    adstock_decay: float
    half_saturation: float
    shape: float
    max_conversions_per_day: float
    max_spend_per_day: float
    cost_per_click: float
    click_through_rate: float

    def conversions(self, adstock: float | FloatArray) -> FloatArray:
        a = np.maximum(np.asarray(adstock, dtype=np.float64), 0.0)
        # 1 / (1 + (h/a)^s) rather than r / (1 + r): no inf/inf at extreme spend or shape.
        with np.errstate(divide="ignore", over="ignore"):
            inverse = (self.half_saturation / a) ** self.shape
        share = 1.0 / (1.0 + inverse)
        return np.asarray(self.max_conversions_per_day * share, dtype=np.float64)

    def steady_state(self, daily_spend: float | FloatArray) -> FloatArray:
        """Conversions per day once the same daily spend has run long enough to settle."""
        return self.conversions(
            np.asarray(daily_spend, dtype=np.float64) / (1.0 - self.adstock_decay)
        )


@dataclass(frozen=True)
class ContentTruth:
    cost_per_piece: float
    reach_per_day: float  # people a live piece reaches each day of its life
    life_days: int
    conversion_rate: float


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """The scenario as arrays over segments (S), offers (O) and angles (A), plus the population.

    ``S`` follows ``population.segment_ids``; offers and angles follow the scenario's order.
    """

    scenario: Scenario
    seed: int
    scale: float
    population: Population
    segment_response: FloatArray  # (S,)
    segment_order_value: FloatArray  # (S,)
    segment_fatigue: FloatArray  # (S,)
    organic_rate: FloatArray  # (S,) chance per day of buying unprompted
    offer_response: FloatArray  # (O, S)
    offer_order_value: FloatArray  # (O,)
    offer_margin: FloatArray  # (O,)
    angle_response: FloatArray  # (A, S)
    capacity: dict[ChannelName, int]
    media: dict[ChannelName, MediaCurve]
    content: ContentTruth | None
    daily_budget: float

    @classmethod
    def build(cls, scenario: Scenario, seed: int, customers: int | None = None) -> GroundTruth:
        n = scenario.population.customers if customers is None else customers
        if not 1 <= n <= MAX_CUSTOMERS:
            raise MarketError(f"a market has 1 to {MAX_CUSTOMERS:,} customers, got {n:,}")
        if seed < 0:
            raise MarketError(f"seed must be >= 0, got {seed}")
        scale = n / scenario.population.customers
        rng = np.random.default_rng([seed, POPULATION_STREAM])
        population = build_population(scenario, n, rng)
        segments = scenario.population.segments
        segment_ids = [s.id for s in segments]

        def per_segment(base: float, exceptions: dict[str, float]) -> list[float]:
            return [exceptions.get(s, base) for s in segment_ids]

        capacity: dict[ChannelName, int] = {}
        media: dict[ChannelName, MediaCurve] = {}
        content: ContentTruth | None = None
        for channel in scenario.channel_names:
            spec = getattr(scenario.channels, channel.value)
            if isinstance(spec, DirectChannelSpec):
                capacity[channel] = math.ceil(spec.capacity_per_day * scale)
            elif isinstance(spec, PaidChannelSpec):
                media[channel] = MediaCurve(
                    channel=channel,
                    adstock_decay=spec.adstock_decay,
                    half_saturation=spec.half_saturation * scale,
                    shape=spec.shape,
                    max_conversions_per_day=spec.max_conversions_per_day * scale,
                    max_spend_per_day=spec.max_spend_per_day * scale,
                    cost_per_click=spec.cost_per_click,
                    click_through_rate=spec.click_through_rate,
                )
            elif isinstance(spec, ContentChannelSpec):
                content = ContentTruth(
                    cost_per_piece=spec.cost_per_piece * scale,
                    reach_per_day=spec.reach_per_piece * scale / spec.life_days,
                    life_days=spec.life_days,
                    conversion_rate=spec.conversion_rate,
                )
        return cls(
            scenario=scenario,
            seed=seed,
            scale=scale,
            population=population,
            segment_response=np.array([s.response for s in segments]),
            segment_order_value=np.array([s.order_value for s in segments]),
            segment_fatigue=np.array([s.fatigue for s in segments]),
            organic_rate=np.array([s.organic_daily_rate for s in segments]),
            offer_response=np.array(
                [per_segment(o.response, o.responses) for o in scenario.offers]
            ),
            offer_order_value=np.array([o.average_order_value for o in scenario.offers]),
            offer_margin=np.array([o.margin for o in scenario.offers]),
            angle_response=np.array(
                [per_segment(a.response, a.responses) for a in scenario.angles]
            ),
            capacity=capacity,
            media=media,
            content=content,
            daily_budget=scenario.limits.daily_budget * scale,
        )

    # -- names to indexes ------------------------------------------------------------------

    def offer_index(self, offer_id: str | None) -> int:
        """The offer a piece of content carries; none means the scenario's first (house) offer."""
        if offer_id is None:
            return 0
        for index, offer in enumerate(self.scenario.offers):
            if offer.id == offer_id:
                return index
        known = ", ".join(o.id for o in self.scenario.offers)
        raise MarketError(f"content names offer {offer_id!r}; the market's offers are {known}")

    def angle_index(self, angle_id: str | None) -> int | None:
        if angle_id is None:
            return None
        for index, angle in enumerate(self.scenario.angles):
            if angle.id == angle_id:
                return index
        known = ", ".join(a.id for a in self.scenario.angles)
        raise MarketError(f"content names angle {angle_id!r}; the market's angles are {known}")

    def direct(self, channel: ChannelName) -> DirectChannelSpec:
        spec = getattr(self.scenario.channels, channel.value)
        if not isinstance(spec, DirectChannelSpec):
            raise MarketError(f"the market has no {channel} channel to send messages on")
        return spec

    # -- response --------------------------------------------------------------------------

    def message_response(self, channel: ChannelName, offer: int, angle: int | None) -> FloatArray:
        """(S,) chance that a delivered message converts, before time, fatigue and the person."""
        angle_factor = 1.0 if angle is None else self.angle_response[angle]
        rate = self.direct(channel).conversion_rate
        return np.asarray(
            rate * self.segment_response * self.offer_response[offer] * angle_factor,
            dtype=np.float64,
        )

    def order_value(self, offer: int) -> FloatArray:
        """(S,) average revenue of one order of ``offer`` by each segment."""
        return np.asarray(
            self.offer_order_value[offer] * self.segment_order_value, dtype=np.float64
        )

    def broad_response(self, offer: int, angle: int | None) -> float:
        """How an offer and angle move media and content, which reach no one segment."""
        shares = np.array([s.share for s in self.scenario.population.segments])
        angle_factor = 1.0 if angle is None else self.angle_response[angle]
        return float(np.sum(shares * self.offer_response[offer] * angle_factor))

    def broad_order_value(self, offer: int) -> float:
        shares = np.array([s.share for s in self.scenario.population.segments])
        return float(self.offer_order_value[offer] * np.sum(shares * self.segment_order_value))

    def demand(self, day: int) -> float:
        """Season times every competitor promotion running on ``day``."""
        factor = self.scenario.season(day)
        for shock in self.scenario.shocks:
            if (
                shock.kind == "competitor_promotion"
                and shock.start_day <= day < shock.start_day + shock.days
            ):
                factor *= shock.response
        return factor

    def outage(self, channel: ChannelName, day: int) -> bool:
        return any(
            shock.kind == "channel_outage"
            and shock.channel == channel
            and shock.start_day <= day < shock.start_day + shock.days
            for shock in self.scenario.shocks
        )

    def noise(self, day: int, channel: ChannelName) -> float:
        """The day's log-normal response shock on one channel (mean 1), fixed by the seed."""
        sd = self.scenario.noise
        if sd == 0:
            return 1.0
        draw = np.random.default_rng(
            [self.seed, NOISE_STREAM, day, CHANNEL_INDEX[channel]]
        ).normal()
        return math.exp(sd * draw - 0.5 * sd * sd)

    def fatigue(self, contact: FloatArray, segment_fatigue: FloatArray) -> FloatArray:
        """Contacts beyond the free ones this week, weighted by how easily the segment tires."""
        free = self.scenario.fatigue.free_contacts_per_week
        return np.asarray(np.maximum(contact - free, 0.0) * segment_fatigue, dtype=np.float64)

    def response_after(self, extra: FloatArray) -> FloatArray:
        """The share of response left after ``extra`` weighted contacts this week."""
        return np.asarray((1.0 - self.scenario.fatigue.response_decay) ** extra, dtype=np.float64)
