"""What the brand sells and promotes: offers, and campaigns that carry them to segments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.errors import DomainError


@dataclass(frozen=True)
class Offer:
    id: str
    name: str
    type: str  # e.g. discount, free_shipping, bundle, trial; keys the brand's disclaimers
    margin: float  # contribution margin as a share of revenue, after the offer's own cost
    average_order_value: Money
    discount_pct: float = 0.0
    valid_from: date | None = None
    valid_until: date | None = None
    eligible_segments: tuple[str, ...] = ()  # empty: everyone
    channels: tuple[ChannelName, ...] = ()  # empty: every channel

    def __post_init__(self) -> None:
        if not -1.0 < self.margin < 1.0:
            raise DomainError(f"offer {self.id}: margin must be a share between -1 and 1")
        if not 0.0 <= self.discount_pct < 100.0:
            raise DomainError(f"offer {self.id}: discount_pct must be in [0, 100)")
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise DomainError(f"offer {self.id}: valid_until is before valid_from")

    def active_on(self, day: date) -> bool:
        after_start = self.valid_from is None or day >= self.valid_from
        before_end = self.valid_until is None or day <= self.valid_until
        return after_start and before_end


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    status: CampaignStatus
    segments: tuple[str, ...]
    channels: tuple[ChannelName, ...]
    start: date
    end: date | None = None
    offer_id: str | None = None
    budget: Money | None = None

    def __post_init__(self) -> None:
        if self.end and self.end < self.start:
            raise DomainError(f"campaign {self.id}: end is before start")
