"""The Channel port: one action in, one ``Receipt`` out, and ``close()``.

Every implementation keeps the same contract (``tests/contracts/test_channel_contract.py``):

- it executes only actions in state ``executing``; any other state raises ``ChannelError``;
- an action on a channel it does not serve (or on none) raises ``ChannelError``;
- an idempotency key it has executed before causes nothing new: it returns the first receipt
  again with ``duplicate=True``, so a retry of an attempt that half-succeeded is harmless;
- an outage raises ``ChannelUnavailable`` having done nothing, so the same action may be
  retried later and is then executed for the first time;
- after ``close()`` every ``execute`` raises ``ChannelError``; closing twice is harmless;
- connectors record each receipt in a ``ReceiptLog`` (``mios.channels.receipts``) before
  returning; with a durable one, a restarted process answers a retry from it.

``MarketError`` and other ``InputError``\\ s pass through unchanged: bad input is not a channel
failure, and retrying it would fail the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from mios.domain.action import Action, ActionState
from mios.domain.channel import ChannelName
from mios.errors import ChannelError


@dataclass(frozen=True)
class Receipt:
    """What a channel did with one action, under the channel's own reference ``external_id``."""

    action_id: str
    idempotency_key: str
    channel: ChannelName
    accepted: int  # messages sent, settings or pieces taken; 0 when the channel took none
    external_id: str
    duplicate: bool = False  # the key was executed before; this is that receipt, nothing new
    note: str | None = None  # why less happened than asked
    # Audience members an experiment kept out (``mios.domain.holdout``): measurement compares
    # the ``accepted`` with them.
    held_out: int = 0


class ReceiptLookup(Protocol):
    """Anything that finds a receipt by idempotency key: a dict, or a durable ``ReceiptLog``."""

    def get(self, key: str, /) -> Receipt | None: ...


class Channel(Protocol):
    """Carries out actions on the channels it serves; see the module docstring for the contract."""

    @property
    def channels(self) -> frozenset[ChannelName]: ...

    def execute(self, action: Action) -> Receipt: ...

    def close(self) -> None: ...


def admit(action: Action, serves: frozenset[ChannelName], *, closed: bool) -> ChannelName:
    """The channel ``action`` goes out on, or ``ChannelError`` if the contract refuses it."""
    if closed:
        raise ChannelError(f"action {action.id}: the channel is closed")
    if action.state is not ActionState.EXECUTING:
        raise ChannelError(
            f"action {action.id}: only an executing action runs; it is {action.state}"
        )
    channel = action.channel
    if channel is None:
        raise ChannelError(f"action {action.id} names no channel")
    if channel not in serves:
        served = ", ".join(sorted(serves)) or "nothing"
        raise ChannelError(f"action {action.id}: {channel} is not served here (only {served})")
    return channel


def replay(receipts: ReceiptLookup, action: Action) -> Receipt | None:
    """The earlier receipt for this idempotency key, marked duplicate; ``None`` if it is new.

    A key belongs to one action: another action arriving with it is refused, since executing
    it would be wrong and answering with someone else's receipt would hide that."""
    seen = receipts.get(action.idempotency_key)
    if seen is None:
        return None
    if seen.action_id != action.id:
        raise ChannelError(
            f"action {action.id}: idempotency key {action.idempotency_key} belongs to action "
            f"{seen.action_id}"
        )
    return replace(seen, duplicate=True)
