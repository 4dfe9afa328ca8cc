"""Channels a workspace markets through, and how each one is configured."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum
from typing import Any

from mios.domain.money import Money
from mios.errors import DomainError


class ChannelName(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    PAID_SEARCH = "paid_search"
    PAID_SOCIAL = "paid_social"
    DISPLAY = "display"
    CONTENT = "content"

    @property
    def addresses_customers(self) -> bool:
        """Messages on this channel reach a known customer, so consent applies."""
        return self in _ADDRESSED

    @property
    def is_paid_media(self) -> bool:
        return self in _PAID


_ADDRESSED = frozenset({ChannelName.EMAIL, ChannelName.SMS, ChannelName.PUSH})
_PAID = frozenset({ChannelName.PAID_SEARCH, ChannelName.PAID_SOCIAL, ChannelName.DISPLAY})

#: Channels that carry per-customer consent (addressed messages, and customer-list audiences
#: uploaded to ad platforms).
CONSENT_CHANNELS: tuple[ChannelName, ...] = (
    ChannelName.EMAIL,
    ChannelName.SMS,
    ChannelName.PUSH,
    ChannelName.PAID_SOCIAL,
    ChannelName.DISPLAY,
)


@dataclass(frozen=True)
class QuietHours:
    """A local-time window in which a channel must not reach a customer (may wrap midnight)."""

    start: time
    end: time

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True)
class ChannelConfig:
    """How one channel is wired: which connector, its capacity, its cost and its quiet hours."""

    name: ChannelName
    connector: str = "simulator"
    enabled: bool = True
    daily_capacity: int | None = None
    cost_per_contact: Money | None = None
    quiet_hours: QuietHours | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.daily_capacity is not None and self.daily_capacity < 0:
            raise DomainError(f"{self.name}: daily capacity must be >= 0")
        if self.cost_per_contact is not None and self.cost_per_contact.is_negative():
            raise DomainError(f"{self.name}: cost per contact must be >= 0")
