"""Who an action reaches: the rows of the customer table its audience names."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mios.domain.action import Action
from mios.domain.customer import EU_COUNTRIES, EU_REGIONS
from mios.domain.customer_table import CustomerTable
from mios.domain.segment import Segment
from mios.domain.workspace import Workspace
from mios.types import BoolArray, IntArray


@dataclass(frozen=True)
class Recipients:
    positions: IntArray  # rows of the customer table, sorted, each once
    unknown_ids: tuple[str, ...] = ()  # listed ids that are not customers
    unknown_segment: str | None = None  # a segment id the workspace does not define


def recipients(action: Action, workspace: Workspace, customers: CustomerTable) -> Recipients:
    """The customers an addressed audience names (none for an estimate-only audience)."""
    audience = action.audience
    empty = np.empty(0, dtype=np.int64)
    if audience is None or not audience.is_addressed:
        return Recipients(empty)
    parts: list[IntArray] = []
    unknown_segment = None
    if audience.segment_id is not None:
        segment = next((s for s in workspace.segments if s.id == audience.segment_id), None)
        if segment is None:
            unknown_segment = audience.segment_id
        else:
            parts.append(_SEGMENT_ROWS.rows(segment, customers))
    unknown: tuple[str, ...] = ()
    if audience.customer_ids:
        found = customers.positions(audience.customer_ids)
        unknown = tuple(c for c, p in zip(audience.customer_ids, found, strict=True) if p < 0)
        parts.append(found[found >= 0])
    if not parts:
        positions = empty
    elif len(parts) == 1 and audience.segment_id is not None:
        positions = parts[0]  # a mask's rows are already sorted and unique
    else:
        positions = np.unique(np.concatenate(parts))
    return Recipients(positions.astype(np.int64, copy=False), unknown, unknown_segment)


class _SegmentRows:
    """Rows of each segment per customer table. A snapshot's segments and customers do not
    change, and a cycle sends many actions to the same few segments, so each mask is evaluated
    once per table. Entries hold the table they were computed on; a new table starts afresh."""

    def __init__(self) -> None:
        self._table: CustomerTable | None = None
        self._masks: dict[Segment, BoolArray] = {}
        self._rows: dict[Segment, IntArray] = {}

    def mask(self, segment: Segment, customers: CustomerTable) -> BoolArray:
        if customers is not self._table:
            self._table, self._masks, self._rows = customers, {}, {}
        found = self._masks.get(segment)
        if found is None:
            found = self._masks[segment] = segment.mask(customers)
            found.flags.writeable = False  # shared between reviews: nobody may change it
        return found

    def rows(self, segment: Segment, customers: CustomerTable) -> IntArray:
        mask = self.mask(segment, customers)  # first: it starts afresh for a new table
        found = self._rows.get(segment)
        if found is None:
            found = self._rows[segment] = np.flatnonzero(mask).astype(np.int64)
            found.flags.writeable = False
        return found


class _EuRows:
    """Which customers are in the EU (by region or country), once per customer table: consent
    and the facts both ask, for every message. One entry, read and replaced whole, so a thread
    never pairs one table with another's mask."""

    entry: tuple[CustomerTable, BoolArray] | None = None

    def mask(self, customers: CustomerTable) -> BoolArray:
        entry = self.entry
        if entry is not None and entry[0] is customers:
            return entry[1]
        mask = customers.region.isin(EU_REGIONS) | customers.country.isin(EU_COUNTRIES)
        mask.flags.writeable = False
        self.entry = (customers, mask)
        return mask


_EU = _EuRows()


def in_eu(customers: CustomerTable, rows: IntArray) -> BoolArray:
    """For each of ``rows``: is that customer in the EU (region or country)?"""
    hit: BoolArray = _EU.mask(customers)[rows]
    return hit


def segment_mask(segment: Segment, customers: CustomerTable) -> BoolArray:
    """Which rows of ``customers`` are in ``segment`` (computed once per table, read-only)."""
    return _SEGMENT_ROWS.mask(segment, customers)


_SEGMENT_ROWS = _SegmentRows()
