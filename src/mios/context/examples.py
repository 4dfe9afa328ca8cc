"""Write a complete example workspace: what ``mios init`` gives people to start from.

    write_example(root, "retail", customers=50_000, seed=7)

writes ``mios.yaml``, ``policies/*.yaml``, ``playbooks/*.yaml``, ``data/offers.yaml``,
``data/research/*`` (example research documents), ``data/customers.csv`` and
``data/history/channels.csv``. The authored files are copied from
``example_workspaces/<example>/``; the data is generated here, vectorized with NumPy, from the
seed alone. Every date is counted back from ``AS_OF``, never from today, so the same example,
count and seed give byte-identical files on any day.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from mios.domain.channel import CONSENT_CHANNELS, ChannelName
from mios.errors import InputError
from mios.types import FloatArray, IntArray, StrArray

EXAMPLES = ("retail", "b2b")
#: The files people author (mios.yaml, offers, policies, playbooks), kept as real YAML files
#: with their comments; only the data files are generated.
AUTHORED = Path(__file__).parent / "example_workspaces"
#: Which authored files are copied: the YAML files, and the research documents agents read.
AUTHORED_PATTERNS = ("**/*.yaml", *(f"data/research/*.{ext}" for ext in ("csv", "md", "txt")))
#: The day the example data describes (a Monday): history ends with the week before it.
AS_OF = date(2026, 11, 16)
HISTORY_WEEKS = 104
CUSTOMERS_FILE = Path("data", "customers.csv")
HISTORY_FILE = Path("data", "history", "channels.csv")

Columns = dict[str, StrArray]  # CSV header -> formatted values, in column order
Rng = np.random.Generator

# -- who the customers are and where ------------------------------------------------------------

_REGIONS = ("US", "EU", "CA")
_REGION_SHARE = (0.55, 0.30, 0.15)
_COUNTRIES: Mapping[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "US": (("US",), (1.0,)),
    "EU": (("DE", "FR", "NL", "ES", "IT", "IE", "SE"), (0.27, 0.22, 0.12, 0.13, 0.13, 0.06, 0.07)),
    "CA": (("CA",), (1.0,)),
}
_US_ZONES = ("New_York", "Chicago", "Denver", "Phoenix", "Los_Angeles")
_CA_ZONES = ("Toronto", "Vancouver", "Edmonton", "Winnipeg", "Halifax", "Regina")
_ZONES: Mapping[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "US": (tuple(f"America/{z}" for z in _US_ZONES), (0.46, 0.29, 0.06, 0.02, 0.17)),
    "CA": (tuple(f"America/{z}" for z in _CA_ZONES), (0.60, 0.16, 0.12, 0.04, 0.05, 0.03)),
    "DE": (("Europe/Berlin",), (1.0,)),
    "FR": (("Europe/Paris",), (1.0,)),
    "NL": (("Europe/Amsterdam",), (1.0,)),
    "ES": (("Europe/Madrid", "Atlantic/Canary"), (0.95, 0.05)),
    "IT": (("Europe/Rome",), (1.0,)),
    "IE": (("Europe/Dublin",), (1.0,)),
    "SE": (("Europe/Stockholm",), (1.0,)),
}
_SUPPRESSION = (("hard_bounce", "complaint", "legal_request"), (0.55, 0.25, 0.20))
_SUPPRESSED_SHARE = 0.015
_CONSENT_WINDOW_DAYS = 3 * 365  # consent older than this has been re-collected

# Status codes and labels written to the CSV (the reader's own codes are not needed here).
_UNKNOWN, _GRANTED, _DENIED = 0, 1, 2
_STATUS = np.asarray(["unknown", "granted", "denied"])
_BASIS = np.asarray(["none", "consent", "legitimate_interest", "contract"])

ByRegion = tuple[float, float, float]  # US, EU, CA


@dataclass(frozen=True)
class ConsentMix:
    """How one channel's consent is spread per region. ``basis`` is the split of granted rows
    over consent, legitimate_interest and contract; everyone else has no basis, which is why no
    row is ever granted without one."""

    granted: ByRegion
    denied: ByRegion
    basis: tuple[ByRegion, ByRegion, ByRegion]


_OPT_IN = ((1.0, 0.0, 0.0),) * 3  # SMS and push: express consent only (TCPA, ePrivacy, CASL)
# Customer-list audiences for ads: the EU needs consent; elsewhere legitimate interest is common.
_AUDIENCE_BASIS = ((0.45, 0.55, 0.0), (1.0, 0.0, 0.0), (0.7, 0.3, 0.0))
_RETAIL_CONSENT: Mapping[ChannelName, ConsentMix] = {
    # US email is opt-out by law, so most buyers are in; the EU relies on consent with soft
    # opt-in (legitimate interest) for past buyers; CASL counts a purchase as implied consent.
    ChannelName.EMAIL: ConsentMix(
        (0.74, 0.58, 0.64), (0.09, 0.12, 0.10), ((0.8, 0, 0.2), (0.82, 0.18, 0), (0.7, 0, 0.3))
    ),
    ChannelName.SMS: ConsentMix((0.21, 0.11, 0.15), (0.14, 0.10, 0.12), _OPT_IN),
    ChannelName.PUSH: ConsentMix((0.34, 0.27, 0.30), (0.22, 0.25, 0.22), _OPT_IN),
    ChannelName.PAID_SOCIAL: ConsentMix((0.58, 0.24, 0.46), (0.08, 0.18, 0.10), _AUDIENCE_BASIS),
    ChannelName.DISPLAY: ConsentMix((0.52, 0.19, 0.41), (0.08, 0.20, 0.10), _AUDIENCE_BASIS),
}
_B2B_EMAIL_BASIS = ((0.55, 0.3, 0.15), (0.45, 0.55, 0.0), (0.65, 0.0, 0.35))
_B2B_CONSENT: Mapping[ChannelName, ConsentMix] = {
    # Business contacts: more legitimate interest everywhere, very little SMS.
    ChannelName.EMAIL: ConsentMix((0.68, 0.52, 0.60), (0.07, 0.08, 0.08), _B2B_EMAIL_BASIS),
    ChannelName.SMS: ConsentMix((0.12, 0.05, 0.08), (0.10, 0.08, 0.09), _OPT_IN),
    ChannelName.PUSH: ConsentMix((0.30, 0.25, 0.28), (0.10, 0.12, 0.10), _OPT_IN),
    ChannelName.PAID_SOCIAL: ConsentMix((0.46, 0.22, 0.40), (0.06, 0.15, 0.08), _AUDIENCE_BASIS),
    ChannelName.DISPLAY: ConsentMix((0.40, 0.17, 0.35), (0.07, 0.16, 0.09), _AUDIENCE_BASIS),
}

# -- retail and b2b attributes ------------------------------------------------------------------

_AGE_BANDS = (
    ("under_18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"),
    (0.02, 0.11, 0.24, 0.23, 0.18, 0.13, 0.09),
)
_CATEGORIES = (
    ("jackets", "footwear", "base_layers", "camping", "climbing", "kids", "accessories"),
    (0.26, 0.20, 0.14, 0.14, 0.08, 0.08, 0.10),
)
_COMPANY_SIZES = ("1-10", "11-50", "51-200", "201-1000", "1000+")
_SIZE_SHARE = (0.34, 0.31, 0.20, 0.11, 0.04)
_INDUSTRIES = (
    ("accounting_services", "retail", "hospitality", "professional_services", "construction",
     "healthcare", "software", "nonprofit"),
    (0.14, 0.15, 0.10, 0.20, 0.10, 0.09, 0.14, 0.08),
)  # fmt: skip
_PLANS = np.asarray(["free", "trial", "starter", "team", "business", "enterprise"])
_PLAN_BY_SIZE = np.asarray(
    [
        [0.30, 0.12, 0.40, 0.15, 0.03, 0.00],
        [0.18, 0.10, 0.25, 0.35, 0.11, 0.01],
        [0.10, 0.08, 0.10, 0.37, 0.30, 0.05],
        [0.06, 0.07, 0.03, 0.22, 0.40, 0.22],
        [0.04, 0.06, 0.00, 0.10, 0.35, 0.45],
    ]
)
_SEATS_BY_SIZE = np.asarray([3.0, 9.0, 25.0, 70.0, 180.0])
_SEAT_PRICE = np.asarray([0.0, 0.0, 240.0, 420.0, 660.0, 900.0])  # per seat and year
_BILLING = (("current", "past_due", "hardship_plan"), (0.93, 0.055, 0.015))


def _retail_attributes(rng: Rng, n: int) -> tuple[FloatArray, Columns]:
    """Outdoor-apparel shoppers; returns tenure in days (consent dates depend on it) and columns."""
    tenure = np.minimum(np.ceil(rng.exponential(650.0, n)), 3650.0)
    engagement = rng.lognormal(0.0, 0.7, n)
    orders = 1 + rng.poisson(engagement * tenure / 365.0 * 1.3)
    basket = rng.lognormal(np.log(92.0), 0.35, n)
    # Recency: about one usual gap between orders, except a quarter who drifted away.
    recency = rng.exponential(np.maximum(tenure / orders, 14.0))
    drifted = rng.random(n) < 0.25
    recency = np.where(drifted, np.maximum(recency, tenure * rng.uniform(0.4, 1.0, n)), recency)
    recency = np.where(orders == 1, tenure, np.minimum(np.ceil(recency), tenure))
    clicks = rng.poisson(engagement * np.where(recency < 90, 3.0, 0.6))
    return tenure, {
        "lifetime_value": _money(orders * basket),
        "orders": _whole(orders),
        "days_since_last_order": _whole(recency),
        "tenure_days": _whole(tenure),
        "email_clicks_90d": _whole(clicks),
        "age_band": _pick(rng, *_AGE_BANDS, n),
        "preferred_category": _pick(rng, *_CATEGORIES, n),
    }


def _b2b_attributes(rng: Rng, n: int) -> tuple[FloatArray, Columns]:
    """Accounts of an accounting SaaS: free and trial leads, and paying teams of every size."""
    size = rng.choice(len(_COMPANY_SIZES), size=n, p=_SIZE_SHARE)
    plan = _row_choice(rng, _PLAN_BY_SIZE[size])
    free = plan == 0
    trial = plan == 1
    seats = np.maximum(1.0, np.round(_SEATS_BY_SIZE[size] * rng.lognormal(0.0, 0.45, n)))
    seats = np.where(free, np.minimum(seats, 3.0), seats)
    tenure = np.minimum(np.ceil(rng.exponential(520.0, n)), 3650.0)
    tenure = np.where(trial, rng.integers(1, 31, n), tenure).astype(np.float64)
    dormant = rng.random(n) < np.where(plan <= 1, 0.35, 0.10)
    login = np.where(dormant, 30.0 + rng.exponential(60.0, n), rng.exponential(5.0, n))
    login = np.minimum(np.floor(login), tenure)
    score = rng.normal(40.0 + 9.0 * size + 12.0 * (plan <= 1) - 0.25 * login, 16.0)
    billing = np.where(plan >= 2, _pick(rng, *_BILLING, n), "none")
    return tenure, {
        "company_size": np.asarray(_COMPANY_SIZES)[size],
        "industry": _pick(rng, *_INDUSTRIES, n),
        "plan": _PLANS[plan],
        "seats": _whole(seats),
        "arr": _money(seats * _SEAT_PRICE[plan] * np.where(plan == 5, 0.8, 1.0)),
        "seat_utilization": np.char.mod("%.2f", rng.beta(6.0, 2.0, n)),
        "tenure_days": _whole(tenure),
        "days_since_last_login": _whole(login),
        "lead_score": _whole(np.clip(np.round(score), 0.0, 100.0)),
        "billing_status": billing,
    }


_ATTRIBUTES: Mapping[str, Callable[[Rng, int], tuple[FloatArray, Columns]]] = {
    "retail": _retail_attributes,
    "b2b": _b2b_attributes,
}
_CONSENT: Mapping[str, Mapping[ChannelName, ConsentMix]] = {
    "retail": _RETAIL_CONSENT,
    "b2b": _B2B_CONSENT,
}

# -- weekly channel history ---------------------------------------------------------------------


@dataclass(frozen=True)
class Economics:
    """How a channel turns money into results, at its usual weekly spend."""

    weekly_spend: float
    cpm: float  # cost per 1,000 impressions (sends for email and SMS, page views for content)
    ctr: float  # clicks per impression
    roas: float  # revenue per unit of spend at the usual spend, in an average week
    order_value: float
    elasticity: float  # conversions grow as spend ** elasticity; below 1, returns diminish


_ECONOMICS: Mapping[str, Mapping[ChannelName, Economics]] = {
    "retail": {
        ChannelName.EMAIL: Economics(2_400, 12.0, 0.024, 28.0, 112.0, 0.50),
        ChannelName.SMS: Economics(1_700, 21.0, 0.045, 16.0, 104.0, 0.55),
        ChannelName.PAID_SEARCH: Economics(29_000, 48.0, 0.040, 4.2, 121.0, 0.72),
        ChannelName.PAID_SOCIAL: Economics(20_000, 9.5, 0.009, 2.6, 116.0, 0.62),
        ChannelName.DISPLAY: Economics(7_800, 3.2, 0.0011, 1.5, 109.0, 0.55),
        ChannelName.CONTENT: Economics(3_000, 25.0, 0.030, 3.4, 98.0, 0.45),
    },
    "b2b": {  # a conversion is a new paying account; revenue is its first-year value
        ChannelName.EMAIL: Economics(900, 10.0, 0.030, 20.0, 2_200.0, 0.50),
        ChannelName.SMS: Economics(140, 20.0, 0.050, 8.0, 1_900.0, 0.50),
        ChannelName.PAID_SEARCH: Economics(14_000, 110.0, 0.025, 1.9, 2_600.0, 0.70),
        ChannelName.PAID_SOCIAL: Economics(11_000, 38.0, 0.006, 1.2, 3_100.0, 0.60),
        ChannelName.DISPLAY: Economics(3_500, 4.5, 0.0009, 0.8, 2_400.0, 0.50),
        ChannelName.CONTENT: Economics(7_500, 60.0, 0.020, 2.2, 2_300.0, 0.45),
    },
}
_GROWTH = {"retail": 0.10, "b2b": 0.25}  # yearly growth of spend


def _bump(week: FloatArray, centre: float, width: float) -> FloatArray:
    """A bell around ``centre`` (weeks into the year) that wraps from December to January."""
    distance = np.abs(week - centre)
    distance = np.minimum(distance, 52.0 - distance)
    result: FloatArray = np.exp(-0.5 * (distance / width) ** 2)
    return result


def _retail_demand(week: FloatArray) -> FloatArray:
    # Black Friday and Cyber Monday, the run-up to Christmas, spring hiking season, January lull.
    return (
        1.0
        + 1.1 * _bump(week, 46.9, 0.9)
        + 0.6 * _bump(week, 49.4, 1.2)
        + 0.2 * _bump(week, 18.0, 4.0)
        - 0.25 * _bump(week, 3.0, 2.5)
    )


def _b2b_demand(week: FloatArray) -> FloatArray:
    # New-year budgets and September busy season; the holidays and August are quiet.
    return (
        1.0
        + 0.15 * _bump(week, 5.0, 4.0)
        + 0.10 * _bump(week, 37.0, 3.0)
        - 0.40 * _bump(week, 51.3, 0.9)
        - 0.18 * _bump(week, 31.0, 3.0)
    )


_DEMAND: Mapping[str, Callable[[FloatArray], FloatArray]] = {
    "retail": _retail_demand,
    "b2b": _b2b_demand,
}

# -- writing -----------------------------------------------------------------------------------


def write_example(
    root: Path, example: str = "retail", *, customers: int = 50_000, seed: int = 7
) -> None:
    """Write the ``example`` workspace into ``root``, which exists and is empty.

    Everything is generated before the first file is written, so a bad argument writes nothing.
    """
    if example not in EXAMPLES:
        raise InputError(f"unknown example {example!r}; choose one of {', '.join(EXAMPLES)}")
    if customers < 0:
        raise InputError(f"the number of customers must be >= 0, got {customers}")
    if seed < 0:
        raise InputError(f"the seed must be >= 0, got {seed}")
    authored = AUTHORED / example
    authored_files = [p for pattern in AUTHORED_PATTERNS for p in authored.glob(pattern)]
    texts = {path.relative_to(authored): path.read_bytes() for path in sorted(authored_files)}
    people = generate_customers(example, customers, seed)
    history = generate_history(example, seed)
    for path, text in texts.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text)
    _write_csv(root / CUSTOMERS_FILE, people)
    _write_csv(root / HISTORY_FILE, history)


def _write_csv(path: Path, columns: Columns) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(zip(*(values.tolist() for values in columns.values()), strict=True))


# -- generation ---------------------------------------------------------------------------------


def generate_customers(example: str, n: int, seed: int) -> Columns:
    """The customers CSV as columns: ids, geography, suppression, consent, then attributes."""
    rng = np.random.default_rng(seed)
    region, country, zone = _geography(rng, n)
    tenure, attributes = _ATTRIBUTES[example](rng, n)
    status, basis = _consent_codes(rng, region, _CONSENT[example])
    suppressed = rng.random(n) < _SUPPRESSED_SHARE
    reason = np.where(suppressed, _pick(rng, *_SUPPRESSION, n), "")
    # A complaint withdraws email; a legal request (erasure, do-not-sell) withdraws everything.
    email = CONSENT_CHANNELS.index(ChannelName.EMAIL)
    withdrawn = np.zeros(status.shape, dtype=np.bool_)
    withdrawn[:, email] = reason == "complaint"
    withdrawn |= (reason == "legal_request")[:, None]
    status[withdrawn] = _DENIED
    basis[withdrawn] = 0
    # Consent was recorded some time after the customer arrived, within the last three years.
    age_days = rng.random(status.shape) * np.minimum(tenure, _CONSENT_WINDOW_DAYS)[:, None]
    seconds = (age_days * 86_400).astype(np.int64).astype("timedelta64[s]")
    stamps = np.datetime64(AS_OF, "s") - seconds
    stamp_text = np.char.add(np.datetime_as_string(stamps, unit="s"), "Z")
    stamp_text = np.where(status == _UNKNOWN, "", stamp_text)

    ids = np.char.mod("C%07d", np.arange(1, n + 1))
    columns: Columns = {
        "customer_id": ids,
        "region": np.asarray(_REGIONS)[region],
        "country": country,
        "time_zone": zone,
        "suppressed": np.where(suppressed, "true", "false"),
        "suppression_reason": reason,
    }
    for j, channel in enumerate(CONSENT_CHANNELS):
        columns[f"consent_{channel}"] = _STATUS[status[:, j]]
        columns[f"basis_{channel}"] = _BASIS[basis[:, j]]
        columns[f"consented_at_{channel}"] = stamp_text[:, j]
    return columns | attributes


def _geography(rng: Rng, n: int) -> tuple[IntArray, StrArray, StrArray]:
    """Region index into ``_REGIONS``, country code and IANA time zone of every customer."""
    region = rng.choice(len(_REGIONS), size=n, p=_REGION_SHARE).astype(np.int64)
    country = np.empty(n, dtype="<U2")
    for i, name in enumerate(_REGIONS):
        rows = region == i
        country[rows] = _pick(rng, *_COUNTRIES[name], int(rows.sum()))
    zone = np.empty(n, dtype="<U32")
    for code, (zones, shares) in _ZONES.items():
        rows = country == code
        zone[rows] = _pick(rng, zones, shares, int(rows.sum()))
    return region, country, zone


def _consent_codes(
    rng: Rng, region: IntArray, mixes: Mapping[ChannelName, ConsentMix]
) -> tuple[IntArray, IntArray]:
    """Status and basis codes (indexes into ``_STATUS`` and ``_BASIS``), one column per channel."""
    n, k = len(region), len(CONSENT_CHANNELS)
    status = np.zeros((n, k), dtype=np.int64)
    basis = np.zeros((n, k), dtype=np.int64)
    for j, channel in enumerate(CONSENT_CHANNELS):
        mix = mixes[channel]
        granted = np.asarray(mix.granted)[region]
        denied = np.asarray(mix.denied)[region]
        draw = rng.random(n)
        status[:, j] = np.select([draw < granted, draw < granted + denied], [_GRANTED, _DENIED])
        chosen = _row_choice(rng, np.asarray(mix.basis)[region])
        basis[:, j] = np.where(status[:, j] == _GRANTED, 1 + chosen, 0)
    return status, basis


def generate_history(example: str, seed: int) -> Columns:
    """``HISTORY_WEEKS`` weeks per channel, ending with the week before ``AS_OF``.

    Spend follows the season (marketers spend into demand), grows year on year and is sometimes
    flighted up or down, which is what lets a response curve be fitted. Conversions grow as a
    power of spend below one (diminishing returns) times demand, with Poisson noise.
    """
    rng = np.random.default_rng([seed, HISTORY_WEEKS])  # its own stream: independent of n
    weeks = [AS_OF - timedelta(days=7 * (HISTORY_WEEKS - i)) for i in range(HISTORY_WEEKS)]
    position = np.asarray([(w.timetuple().tm_yday - 1) / 7.0 for w in weeks])
    demand = _DEMAND[example](position)
    growth = (1.0 + _GROWTH[example]) ** (np.arange(HISTORY_WEEKS) / 52.0)
    channels = _ECONOMICS[example]
    parts = []
    for econ in channels.values():
        flight = rng.choice([0.7, 1.0, 1.35], size=HISTORY_WEEKS, p=[0.1, 0.8, 0.1])
        noise = rng.lognormal(0.0, 0.08, HISTORY_WEEKS)
        spend = np.round(econ.weekly_spend * demand**0.6 * growth * flight * noise, 2)
        impressions = rng.poisson(spend / econ.cpm * 1000.0)
        ctr = np.minimum(econ.ctr * rng.lognormal(0.0, 0.08, HISTORY_WEEKS), 1.0)
        clicks = rng.binomial(impressions, ctr)
        scale = econ.roas / econ.order_value * econ.weekly_spend ** (1.0 - econ.elasticity)
        conversions = np.minimum(rng.poisson(scale * spend**econ.elasticity * demand), clicks)
        revenue = conversions * econ.order_value * rng.lognormal(0.0, 0.06, HISTORY_WEEKS)
        parts.append(np.stack([spend, impressions, clicks, conversions, revenue]))
    # (channel, measure, week) -> (measure, week, channel): rows by week, then channel.
    rows = np.stack(parts).astype(np.float64).transpose(1, 2, 0).reshape(5, -1)
    return {
        "week": np.repeat(np.asarray([w.isoformat() for w in weeks]), len(channels)),
        "channel": np.tile(np.asarray([c.value for c in channels]), HISTORY_WEEKS),
        "spend": _money(rows[0]),
        "impressions": _whole(rows[1]),
        "clicks": _whole(rows[2]),
        "conversions": _whole(rows[3]),
        "revenue": _money(rows[4]),
    }


# -- small helpers ------------------------------------------------------------------------------


def _pick(rng: Rng, labels: Sequence[str], shares: Sequence[float], n: int) -> StrArray:
    return np.asarray(labels)[rng.choice(len(labels), size=n, p=shares)]


def _row_choice(rng: Rng, probabilities: FloatArray) -> IntArray:
    """One column index per row of an (n, m) array, drawn with that row's own probabilities."""
    cumulative = np.cumsum(probabilities, axis=1)
    draw = rng.random(len(cumulative)) * cumulative[:, -1]
    chosen: IntArray = (draw[:, None] >= cumulative).sum(axis=1).astype(np.int64)
    last: IntArray = np.minimum(chosen, cumulative.shape[1] - 1)
    return last


def _money(values: FloatArray) -> StrArray:
    return np.char.mod("%.2f", np.round(values, 2))


def _whole(values: FloatArray | IntArray) -> StrArray:
    return np.asarray(values, dtype=np.int64).astype(np.str_)
