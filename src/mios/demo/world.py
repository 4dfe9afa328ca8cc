"""The demo's world: a workspace folder whose customers ARE a simulated market's customers.

    market = Market(load_scenario("retail-holiday"), seed=7, customers=20_000)
    write_market_workspace(Path("demo-shop"), market, seed=7)
    channel = SimulatorChannel(market, workspace.segments, budgets=workspace.budgets,
                               angle_map=angle_map(market))

Everything comes from what a business would know of its market (``Market``'s public facts),
never from how customers respond:

- ``mios.yaml``: the market's currency and the time zone most customers live in; the brand of
  the retail example (sender, voice, banned terms, disclaimers of the offer types present) with
  the market's own banned terms added and its substantiated claims as the claims library; a
  profit objective; a budget per channel (below); every market channel on the ``simulator``
  connector with its cost per contact (per message, per content piece, per click on paid media)
  and its daily capacity; one segment per market segment, ``{field: segment, eq: <id>}``, so a
  workspace segment selects exactly the market's members; a sensitive segment only if the
  customers carry an attribute that calls for one (the markets have none); the five agents; the
  retail example's autonomy and governance, with contact caps from ``limits.contacts_per_week``.
- Budgets: ``limits.daily_budget`` (paid media and content) times the period's days; content gets
  one piece a week, the paid channels share the rest evenly (as the static policy spends it);
  each messaging channel gets what messaging every consenting customer up to the contact cap
  costs.
- ``data/offers.yaml``: the market's offers with their margin and average order value; the type
  from the id (``pct-20`` is a 20% discount, ``free-shipping``, ``bundle``, ``trial-…``, …).
- ``policies/``: the retail example's packs, without rules that name a segment the workspace lacks;
  ``playbooks/``: the retail example's.
- ``data/customers.csv``: ``market.customer_table()`` row for row (ids, region, country, time zone,
  consent with its basis and date, the ``segment`` attribute).
- ``data/history/channels.csv``: ``history_weeks`` weeks ending the week before the market opens,
  made by running the simulator's ``static`` policy on ``market.earlier(...)``: the same scenario
  and customers opened that many weeks earlier, without the scenario's shocks and trend (both
  count from its start). Per channel and week: spend, impressions (messages delivered; ad
  impressions; 0 for content), clicks, conversions and revenue credited to the channel's actions.
- ``data/research/market-notes.md``: the segments' sizes and consent, for the research agent.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from datetime import timedelta
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mios.context.examples import AUTHORED
from mios.domain.budget import BudgetPeriod
from mios.domain.channel import CONSENT_CHANNELS, ChannelName
from mios.domain.customer import BASIS_CODES, CONSENT_CODES
from mios.domain.customer_table import CustomerTable
from mios.domain.outcome import OutcomeKind
from mios.errors import InputError
from mios.sim.market import Market
from mios.sim.policies import make_policy
from mios.types import StrArray

HISTORY_WEEKS = 104
HISTORY_FILE = Path("data", "history", "channels.csv")
CUSTOMERS_FILE = Path("data", "customers.csv")
OBJECTIVE_DAYS = 28
_RETAIL = AUTHORED / "retail"
_CENT = Decimal("0.01")
_HEADER = "# Written by mios.demo.world for the {name} market. Fields: docs/workspace.md.\n"
_PAID_MAX_CHANGE_PCT = 20.0
_MESSAGE_MAX_CHANGE_PCT = 25.0
#: Caps per messaging channel (per day, per week) before the market's contact limit applies.
_CHANNEL_CAPS = {ChannelName.EMAIL: (1, 3), ChannelName.SMS: (1, 1), ChannelName.PUSH: (1, 2)}
#: The content agent's angles and the market angles that say the same, best first.
ANGLE_SYNONYMS: Mapping[str, tuple[str, ...]] = {
    "value": ("value",),
    "urgency": ("urgency",),
    "durability": ("quality", "durability"),
    "trust": ("peer-proof", "trust", "security", "quality"),
    "speed": ("ease", "convenience", "speed"),
    "sustainability": ("sustainability",),
    "warmth": ("warmth", "quality"),
}
#: Claim texts for the shipped scenarios' substantiated claims; any other id is spelled out.
CLAIM_TEXTS: Mapping[str, str] = {
    "waterproof-20k": "StormShell jackets are rated 20,000 mm waterproof.",
    "recycled-shell": "Every StormShell outer shell is made from recycled nylon.",
    "lifetime-repair": "We repair any Northwind product for as long as you own it.",
    "soc2-type2": "Our platform is audited every year to SOC 2 Type II.",
    "close-books-faster": "Teams on our platform close their books faster.",
    "g2-leader": "Rated a leader in its category by verified G2 reviewers.",
    "farm-fresh": "Our vegetables come farm fresh from growers we know.",
    "ready-in-20": "Every recipe is ready in 20 minutes.",
    "carbon-neutral-delivery": "Every delivery we make is carbon neutral.",
}
_PERCENT = re.compile(r"(?:^|-)(?:pct|percent)-?(\d{1,2})(?:-|$)|(?:^|-)(\d{1,2})-?(?:pct|percent)")
_NAMED_SEGMENT = re.compile(r'segment_id\s*==\s*"([^"]+)"')


def angle_map(market: Market) -> dict[str, str]:
    """How the content agent's angles map onto the market's (for ``SimulatorChannel``): each
    to the first synonym the market has; angles with none are left out (sent with no angle)."""
    found = {}
    for angle, synonyms in ANGLE_SYNONYMS.items():
        if angle in market.angle_ids:
            continue
        match = next((s for s in synonyms if s in market.angle_ids), None)
        if match is not None:
            found[angle] = match
    return found


def offer_type(offer_id: str) -> tuple[str, float]:
    """The offer type an id reads as, and its discount in percent (0 when it names none)."""
    pct = _PERCENT.search(offer_id)
    if pct is not None:
        return "discount", float(pct.group(1) or pct.group(2))
    parts = set(offer_id.replace("_", "-").split("-"))
    for words, kind in (
        ({"discount", "off", "sale"}, "discount"),
        ({"shipping", "delivery"}, "free_shipping"),
        ({"bundle", "set", "kit"}, "bundle"),
        ({"trial"}, "trial"),
        ({"referral", "refer"}, "referral"),
        ({"loyalty", "member", "vip"}, "loyalty"),
        ({"webinar", "event"}, "event"),
        ({"upgrade"}, "upgrade"),
        ({"demo"}, "demo"),
    ):
        if parts & words:
            return kind, 0.0
    return "promotion", 0.0


def write_market_workspace(
    root: Path,
    market: Market,
    *,
    seed: int,
    history_weeks: int = HISTORY_WEEKS,
    budget_period: BudgetPeriod = BudgetPeriod.WEEKLY,
) -> Path:
    """Write the workspace of ``market`` into ``root`` (created if missing; it must be empty)
    and return ``root``. Everything is generated before the first file is written."""
    if seed < 0:
        raise InputError(f"the seed must be >= 0, got {seed}")
    if history_weeks < 1:
        raise InputError(f"history_weeks must be >= 1, got {history_weeks}")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise InputError.at("the demo workspace folder must be empty", file=str(root))
    table = market.customer_table()
    history = market_history(market, seed=seed, weeks=history_weeks)
    offers = _offers(market)
    config = _config(market, table, history, {o["type"] for o in offers}, budget_period)
    segments = {s["id"] for s in config["segments"]}
    texts: dict[Path, str] = {
        Path("mios.yaml"): _yaml(market, config),
        Path("data", "offers.yaml"): _yaml(market, {"offers": offers}),
        Path("data", "research", "market-notes.md"): _notes(market, table),
    }
    for path in sorted((_RETAIL / "policies").glob("*.yaml")):
        texts[Path("policies", path.name)] = _yaml(market, _policy_pack(path, segments))
    for path in sorted((_RETAIL / "playbooks").glob("*.yaml")):
        texts[Path("playbooks", path.name)] = path.read_text(encoding="utf-8")
    customers = customer_columns(table)
    for relative, text in texts.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    _write_csv(root / CUSTOMERS_FILE, customers)
    _write_csv(root / HISTORY_FILE, history)
    return root


# -- customers ----------------------------------------------------------------------------------


def customer_columns(table: CustomerTable) -> dict[str, StrArray]:
    """The customers file as columns: identity, suppression, consent per channel, attributes."""
    columns: dict[str, StrArray] = {
        "customer_id": table.ids,
        "region": table.region.strings(),
        "country": table.country.strings(),
        "time_zone": table.time_zone.strings(),
        "suppressed": np.where(table.suppressed, "true", "false"),
        "suppression_reason": table.suppression_reason.strings(),
    }
    status = np.asarray([str(c) for c in CONSENT_CODES])
    basis = np.asarray([str(b) for b in BASIS_CODES])
    stamps = np.char.add(np.datetime_as_string(table.consent_at, unit="s"), "Z")
    stamps = np.where(np.isnat(table.consent_at), "", stamps)
    for j, channel in enumerate(CONSENT_CHANNELS):
        columns[f"consent_{channel}"] = status[table.consent_status[:, j]]
        columns[f"basis_{channel}"] = basis[table.consent_basis[:, j]]
        columns[f"consented_at_{channel}"] = stamps[:, j]
    for name, values in table.categorical.items():
        columns[name] = values.strings()
    for name, numbers in table.numeric.items():
        columns[name] = np.where(np.isnan(numbers), "", np.char.mod("%.15g", numbers))
    return columns


def _write_csv(path: Path, columns: Mapping[str, StrArray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(zip(*(np.asarray(v).tolist() for v in columns.values()), strict=True))


# -- history ------------------------------------------------------------------------------------

_SPEND, _IMPRESSIONS, _CLICKS, _CONVERSIONS, _REVENUE = range(5)


def market_history(market: Market, *, seed: int, weeks: int) -> dict[str, StrArray]:
    """``weeks`` weeks per channel, ending with the week before the one the market opens in,
    from the ``static`` policy on the same market opened that much earlier."""
    end = market.start - timedelta(days=market.start.weekday())  # the Monday of the first week
    first = end - timedelta(weeks=weeks)
    past = market.earlier(first, seed=seed)
    policy = make_policy("static", seed)
    channels = market.channel_names
    column = {c: i for i, c in enumerate(channels)}
    books = np.zeros((weeks, len(channels), 5), dtype=np.float64)
    for day in range(7 * weeks):
        week = books[day // 7]
        for outcome in past.step(policy.actions(past, day), day):
            if outcome.channel is None:
                continue  # organic sales and holdouts belong to no channel
            row = week[column[outcome.channel]]
            value = 0.0 if outcome.value is None else float(outcome.value.amount)
            kind = outcome.kind
            if kind is OutcomeKind.SPEND:
                row[_SPEND] += value
            elif kind is OutcomeKind.DELIVERED:
                row[_IMPRESSIONS] += outcome.count
            elif kind is OutcomeKind.CLICK:
                row[_CLICKS] += outcome.count
                row[_IMPRESSIONS] += float(outcome.attributes.get("impressions", 0))
            elif kind is OutcomeKind.CONVERSION:
                row[_CONVERSIONS] += outcome.count
                row[_REVENUE] += value
    starts = [(first + timedelta(weeks=w)).isoformat() for w in range(weeks)]
    flat = books.reshape(-1, 5)
    return {
        "week": np.repeat(np.asarray(starts), len(channels)),
        "channel": np.tile(np.asarray([c.value for c in channels]), weeks),
        "spend": np.char.mod("%.2f", np.round(flat[:, _SPEND], 2)),
        "impressions": flat[:, _IMPRESSIONS].round().astype(np.int64).astype(np.str_),
        "clicks": flat[:, _CLICKS].astype(np.int64).astype(np.str_),
        "conversions": flat[:, _CONVERSIONS].astype(np.int64).astype(np.str_),
        "revenue": np.char.mod("%.2f", np.round(flat[:, _REVENUE], 2)),
    }


# -- mios.yaml ----------------------------------------------------------------------------------


def _config(
    market: Market,
    table: CustomerTable,
    history: Mapping[str, StrArray],
    offer_types: set[str],
    period: BudgetPeriod,
) -> dict[str, Any]:
    retail = yaml.safe_load((_RETAIL / "mios.yaml").read_text(encoding="utf-8"))
    brand = dict(retail["brand"])
    brand["banned_terms"] = list(dict.fromkeys([*brand["banned_terms"], *market.banned_terms]))
    brand["claims"] = [
        {
            "id": claim,
            "text": CLAIM_TEXTS.get(claim, claim.replace("-", " ").capitalize() + "."),
            "substantiation": f"EVIDENCE-{claim.upper()}",
        }
        for claim in market.substantiated_claims
    ]
    brand["disclaimers"] = {k: v for k, v in brand["disclaimers"].items() if k in offer_types}
    budgets = _budgets(market, period)
    cap = market.limits.contacts_per_week
    return {
        "workspace": {
            "name": f"{brand['name']} ({market.name})",
            "currency": market.currency,
            "time_zone": _main_time_zone(table),
        },
        "brand": brand,
        "objective": {
            "primary_kpi": "profit",
            "target": _profit_target(market, history),
            "horizon_days": OBJECTIVE_DAYS,
            "guardrails": [
                {"kpi": "unsubscribe_rate", "max": 0.004},
                {"kpi": "complaint_rate", "max": 0.0008},
                {"kpi": "contacts_per_customer_week", "max": cap},
            ],
        },
        "budgets": budgets,
        "channels": _channels(market),
        "segments": _segments(market, table),
        "agents": {name: {"enabled": True} for name in retail["agents"]},
        "autonomy": retail["autonomy"],
        "campaigns": [],
        "governance": _governance(market, retail["governance"], budgets),
    }


def _budgets(market: Market, period: BudgetPeriod) -> dict[str, dict[str, Any]]:
    start, end = period.bounds(market.start)
    days = Decimal((end - start).days)
    weekly = Decimal(str(market.limits.daily_budget)) * 7
    channels = market.channel_names
    paid = [c for c in channels if c.is_paid_media]
    budgets: dict[str, dict[str, Any]] = {}
    content_weekly = Decimal(0)
    if ChannelName.CONTENT in channels:
        piece = Decimal(str(market.price(ChannelName.CONTENT)))
        content_weekly = min(piece, weekly) if paid else weekly
        budgets[ChannelName.CONTENT.value] = _budget(content_weekly / 7 * days, period, None)
    for channel in paid:
        share = (weekly - content_weekly) / len(paid) / 7 * days
        budgets[channel.value] = _budget(share, period, _PAID_MAX_CHANGE_PCT)
    cap = Decimal(market.limits.contacts_per_week)
    for channel in channels:
        if channel in _CHANNEL_CAPS:
            reach = Decimal(int(market.consented(channel).sum()))
            cost = Decimal(str(market.price(channel))) * reach * cap / 7 * days
            budgets[channel.value] = _budget(cost, period, _MESSAGE_MAX_CHANGE_PCT)
    return {c.value: budgets[c.value] for c in channels if c.value in budgets}


def _budget(amount: Decimal, period: BudgetPeriod, max_change: float | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "period": period.value,
        "amount": float(amount.quantize(_CENT, rounding=ROUND_CEILING)),
    }
    if max_change is not None:
        spec["max_change_pct"] = max_change
    return spec


def _channels(market: Market) -> dict[str, dict[str, Any]]:
    retail = yaml.safe_load((_RETAIL / "mios.yaml").read_text(encoding="utf-8"))["channels"]
    channels: dict[str, dict[str, Any]] = {}
    for channel in market.channel_names:
        spec: dict[str, Any] = {"connector": "simulator"}
        capacity = market.capacity(channel)
        if capacity is not None:
            spec["daily_capacity"] = capacity
        spec["cost_per_contact"] = market.price(channel)
        quiet = retail.get(channel.value, {}).get("quiet_hours")
        if quiet is not None:
            spec["quiet_hours"] = quiet
        channels[channel.value] = spec
    return channels


def _segments(market: Market, table: CustomerTable) -> list[dict[str, Any]]:
    segments: list[dict[str, Any]] = []
    for segment_id in market.segment_ids:
        words = segment_id.replace("-", " ").replace("_", " ")
        segments.append(
            {
                "id": segment_id,
                "name": f"{words.capitalize()} customers",
                "description": f"Customers our records put in the {words} segment.",
                "rule": {"field": "segment", "eq": segment_id},
            }
        )
    ages = table.categorical.get("age_band")
    if ages is not None and "under_18" in ages.categories:
        segments.append(
            {
                "id": "minors",
                "name": "Customers under 18",
                "description": "Never targeted with paid media or SMS; legal approves every use.",
                "sensitive": True,
                "rule": {"field": "age_band", "eq": "under_18"},
            }
        )
    return segments


def _governance(
    market: Market, retail: Mapping[str, Any], budgets: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    cap = market.limits.contacts_per_week
    contact = dict(retail["contact"])
    contact["per_channel"] = {
        channel.value: {"day": min(day, cap), "week": min(week, cap)}
        for channel, (day, week) in _CHANNEL_CAPS.items()
        if channel in market.channel_names
    }
    contact["all_channels"] = {"day": min(2, cap), "week": cap}
    largest = max((b["amount"] for b in budgets.values()), default=0.0)
    return {
        **retail,
        "contact": contact,
        "budget": {"per_action_max": largest},
    }


def _main_time_zone(table: CustomerTable) -> str:
    zones = table.time_zone
    if not len(zones) or not zones.categories:
        return "UTC"
    counts = np.bincount(zones.codes[zones.codes >= 0], minlength=len(zones.categories))
    return zones.categories[int(np.argmax(counts))]


def _profit_target(market: Market, history: Mapping[str, StrArray]) -> float:
    """A fifth above what the static calendar made in the history's last four weeks, over the
    objective's horizon: margin on attributed revenue, less spend."""
    channels = len(market.channel_names)
    recent = 4 * channels
    revenue = float(np.asarray(history["revenue"][-recent:], dtype=np.float64).sum())
    spend = float(np.asarray(history["spend"][-recent:], dtype=np.float64).sum())
    margin = float(np.mean([o.margin for o in market.offer_terms]))
    weekly = (revenue * margin - spend) / 4
    target = Decimal(str(1.2 * weekly * OBJECTIVE_DAYS / 7 if weekly > 0 else 0.0))
    return float(target.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


# -- offers, policies, research -----------------------------------------------------------------


def _offers(market: Market) -> list[dict[str, Any]]:
    offers = []
    for terms in market.offer_terms:
        kind, pct = offer_type(terms.id)
        offer: dict[str, Any] = {
            "id": terms.id,
            "name": _offer_name(terms.id, kind, pct),
            "type": kind,
            "margin": terms.margin,
            "average_order_value": terms.average_order_value,
        }
        if pct:
            offer["discount_pct"] = pct
        offers.append(offer)
    return offers


def _offer_name(offer_id: str, kind: str, pct: float) -> str:
    if kind == "discount" and pct:
        return f"{pct:g}% off your order"
    return offer_id.replace("-", " ").replace("_", " ").capitalize()


def _policy_pack(path: Path, segments: set[str]) -> dict[str, Any]:
    """A retail policy pack without the rules that name a segment this workspace lacks."""
    pack: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    pack["rules"] = [
        rule
        for rule in pack["rules"]
        if all(name in segments for name in _NAMED_SEGMENT.findall(str(rule["when"])))
    ]
    return pack


def _notes(market: Market, table: CustomerTable) -> str:
    n = max(len(table), 1)
    lines = [
        f"# Customer notes, {market.start:%B %Y}",
        "",
        "From our own customer records.",
        "",
    ]
    for segment_id in market.segment_ids:
        share = len(market.members(segment_id)) / n
        lines.append(f"- The {segment_id} segment holds {share:.0%} of our customers.")
    for channel in CONSENT_CHANNELS:
        if channel in market.channel_names:
            granted = float(table.granted(channel).mean()) if len(table) else 0.0
            lines.append(f"- {granted:.0%} of our customers accept {channel} from us.")
    return "\n".join(lines) + "\n"


def _yaml(market: Market, data: Mapping[str, Any]) -> str:
    body = yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, width=100)
    return _HEADER.format(name=market.name) + body
