"""Who an action reaches: the rows of the customer table its audience names."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mios.domain.action import Action
from mios.domain.customer_table import CustomerTable
from mios.domain.workspace import Workspace
from mios.types import IntArray


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
            parts.append(np.flatnonzero(segment.mask(customers)))
    unknown: tuple[str, ...] = ()
    if audience.customer_ids:
        found = customers.positions(audience.customer_ids)
        unknown = tuple(c for c, p in zip(audience.customer_ids, found, strict=True) if p < 0)
        parts.append(found[found >= 0])
    positions = np.unique(np.concatenate(parts)) if parts else empty
    return Recipients(positions.astype(np.int64), unknown, unknown_segment)
