"""Channels, their configuration and quiet hours."""

from __future__ import annotations

from datetime import time

import pytest

from mios.domain.channel import CONSENT_CHANNELS, ChannelConfig, ChannelName, QuietHours
from mios.domain.money import Money
from mios.errors import DomainError


class TestQuietHours:
    overnight = QuietHours(time(22, 0), time(8, 0))
    daytime = QuietHours(time(9, 0), time(17, 0))

    @pytest.mark.parametrize(
        ("local", "quiet"),
        [
            (time(21, 59), False),
            (time(21, 59, 59, 999999), False),
            (time(22, 0), True),
            (time(23, 59, 59), True),
            (time(0, 0), True),
            (time(3, 0), True),
            (time(7, 59), True),
            (time(7, 59, 59), True),
            (time(8, 0), False),
            (time(12, 0), False),
        ],
    )
    def test_window_that_wraps_over_midnight(self, local: time, quiet: bool) -> None:
        assert self.overnight.contains(local) is quiet

    @pytest.mark.parametrize(
        ("local", "quiet"),
        [
            (time(8, 59), False),
            (time(9, 0), True),
            (time(16, 59), True),
            (time(17, 0), False),
            (time(23, 0), False),
            (time(0, 0), False),
        ],
    )
    def test_window_within_one_day(self, local: time, quiet: bool) -> None:
        assert self.daytime.contains(local) is quiet


class TestChannelConfig:
    def test_negative_capacity_raises(self) -> None:
        with pytest.raises(DomainError, match="daily capacity must be >= 0"):
            ChannelConfig(ChannelName.EMAIL, daily_capacity=-1)
        assert ChannelConfig(ChannelName.EMAIL, daily_capacity=0).daily_capacity == 0

    def test_negative_cost_raises(self) -> None:
        with pytest.raises(DomainError, match="cost per contact must be >= 0"):
            ChannelConfig(ChannelName.SMS, cost_per_contact=Money.parse("-0.01", "USD"))


class TestChannelName:
    def test_addressed_and_paid(self) -> None:
        addressed = {c for c in ChannelName if c.addresses_customers}
        paid = {c for c in ChannelName if c.is_paid_media}
        assert addressed == {ChannelName.EMAIL, ChannelName.SMS, ChannelName.PUSH}
        assert paid == {ChannelName.PAID_SEARCH, ChannelName.PAID_SOCIAL, ChannelName.DISPLAY}
        assert addressed <= set(CONSENT_CHANNELS)
        assert ChannelName.PAID_SEARCH not in CONSENT_CHANNELS
