"""The simulated customers: who they are (observable) and how responsive each one is (hidden).

A population is columns drawn once from the scenario and the seed. Segment and region shares are
met exactly (largest remainder), then customers are shuffled, so position says nothing about a
customer. Each customer's own responsiveness (``propensity``) is a Gamma draw with mean 1 and the
scenario's ``propensity_spread`` as coefficient of variation: two customers of one segment differ,
as they do in a real list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np

from mios.domain.categorical import Categorical
from mios.domain.channel import CONSENT_CHANNELS
from mios.domain.customer import BASIS_CODES, CONSENT_CODES, ConsentStatus, LawfulBasis
from mios.domain.customer_table import CustomerTable
from mios.errors import MarketError
from mios.sim.scenario import Scenario
from mios.types import BoolArray, CodeArray, FloatArray, IntArray

_ID_PREFIX = "C"
_MIN_ID_DIGITS = 7
#: Countries of the time zones the shipped scenarios use; any other zone takes its region's code.
_COUNTRY_OF_ZONE = {
    "America/New_York": "US",
    "America/Chicago": "US",
    "America/Denver": "US",
    "America/Los_Angeles": "US",
    "America/Toronto": "CA",
    "America/Vancouver": "CA",
    "Europe/London": "GB",
    "Europe/Berlin": "DE",
    "Europe/Paris": "FR",
    "Europe/Amsterdam": "NL",
    "Europe/Madrid": "ES",
}
#: Every grant in the simulated population is an opt-in, recorded with consent as its basis.
_CONSENT_BASIS = BASIS_CODES.index(LawfulBasis.CONSENT)


def exact_counts(shares: list[float], total: int) -> IntArray:
    """Split ``total`` by ``shares`` into integers that add up exactly (largest remainder)."""
    weights = np.asarray(shares, dtype=np.float64)
    # Shares are checked to add up to 1 within a tolerance; normalising keeps the sum exact.
    raw = weights / weights.sum() * total
    counts = np.floor(raw).astype(np.int64)
    short = total - int(counts.sum())
    # Stable order on ties, so the split never depends on floating-point noise between runs.
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:short]] += 1
    return np.asarray(counts, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Population:
    """n customers as columns. ``segment`` and ``propensity`` are ground truth; the rest is what
    a business would know about its customers (and what ``customer_table`` exports)."""

    segment: CodeArray  # (n,) index into segment_ids
    region: CodeArray  # (n,) index into region_ids
    time_zone: IntArray  # (n,) index into time_zones
    consent: BoolArray  # (n, len(CONSENT_CHANNELS)) consent granted at the start
    propensity: FloatArray  # (n,) mean 1 across the population
    segment_ids: tuple[str, ...]
    region_ids: tuple[str, ...]
    time_zones: tuple[str, ...]
    zone_regions: tuple[str, ...]  # the region each time zone belongs to

    def __len__(self) -> int:
        return int(self.segment.shape[0])

    @property
    def id_digits(self) -> int:
        return max(_MIN_ID_DIGITS, len(str(len(self))))

    def ids(self, positions: IntArray) -> list[str]:
        digits = self.id_digits
        return [f"{_ID_PREFIX}{p + 1:0{digits}d}" for p in positions.tolist()]

    def positions(self, ids: tuple[str, ...] | list[str]) -> IntArray:
        """Positions of customer ids; an id this market never issued is a ``MarketError``."""
        digits = self.id_digits
        out = np.empty(len(ids), dtype=np.int64)
        for i, customer_id in enumerate(ids):
            number = customer_id[1:]
            if (
                customer_id[:1] != _ID_PREFIX
                or len(number) != digits
                or not (number.isascii() and number.isdigit())
                or not 1 <= int(number) <= len(self)
            ):
                raise MarketError(
                    f"audience names customer {customer_id!r}, who is not in the market"
                )
            out[i] = int(number) - 1
        return out

    def customer_table(self, start: date) -> CustomerTable:
        """What a business would hold about these customers: ids, region, time zone, consent
        (granted from the scenario's start, on the basis of consent) and the ``segment``
        attribute. Propensity stays hidden."""
        n = len(self)
        every = np.arange(n, dtype=np.int64)
        granted = CONSENT_CODES.index(ConsentStatus.GRANTED)
        denied = CONSENT_CODES.index(ConsentStatus.DENIED)
        status = np.where(self.consent, granted, denied).astype(np.int8)
        basis = np.where(self.consent, _CONSENT_BASIS, 0).astype(np.int8)
        since = np.datetime64(
            datetime(start.year, start.month, start.day, tzinfo=UTC).replace(tzinfo=None), "s"
        )
        at = np.where(self.consent, since, np.datetime64("NaT", "s")).astype("datetime64[s]")
        region_names = np.asarray(self.region_ids, dtype=np.str_)
        countries = np.asarray(
            [
                _COUNTRY_OF_ZONE.get(zone, region)
                for zone, region in zip(self.time_zones, self.zone_regions, strict=True)
            ],
            dtype=np.str_,
        )
        return CustomerTable(
            ids=np.asarray(self.ids(every), dtype=np.str_),
            region=Categorical.from_strings(region_names[self.region]),
            country=Categorical.from_strings(countries[self.time_zone]),
            time_zone=Categorical.from_strings(
                np.asarray(self.time_zones, dtype=np.str_)[self.time_zone]
            ),
            suppressed=np.zeros(n, dtype=np.bool_),
            suppression_reason=Categorical(np.full(n, -1, dtype=np.int32), ()),
            consent_status=status,
            consent_basis=basis,
            consent_at=at,
            categorical={
                "segment": Categorical.from_strings(
                    np.asarray(self.segment_ids, dtype=np.str_)[self.segment]
                )
            },
        )


def build_population(scenario: Scenario, customers: int, rng: np.random.Generator) -> Population:
    """Draw ``customers`` people from the scenario's population, reproducibly from ``rng``."""
    spec = scenario.population
    segment_ids = tuple(s.id for s in spec.segments)
    region_ids = tuple(spec.regions)
    segment = np.repeat(
        np.arange(len(segment_ids), dtype=np.int32),
        exact_counts([s.share for s in spec.segments], customers),
    )
    rng.shuffle(segment)
    region = np.repeat(
        np.arange(len(region_ids), dtype=np.int32),
        exact_counts([spec.regions[r].share for r in region_ids], customers),
    )
    rng.shuffle(region)

    zones: list[str] = []
    zone_regions: list[str] = []
    time_zone = np.zeros(customers, dtype=np.int64)
    consent = np.zeros((customers, len(CONSENT_CHANNELS)), dtype=np.bool_)
    for index, name in enumerate(region_ids):
        region_spec = spec.regions[name]
        members = np.flatnonzero(region == index)
        first_zone = len(zones)
        zones.extend(region_spec.time_zones)
        zone_regions.extend([name] * len(region_spec.time_zones))
        local = np.repeat(
            np.arange(len(region_spec.time_zones), dtype=np.int64),
            exact_counts(list(region_spec.time_zones.values()), len(members)),
        )
        rng.shuffle(local)
        time_zone[members] = first_zone + local
        for column, channel in enumerate(CONSENT_CHANNELS):
            share = region_spec.consent.get(channel, 0.0)
            consent[members, column] = rng.random(len(members)) < share

    spread = spec.propensity_spread
    if spread > 0:
        shape = 1.0 / spread**2
        propensity = rng.gamma(shape, 1.0 / shape, customers)
    else:
        propensity = np.ones(customers, dtype=np.float64)
    return Population(
        segment=segment,
        region=region,
        time_zone=time_zone,
        consent=consent,
        propensity=propensity,
        segment_ids=segment_ids,
        region_ids=region_ids,
        time_zones=tuple(zones),
        zone_regions=tuple(zone_regions),
    )
