"""Weekly channel performance history: spend in, outcomes out; what the curves are fitted on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.errors import DomainError


@dataclass(frozen=True)
class ChannelWeek:
    week: date  # the Monday that starts the week
    channel: ChannelName
    spend: Money
    impressions: int
    clicks: int
    conversions: int
    revenue: Money

    def __post_init__(self) -> None:
        if self.week.weekday() != 0:
            raise DomainError(f"history week {self.week} is not a Monday")
        if min(self.impressions, self.clicks, self.conversions) < 0:
            raise DomainError(f"history {self.channel} {self.week}: counts must be >= 0")
        if self.spend.is_negative() or self.revenue.is_negative():
            raise DomainError(f"history {self.channel} {self.week}: money must be >= 0")


@dataclass(frozen=True)
class ChannelHistory:
    weeks: tuple[ChannelWeek, ...] = ()

    def __post_init__(self) -> None:
        keys = [(w.week, w.channel) for w in self.weeks]
        if len(keys) != len(set(keys)):
            raise DomainError("channel history has the same channel and week twice")

    def for_channel(self, channel: ChannelName) -> tuple[ChannelWeek, ...]:
        return tuple(w for w in self.weeks if w.channel == channel)

    @property
    def channels(self) -> tuple[ChannelName, ...]:
        return tuple(sorted({w.channel for w in self.weeks}))

    @property
    def span(self) -> tuple[date, date] | None:
        if not self.weeks:
            return None
        days = [w.week for w in self.weeks]
        return min(days), max(days)
