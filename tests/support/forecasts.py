"""A forecasts service for agent tests: one response rate for every cell, nothing else known."""

from __future__ import annotations

from mios.agents.protocol import Estimate
from mios.domain.channel import ChannelName


class FlatForecasts:
    def __init__(self, rate: Estimate | None = None) -> None:
        self.rate = rate or Estimate(0.01, 0.005, 0.02)

    def response_rate(
        self, segment: str, channel: ChannelName, offer: str | None, angle: str | None
    ) -> Estimate:
        return self.rate

    def order_value(self, channel: ChannelName, offer: str | None) -> Estimate | None:
        return None

    def roas(self, channel: ChannelName) -> Estimate | None:
        return None

    def marginal_roas(self, channel: ChannelName) -> Estimate | None:
        return None
