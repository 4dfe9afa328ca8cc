"""A small shop for the checker tests: a workspace built from its YAML form, a handful of
customers, and actions to review, each changed only where a test says so."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from mios.context.spec import OfferSpec, WorkspaceFileSpec, WorkspaceSpec
from mios.context.translate import build_workspace
from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.customer import Consent, ConsentStatus, Customer, LawfulBasis
from mios.domain.customer_table import CustomerTable
from mios.domain.governance import Finding, FindingSeverity
from mios.domain.money import Money
from mios.domain.proposal import ActionKind, Audience, Content
from mios.domain.workspace import Workspace
from mios.governance.review_context import Check, ContactHistory, ReviewContext

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
EMAIL, SMS, PUSH = ChannelName.EMAIL, ChannelName.SMS, ChannelName.PUSH
ADDRESS = "1 Main St, Springfield 12345"
UNSUBSCRIBE = "Unsubscribe: {{unsubscribe_url}}"
HEADERS = {"headers": {"List-Unsubscribe": "<https://shop.example/u/{{token}}>"}}

CONFIG: dict[str, Any] = {
    "workspace": {"name": "Test Shop", "currency": "USD", "time_zone": "America/New_York"},
    "brand": {
        "name": "Test Shop",
        "sender": {
            "name": "Test Shop",
            "email": "hello@shop.example",
            "postal_address": {
                "street": "1 Main St",
                "city": "Springfield",
                "postal_code": "12345",
                "country": "US",
            },
        },
        "banned_terms": ["guaranteed", "risk-free"],
        "claims": [
            {
                "id": "stormshell-waterproof",
                "text": "StormShell jackets are rated 20,000 mm waterproof and 15,000 g/m2 "
                "breathable.",
                "substantiation": "LAB-2025-014",
            },
            {
                "id": "returns-60-days",
                "text": "Return anything unworn within 60 days for a full refund.",
                "substantiation": "POL-RETURNS-2025",
            },
            {
                "id": "customer-rating",
                "text": "Rated 4.8 out of 5 by more than 12,000 verified customers.",
                "substantiation": "REVIEWS-2026-10",
                "channels": ["email"],
            },
        ],
        "disclaimers": {"discount": "Excludes sale items. One use per customer."},
    },
    "objective": {"primary_kpi": "profit", "target": 100000, "horizon_days": 90},
    "budgets": {
        "email": {"period": "monthly", "amount": "1000.00", "max_change_pct": 25},
        "sms": {"period": "monthly", "amount": "500.00"},
    },
    "channels": {
        "email": {},
        "sms": {"quiet_hours": {"start": "22:00", "end": "08:00"}},
        "push": {"quiet_hours": {"start": "21:00", "end": "08:00"}},
    },
    "segments": [
        {"id": "everyone", "name": "Everyone", "rule": {"field": "ltv", "exists": True}},
        {
            "id": "minors",
            "name": "Under 18",
            "sensitive": True,
            "rule": {"field": "age_band", "eq": "under_18"},
        },
    ],
}
OFFERS = [
    OfferSpec(
        id="winback-15",
        name="15% off",
        type="discount",
        margin=0.3,
        average_order_value=Decimal(80),
        discount_pct=15,
    ),
    OfferSpec(
        id="bundle", name="Bundle", type="bundle", margin=0.3, average_order_value=Decimal(90)
    ),
]


def workspace(**config: Any) -> Workspace:
    spec = WorkspaceFileSpec.model_validate({**CONFIG, **config})
    return build_workspace(WorkspaceSpec(config=spec, offers=OFFERS))


def customer(
    customer_id: str,
    *,
    region: str = "US",
    country: str = "US",
    time_zone: str = "America/New_York",
    consent: Mapping[ChannelName, tuple[ConsentStatus, LawfulBasis]] | None = None,
    suppressed: bool = False,
    age_band: str = "25-34",
) -> Customer:
    """Granted consent on email, SMS and push by default (SMS opted in, the others by consent)."""
    granted = (ConsentStatus.GRANTED, LawfulBasis.CONSENT)
    given = consent if consent is not None else {EMAIL: granted, SMS: granted, PUSH: granted}
    return Customer(
        id=customer_id,
        region=region,
        country=country,
        time_zone=time_zone,
        consent={ch: Consent(status, basis) for ch, (status, basis) in given.items()},
        attributes={"ltv": 100.0, "age_band": age_band},
        suppressed=suppressed,
        suppression_reason="complaint" if suppressed else None,
    )


def table(*customers: Customer) -> CustomerTable:
    return CustomerTable.from_customers(customers or (customer("C1"), customer("C2")))


def context(
    ws: Workspace | None = None,
    customers: CustomerTable | None = None,
    *,
    now: datetime = NOW,
    contacts: ContactHistory | None = None,
    **spent: Mapping[ChannelName, Decimal],
) -> ReviewContext:
    ws = ws or workspace()
    return ReviewContext(
        ws, customers or table(), ws.empty_ledger(), now, contacts=contacts, **spent
    )


def body(*parts: str) -> str:
    """A compliant email body with ``parts`` in front of the sender, address and unsubscribe."""
    return " ".join([*parts, "Test Shop,", ADDRESS + ".", UNSUBSCRIBE])


def message(
    channel: ChannelName = EMAIL,
    *,
    ids: tuple[str, ...] = ("C1", "C2"),
    segment: str | None = None,
    text: str | None = None,
    subject: str | None = "Hello",
    claims: tuple[str, ...] = (),
    offer: str | None = None,
    parameters: Mapping[str, Any] = HEADERS,
    spend: str | None = None,
) -> Action:
    return Action(
        id="a1",
        proposal_id="p1",
        kind=ActionKind.SEND_MESSAGE,
        snapshot_version=1,
        channel=channel,
        audience=Audience(segment_id=segment, customer_ids=ids),
        content=Content(
            subject=subject, body=text or body("Warm layers."), claims=claims, offer_id=offer
        ),
        spend=None if spend is None else Money.parse(spend, "USD"),
        parameters=dict(parameters),
    )


def denied(check: Check) -> set[str]:
    return {f.rule_id for f in check.findings if f.severity is FindingSeverity.DENY}


def finding(check: Check, rule_id: str) -> Finding:
    (found,) = [f for f in check.findings if f.rule_id == rule_id]
    return found
