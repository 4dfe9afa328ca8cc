"""Market scenarios: the ground truth a simulated market runs on, read from YAML.

A scenario names its population (regions, time zones, consent, segments), its offers and
message angles, each channel's response and cost, fatigue, brand and consent risk, seasonality,
noise and shocks. ``docs/simulator.md`` documents every field. Response rates factor as

    P(conversion | contact) = channel rate x segment x offer x angle x season x shocks x fatigue

so a scenario stays small while every segment x offer x angle cell has its own rate.
"""

from __future__ import annotations

import calendar
import math
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mios.context.spec import is_time_zone
from mios.context.yaml_source import read_yaml, validated
from mios.domain.channel import CONSENT_CHANNELS, ChannelName
from mios.errors import ScenarioError

SHIPPED = Path(__file__).parent / "scenarios"

Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
Rate = Annotated[float, Field(ge=0, le=1)]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Multiplier = Annotated[float, Field(ge=0, le=100)]
_SUM_TOLERANCE = 1e-6
MAX_CUSTOMERS = 100_000_000
LAST_START = date(9000, 1, 1)  # a run of up to ten years must stay inside the calendar


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _sums_to_one(shares: dict[str, float], what: str) -> None:
    total = sum(shares.values())
    if abs(total - 1.0) > _SUM_TOLERANCE:
        raise ValueError(f"{what} add up to {total:g}, not 1")


class RegionSpec(Spec):
    share: Rate
    time_zones: dict[str, Rate]
    consent: dict[ChannelName, Rate] = {}  # share of the region's customers who granted consent

    @field_validator("time_zones")
    @classmethod
    def _zones(cls, zones: dict[str, float]) -> dict[str, float]:
        for zone in zones:
            if not is_time_zone(zone):
                raise ValueError(f"unknown IANA time zone {zone!r}")
        _sums_to_one(zones, "time zone shares")
        return zones


class SegmentSpec(Spec):
    id: Identifier
    share: Rate
    response: Multiplier = 1.0  # how much more (or less) this segment buys per contact
    order_value: Multiplier = 1.0  # its orders relative to the offer's average
    fatigue: Multiplier = 1.0  # how strongly extra contacts wear it out
    organic_daily_rate: Rate = 0.0  # chance a customer buys on a day with no contact at all


class OfferSpec(Spec):
    id: Identifier
    margin: Annotated[float, Field(gt=-1, lt=1)]  # contribution margin share of revenue
    average_order_value: Positive
    response: Multiplier = 1.0
    responses: dict[Identifier, Multiplier] = {}  # per segment id: an exception to the product


class AngleSpec(Spec):
    id: Identifier
    response: Multiplier = 1.0
    responses: dict[Identifier, Multiplier] = {}  # per segment id


class DirectChannelSpec(Spec):
    """Addressed messages: email, sms, push."""

    cost_per_contact: NonNegative
    capacity_per_day: Annotated[int, Field(ge=0)]
    delivery_rate: Rate = 0.98
    open_rate: Rate
    click_rate: Rate  # of opens
    conversion_rate: Rate  # per delivered message, before every multiplier


class PaidChannelSpec(Spec):
    """Bought media: conversions/day = max_conversions x Hill(adstock(spend)) x multipliers."""

    adstock_decay: Annotated[float, Field(ge=0, lt=1)]  # share of today's effect left tomorrow
    half_saturation: Positive  # adstocked daily spend that buys half the maximum
    shape: Annotated[float, Field(gt=0, le=10)]  # Hill exponent
    max_conversions_per_day: NonNegative
    max_spend_per_day: NonNegative
    cost_per_click: Positive  # to turn spend into clicks and impressions for reporting
    click_through_rate: Rate


class ContentChannelSpec(Spec):
    """Published content: each piece reaches people for a while and converts a few."""

    cost_per_piece: NonNegative
    reach_per_piece: NonNegative  # people reached over the piece's life
    life_days: Annotated[int, Field(ge=1, le=365)]
    conversion_rate: Rate  # per person reached


class ChannelsSpec(Spec):
    email: DirectChannelSpec | None = None
    sms: DirectChannelSpec | None = None
    push: DirectChannelSpec | None = None
    paid_search: PaidChannelSpec | None = None
    paid_social: PaidChannelSpec | None = None
    display: PaidChannelSpec | None = None
    content: ContentChannelSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _known(cls, data: object) -> object:
        if isinstance(data, dict):
            for name in data:
                if name not in ChannelName.__members__.values():
                    known = ", ".join(c.value for c in ChannelName)
                    raise ValueError(f"unknown channel {name!r}; channels are {known}")
        return data


class FatigueSpec(Spec):
    """Contacts per customer per week, counted across every channel together."""

    free_contacts_per_week: Annotated[int, Field(ge=0, le=50)] = 1
    response_decay: Rate = 0.2  # response falls by this share per contact beyond the free ones
    unsubscribe_base: Rate = 0.001  # per delivered message
    unsubscribe_per_extra_contact: Rate = 0.002
    complaint_base: Rate = 0.0001
    complaint_per_extra_contact: Rate = 0.0004


class RiskSpec(Spec):
    compliance_incident_cost: NonNegative = 500.0  # each message sent without consent
    brand_incident_cost: NonNegative = 5000.0  # each piece with a banned term or false claim
    banned_terms: list[str] = []
    substantiated_claims: list[Identifier] = []


class PeakSpec(Spec):
    day_of_year: Annotated[int, Field(ge=1, le=366)]
    width_days: Positive
    lift: Annotated[float, Field(ge=-0.99, le=20)]  # +0.8 means 80% more response at the peak


