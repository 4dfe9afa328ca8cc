"""``SimulatorChannel``: the Channel port over the simulated market, one action at a time.

The market knows its scenario segments; a workspace names its own. Each workspace segment is
registered with the market as an audience of exactly the customers its rule selects, so an action
addressed to a workspace segment id reaches those customers and nobody else.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from mios.channels.port import Receipt, admit, replay
from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.outcome import Outcome
from mios.domain.segment import Segment
from mios.errors import ChannelError, ChannelUnavailable, MarketError
from mios.sim.market import Market
from mios.types import IntArray


class SimulatorChannel:
    """Serves every channel of ``market``; outcomes wait in ``take_outcomes()`` for measurement."""

    def __init__(self, market: Market, segments: Iterable[Segment] = ()) -> None:
        self._market = market
        self._channels = frozenset(market.channel_names)
        self._receipts: dict[str, Receipt] = {}
        self._outcomes: list[Outcome] = []
        self._closed = False
        for name, positions in _audiences(market, segments).items():
            market.define_audience(name, positions)

    @property
    def channels(self) -> frozenset[ChannelName]:
        return self._channels

    def execute(self, action: Action) -> Receipt:
        channel = admit(action, self._channels, closed=self._closed)
        seen = replay(self._receipts, action)
        if seen is not None:
            return seen
        execution = self._market.execute(action)
        if execution.unavailable:
            raise ChannelUnavailable(f"action {action.id}: {execution.note}")
        self._outcomes.extend(execution.outcomes)
        receipt = Receipt(
            action_id=action.id,
            idempotency_key=action.idempotency_key,
            channel=channel,
            accepted=execution.accepted,
            external_id=f"sim-d{execution.day}-{len(self._receipts) + 1}",
            note=execution.note,
        )
        self._receipts[action.idempotency_key] = receipt
        return receipt

    def advance_day(self) -> None:
        """Close the market's open day; what paid media, content and organic sales did then
        joins the outcomes waiting to be taken."""
        if self._closed:
            raise ChannelError("the channel is closed")
        self._outcomes.extend(self._market.advance())

    def take_outcomes(self) -> list[Outcome]:
        """Every outcome since the last call, in the order it happened; each is handed over once."""
        taken, self._outcomes = self._outcomes, []
        return taken

    def close(self) -> None:
        self._closed = True


def _audiences(market: Market, segments: Iterable[Segment]) -> dict[str, IntArray]:
    """Positions of each workspace segment the market must learn, all checked before any is
    registered so a bad segment leaves the market as it was."""
    table = market.customer_table()
    audiences: dict[str, IntArray] = {}
    for segment in segments:
        positions = np.flatnonzero(segment.mask(table)).astype(np.int64)
        if segment.id not in market.segment_ids:
            audiences[segment.id] = positions
        # The market cannot redefine its own segments, so sharing a name is only safe when both
        # mean the same customers.
        elif not np.array_equal(positions, market.members(segment.id)):
            raise MarketError(
                f"workspace segment {segment.id!r} selects other customers than the market's "
                "scenario segment of that name"
            )
    return audiences
