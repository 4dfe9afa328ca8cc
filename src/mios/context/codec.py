"""JSON forms of the context parts that code writes (history, ledger entries, learnings).

pydantic reads and writes the domain dataclasses directly, so there is no second set of
classes to keep in step with the domain.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from mios.domain.budget import LedgerEntry
from mios.domain.history import ChannelHistory
from mios.domain.outcome import Learning

_HISTORY = TypeAdapter(ChannelHistory)
_ENTRY = TypeAdapter(LedgerEntry)
_LEARNING = TypeAdapter(Learning)


def history_to_json(history: ChannelHistory) -> dict[str, Any]:
    return _HISTORY.dump_python(history, mode="json")  # type: ignore[no-any-return]


def history_from_json(data: Any) -> ChannelHistory:
    return _HISTORY.validate_python(data)


def entry_to_json(entry: LedgerEntry) -> dict[str, Any]:
    return _ENTRY.dump_python(entry, mode="json")  # type: ignore[no-any-return]


def entry_from_json(data: Any) -> LedgerEntry:
    return _ENTRY.validate_python(data)


def learning_to_json(learning: Learning) -> dict[str, Any]:
    return _LEARNING.dump_python(learning, mode="json")  # type: ignore[no-any-return]


def learning_from_json(data: Any) -> Learning:
    return _LEARNING.validate_python(data)
