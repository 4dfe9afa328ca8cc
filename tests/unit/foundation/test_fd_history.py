"""Weekly channel history."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from mios.domain.channel import ChannelName
from mios.domain.history import ChannelHistory, ChannelWeek
from mios.domain.money import Money
from mios.errors import DomainError

MONDAY = date(2024, 1, 1)


def week(day: date = MONDAY, channel: ChannelName = ChannelName.EMAIL, **kw: Any) -> ChannelWeek:
    fields: dict[str, Any] = {
        "spend": Money.parse("10", "USD"),
        "impressions": 1000,
        "clicks": 50,
        "conversions": 5,
        "revenue": Money.parse("200", "USD"),
    }
    fields.update(kw)
    return ChannelWeek(week=day, channel=channel, **fields)


class TestChannelWeek:
    @pytest.mark.parametrize("offset", range(1, 7))
    def test_a_week_that_does_not_start_on_monday_raises(self, offset: int) -> None:
        with pytest.raises(DomainError, match="is not a Monday"):
            week(date(2024, 1, 1 + offset))

    @pytest.mark.parametrize("name", ["impressions", "clicks", "conversions"])
    def test_negative_counts_raise(self, name: str) -> None:
        with pytest.raises(DomainError, match="counts must be >= 0"):
            week(**{name: -1})  # type: ignore[arg-type]

    @pytest.mark.parametrize("name", ["spend", "revenue"])
    def test_negative_money_raises(self, name: str) -> None:
        with pytest.raises(DomainError, match="money must be >= 0"):
            week(**{name: Money.parse("-0.01", "USD")})  # type: ignore[arg-type]

    def test_zero_is_fine(self) -> None:
        zero = Money.zero("USD")
        assert week(impressions=0, clicks=0, conversions=0, spend=zero, revenue=zero).clicks == 0


class TestChannelHistory:
    def test_duplicate_week_and_channel_raises(self) -> None:
        with pytest.raises(DomainError, match="same channel and week twice"):
            ChannelHistory((week(), week(clicks=1)))

    def test_same_week_on_two_channels_is_fine(self) -> None:
        history = ChannelHistory((week(), week(channel=ChannelName.SMS)))
        assert len(history.weeks) == 2

    def test_span_channels_and_for_channel(self) -> None:
        history = ChannelHistory(
            (
                week(date(2024, 1, 15), ChannelName.SMS),
                week(date(2024, 1, 1), ChannelName.EMAIL),
                week(date(2024, 2, 5), ChannelName.EMAIL),
                week(date(2024, 1, 8), ChannelName.DISPLAY),
            )
        )
        assert history.span == (date(2024, 1, 1), date(2024, 2, 5))
        assert history.channels == (ChannelName.DISPLAY, ChannelName.EMAIL, ChannelName.SMS)
        assert [w.week for w in history.for_channel(ChannelName.EMAIL)] == [
            date(2024, 1, 1),
            date(2024, 2, 5),
        ]
        assert history.for_channel(ChannelName.PUSH) == ()

    def test_empty_history(self) -> None:
        assert ChannelHistory().span is None
        assert ChannelHistory().channels == ()
