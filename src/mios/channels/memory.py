"""``RecordingChannel``: an in-memory Channel that records what it is given, for lifecycle tests.

It keeps the whole contract of the port (states, idempotency, outages, close) but reaches nobody;
set ``outage`` to make it refuse with ``ChannelUnavailable`` until it is cleared.
"""

from __future__ import annotations

from collections.abc import Iterable

from mios.channels.port import Receipt, admit, replay
from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.errors import ChannelUnavailable


class RecordingChannel:
    """Serves ``channels``; ``executed`` lists each action it carried out, first first."""

    def __init__(self, channels: Iterable[ChannelName]) -> None:
        self._channels = frozenset(channels)
        self._receipts: dict[str, Receipt] = {}
        self._closed = False
        self.executed: list[Action] = []
        self.outage = False

    @property
    def channels(self) -> frozenset[ChannelName]:
        return self._channels

    def execute(self, action: Action) -> Receipt:
        channel = admit(action, self._channels, closed=self._closed)
        seen = replay(self._receipts, action)
        if seen is not None:
            return seen
        if self.outage:
            raise ChannelUnavailable(f"action {action.id}: {channel} is down")
        self.executed.append(action)
        # It takes each action whole: one unit, whatever the action's size.
        receipt = Receipt(
            action_id=action.id,
            idempotency_key=action.idempotency_key,
            channel=channel,
            accepted=1,
            external_id=f"rec-{len(self.executed)}",
        )
        self._receipts[action.idempotency_key] = receipt
        return receipt

    def close(self) -> None:
        self._closed = True
