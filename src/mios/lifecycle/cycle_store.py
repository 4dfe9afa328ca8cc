"""Where cycles are kept: the ``CycleStore`` port and its in-memory fake.

A store keeps each ``Cycle`` (saved again at every stage change) with a small JSON ``summary``
of what its stages produced, and the response counts each cycle measured per cell
(``CellCount``), from which the next cycle's response model is built. ``save_cells`` replaces
the cells of one cycle, so a measure step that runs twice counts once.

Implementations: ``InMemoryCycleStore`` here and ``mios.persistence.cycle_store.SqlCycleStore``;
both pass ``tests/contracts/test_cycle_store_contract.py``. Stored objects are copies.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from mios.domain.cycle import Cycle
from mios.errors import DomainError


@dataclass(frozen=True)
class CellCount:
    """What one cycle measured for one response-model cell (segment, channel, offer, angle):
    messages sent, conversions, and the revenue of those conversions (workspace currency)."""

    segment: str
    channel: str
    offer: str
    angle: str
    trials: int
    successes: int
    revenue: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        where = f"cell {self.key}"
        if self.trials < 0 or self.successes < 0:
            raise DomainError(f"{where}: counts must be >= 0")
        if self.successes > self.trials:
            raise DomainError(f"{where}: {self.successes} conversions from {self.trials} sends")
        if self.revenue < 0:
            raise DomainError(f"{where}: revenue must be >= 0")

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.segment, self.channel, self.offer, self.angle)


class CycleStore(Protocol):
    def save(self, cycle: Cycle, summary: Mapping[str, Any] | None = None) -> None:
        """Insert or replace ``cycle``; ``summary``, when given, is merged into the stored one.
        Another cycle with the same playbook and number is refused (``DomainError``)."""
        ...

    def get(self, cycle_id: str) -> Cycle | None: ...

    def summary(self, cycle_id: str) -> dict[str, Any]:
        """What the cycle's stages recorded (empty for an unknown cycle)."""
        ...

    def cycles(self, playbook: str | None = None) -> list[Cycle]:
        """Cycles by playbook, then number."""
        ...

    def last_number(self, playbook: str) -> int:
        """The highest cycle number of ``playbook``; ``0`` before its first cycle."""
        ...

    def save_cells(self, cycle_id: str, cells: Iterable[CellCount]) -> None:
        """Replace what ``cycle_id`` measured per cell."""
        ...

    def cells(self) -> list[CellCount]:
        """Every cycle's cells, by cycle id then cell."""
        ...


class InMemoryCycleStore:
    def __init__(self) -> None:
        self._cycles: dict[str, Cycle] = {}
        self._summaries: dict[str, dict[str, Any]] = {}
        self._cells: dict[str, list[CellCount]] = {}
        self._lock = threading.Lock()

    def save(self, cycle: Cycle, summary: Mapping[str, Any] | None = None) -> None:
        with self._lock:
            clash = next(
                (
                    c
                    for c in self._cycles.values()
                    if c.playbook == cycle.playbook and c.number == cycle.number and c != cycle
                ),
                None,
            )
            if clash is not None:
                raise DomainError(
                    f"cycle {cycle.number} of playbook {cycle.playbook} is already {clash.id}"
                )
            self._cycles[cycle.id] = copy.deepcopy(cycle)
            merged = self._summaries.setdefault(cycle.id, {})
            merged.update(copy.deepcopy(dict(summary or {})))

    def get(self, cycle_id: str) -> Cycle | None:
        with self._lock:
            found = self._cycles.get(cycle_id)
            return copy.deepcopy(found) if found is not None else None

    def summary(self, cycle_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._summaries.get(cycle_id, {}))

    def cycles(self, playbook: str | None = None) -> list[Cycle]:
        with self._lock:
            found = [c for c in self._cycles.values() if playbook in (None, c.playbook)]
            return [copy.deepcopy(c) for c in sorted(found, key=lambda c: (c.playbook, c.number))]

    def last_number(self, playbook: str) -> int:
        with self._lock:
            return max(
                (c.number for c in self._cycles.values() if c.playbook == playbook), default=0
            )

    def save_cells(self, cycle_id: str, cells: Iterable[CellCount]) -> None:
        with self._lock:
            self._cells[cycle_id] = sorted(cells, key=lambda c: c.key)

    def cells(self) -> list[CellCount]:
        with self._lock:
            return [cell for key in sorted(self._cells) for cell in self._cells[key]]