class SeasonalitySpec(Spec):
    weekly: Annotated[list[Multiplier], Field(min_length=7, max_length=7)] = [1.0] * 7
    peaks: list[PeakSpec] = []
    trend_per_year: Annotated[float, Field(ge=-0.9, le=10)] = 0.0


class ShockSpec(Spec):
    kind: Literal["competitor_promotion", "channel_outage"]
    start_day: Annotated[int, Field(ge=0)]
    days: Annotated[int, Field(ge=1)]
    response: Multiplier = 1.0  # competitor promotion: our response is multiplied by this
    channel: ChannelName | None = None  # channel outage: which channel delivers nothing

    @model_validator(mode="after")
    def _fields_fit_the_kind(self) -> ShockSpec:
        if self.kind == "channel_outage":
            if self.channel is None:
                raise ValueError("a channel_outage needs a channel")
            if self.response != 1.0:
                raise ValueError("a channel_outage takes no response; the channel delivers nothing")
        elif self.channel is not None:
            raise ValueError("a competitor_promotion moves every channel; it takes no channel")
        return self


class LimitsSpec(Spec):
    """What every reference policy must stay within (mios itself runs on the workspace's own)."""

    daily_budget: NonNegative  # paid media and content together, per day
    contacts_per_week: Annotated[int, Field(ge=0, le=50)] = 3  # per customer, all channels


class PopulationSpec(Spec):
    customers: Annotated[int, Field(ge=1, le=MAX_CUSTOMERS)]
    regions: dict[Annotated[str, Field(pattern=r"^[A-Z]{2,8}$")], RegionSpec]
    segments: Annotated[list[SegmentSpec], Field(min_length=1, max_length=1000)]
    # Coefficient of variation of each customer's own responsiveness around their segment's.
    propensity_spread: Annotated[float, Field(ge=0, le=3)] = 0.5

    @model_validator(mode="after")
    def _shares(self) -> PopulationSpec:
        _sums_to_one({name: r.share for name, r in self.regions.items()}, "region shares")
        _sums_to_one({s.id: s.share for s in self.segments}, "segment shares")
        ids = [s.id for s in self.segments]
        if len(ids) != len(set(ids)):
            raise ValueError("segment ids must be unique")
        return self


class Scenario(Spec):
    name: Identifier
    description: str
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    start: date  # day 0 of the simulation: seasonality and weekdays count from here
    population: PopulationSpec
    offers: Annotated[list[OfferSpec], Field(min_length=1)]
    angles: Annotated[list[AngleSpec], Field(min_length=1)]
    channels: ChannelsSpec
    limits: LimitsSpec
    fatigue: FatigueSpec = FatigueSpec()
    risk: RiskSpec = RiskSpec()
    seasonality: SeasonalitySpec = SeasonalitySpec()
    noise: Annotated[float, Field(ge=0, le=2)] = 0.1  # sd of daily log-normal response noise
    shocks: list[ShockSpec] = []

    @field_validator("start")
    @classmethod
    def _start_in_range(cls, start: date) -> date:
        if start >= LAST_START:
            raise ValueError(f"start must be before {LAST_START.isoformat()}")
        return start

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        segments = {s.id for s in self.population.segments}
        for kind, items in (("offer", self.offers), ("angle", self.angles)):
            ids = [item.id for item in items]
            if len(ids) != len(set(ids)):
                raise ValueError(f"{kind} ids must be unique")
            for item in items:
                unknown = set(item.responses) - segments
                if unknown:
                    raise ValueError(
                        f"{kind} {item.id!r} names unknown segment {sorted(unknown)[0]!r}"
                    )
        configured = self.channel_names
        if not configured:
            raise ValueError("a scenario needs at least one channel")
        for region, spec in self.population.regions.items():
            for channel in spec.consent:
                if channel not in CONSENT_CHANNELS:
                    raise ValueError(f"region {region}: {channel} carries no consent")
        for shock in self.shocks:
            if shock.channel is not None and shock.channel not in configured:
                raise ValueError(f"a shock names channel {shock.channel}, which is not configured")
        return self

    @property
    def channel_names(self) -> tuple[ChannelName, ...]:
        return tuple(c for c in ChannelName if getattr(self.channels, c.value) is not None)

    def season(self, day: int) -> float:
        """The response multiplier of ``day`` (0-based) from weekday, peaks and trend."""
        when = date.fromordinal(self.start.toordinal() + day)
        factor = self.seasonality.weekly[when.weekday()]
        day_of_year = when.timetuple().tm_yday
        year_days = 366 if calendar.isleap(when.year) else 365
        for peak in self.seasonality.peaks:
            gap = abs(day_of_year - peak.day_of_year)
            distance = min(gap, year_days - gap)  # a late-December peak reaches into January
            factor *= 1.0 + peak.lift * math.exp(-0.5 * (distance / peak.width_days) ** 2)
        return float(factor * (1.0 + self.seasonality.trend_per_year) ** (day / 365.0))


def shipped_scenarios() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in SHIPPED.glob("*.yaml")))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name, or a scenario file by path."""
    text = str(name_or_path)
    path = SHIPPED / f"{text}.yaml" if text in shipped_scenarios() else Path(text)
    if not path.is_file():
        names = ", ".join(shipped_scenarios())
        raise ScenarioError.at(
            f"no such scenario; give a file or one of {names}", file=str(name_or_path)
        )
    shown = text if path.parent == SHIPPED else str(path)
    document = read_yaml(path, shown, error=ScenarioError)
    return validated(document, Scenario, ScenarioError)
