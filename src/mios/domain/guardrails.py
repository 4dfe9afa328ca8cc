"""What the built-in checkers enforce, as the workspace configures it (``governance:`` in
``mios.yaml``). Every field has a default a careful marketer would choose."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from mios.domain.channel import ChannelName
from mios.domain.governance import Role
from mios.errors import DomainError


@dataclass(frozen=True)
class ContactCaps:
    """Most messages a customer may get in a day and in a week (``None``: no cap)."""

    day: int | None = None
    week: int | None = None

    def __post_init__(self) -> None:
        for name, cap in (("day", self.day), ("week", self.week)):
            if cap is not None and cap < 0:
                raise DomainError(f"contact cap per {name} must be >= 0, got {cap}")


@dataclass(frozen=True)
class ContactPolicy:
    per_channel: Mapping[ChannelName, ContactCaps] = field(
        default_factory=lambda: {
            ChannelName.EMAIL: ContactCaps(day=1, week=3),
            ChannelName.SMS: ContactCaps(day=1, week=1),
            ChannelName.PUSH: ContactCaps(day=1, week=3),
        }
    )
    all_channels: ContactCaps = field(default_factory=lambda: ContactCaps(day=2, week=5))
    cooldown_after_unsubscribe_days: int = 30
    ignored_messages_before_cooldown: int = 5  # consecutive messages without an open or click
    cooldown_after_ignored_days: int = 14


@dataclass(frozen=True)
class CommercialEmailRules:
    unsubscribe_link: bool = True
    sender_identity: bool = True
    postal_address: bool = True
    list_unsubscribe_header: bool = True


@dataclass(frozen=True)
class PiiRules:
    """Presidio entity types that may not appear in content; found ones deny the action."""

    entities: tuple[str, ...] = (
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "IBAN_CODE",
        "US_SSN",
        "IP_ADDRESS",
    )
    allowed_values: tuple[str, ...] = ()  # e.g. the brand's own support address


@dataclass(frozen=True)
class ClaimRules:
    similarity: float = 0.8  # at or above this, reworded text counts as the same claim

    def __post_init__(self) -> None:
        if not 0 < self.similarity <= 1:
            raise DomainError(f"claim similarity must be in (0, 1], got {self.similarity}")


@dataclass(frozen=True)
class BudgetRules:
    per_action_max: Decimal | None = None
    daily_max: Mapping[ChannelName, Decimal] = field(default_factory=dict)
    cycle_max: Mapping[ChannelName, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class ApprovalRules:
    ttl_hours: float = 24.0
    escalate_to: tuple[Role, ...] = (Role.ADMIN,)
    sensitive_audience_roles: tuple[Role, ...] = (Role.LEGAL,)


@dataclass(frozen=True)
class Guardrails:
    contact: ContactPolicy = field(default_factory=ContactPolicy)
    commercial_email: CommercialEmailRules = field(default_factory=CommercialEmailRules)
    pii: PiiRules = field(default_factory=PiiRules)
    claims: ClaimRules = field(default_factory=ClaimRules)
    budget: BudgetRules = field(default_factory=BudgetRules)
    approvals: ApprovalRules = field(default_factory=ApprovalRules)
