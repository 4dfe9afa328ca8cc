"""``ReceiptLog``: where a channel writes down what it did, one receipt per idempotency key.

A channel records its receipt here before it returns, so a retry of the same action (in this
process, or in a new one after a crash, when the log is durable) is answered from the log and
does nothing new. ``put`` refuses a second receipt for a key: the first one is the truth, and a
connector that finds one already there must replay it rather than overwrite it.

Connectors that reach several recipients per action (SMTP) also record one *part* receipt per
recipient under ``part_key(key, recipient)``, so a retry after a partial failure reaches only
the recipients the first attempt did not.

``InMemoryReceiptLog`` lives as long as its process; ``mios.persistence.receipt_log.SqlReceiptLog``
keeps receipts in the ``receipts`` table and survives restarts. Both pass
``tests/contracts/test_receipt_log_contract.py``.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from mios.channels.port import Receipt
from mios.domain.clock import require_utc
from mios.errors import ChannelError


class ReceiptLog(Protocol):
    """Receipts by idempotency key; a key, once written, is never written again."""

    def get(self, key: str, /) -> Receipt | None:
        """The receipt recorded under ``key`` (never marked duplicate), or ``None``."""
        ...

    def put(self, receipt: Receipt, at: datetime) -> None:
        """Record ``receipt`` under its key at ``at`` (UTC); ``ChannelError`` if the key already
        has a receipt, leaving that one as it was."""
        ...


def part_key(key: str, recipient: str) -> str:
    """The key of the part of action ``key`` that reached ``recipient`` (a customer id)."""
    return f"{key}#{recipient}"


def check_receipt(receipt: Receipt, at: datetime) -> tuple[Receipt, datetime]:
    """What a log stores: the receipt as first made (not a duplicate) and its UTC time."""
    if receipt.duplicate:
        raise ChannelError(
            f"receipt for {receipt.idempotency_key}: a duplicate is a replay of a receipt, "
            "never recorded itself"
        )
    if not receipt.idempotency_key.strip():
        raise ChannelError(f"receipt for action {receipt.action_id} has no idempotency key")
    return replace(receipt), require_utc(at, "receipt time")


def record_once(receipts: ReceiptLog, receipt: Receipt, at: datetime) -> Receipt:
    """Put ``receipt`` and return it; if another worker recorded its key first (two workers on
    one action), return that first receipt, marked duplicate, since it is the one that stands."""
    try:
        receipts.put(receipt, at)
    except ChannelError:
        first = receipts.get(receipt.idempotency_key)
        if first is None or first.action_id != receipt.action_id:
            raise
        return replace(first, duplicate=True)
    return receipt


def already_recorded(key: str) -> ChannelError:
    return ChannelError(f"idempotency key {key} already has a receipt; the first one stands")


class InMemoryReceiptLog:
    """A ``ReceiptLog`` in a dict, safe to share between threads; gone when the process ends."""

    def __init__(self) -> None:
        self._receipts: dict[str, tuple[Receipt, datetime]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, /) -> Receipt | None:
        with self._lock:
            found = self._receipts.get(key)
        return None if found is None else found[0]

    def put(self, receipt: Receipt, at: datetime) -> None:
        stored = check_receipt(receipt, at)
        with self._lock:
            if receipt.idempotency_key in self._receipts:
                raise already_recorded(receipt.idempotency_key)
            self._receipts[receipt.idempotency_key] = stored

    def __len__(self) -> int:
        with self._lock:
            return len(self._receipts)
