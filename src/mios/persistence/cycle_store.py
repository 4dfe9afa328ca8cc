"""``SqlCycleStore``: the ``CycleStore`` on the ``cycles`` and ``cycle_cells`` tables, SQLite or
PostgreSQL.

A save is one transaction: the stored summary is read and merged with the new one, and the row
is upserted by id. Another cycle with the same playbook and number breaks the unique constraint
and is refused as a ``DomainError``. ``save_cells`` deletes the cycle's cells and inserts the
new ones in one transaction, so a measure step that ran twice counts once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from mios.domain.cycle import Cycle, CycleStage
from mios.errors import DomainError, StorageError
from mios.lifecycle.cycle_store import CellCount
from mios.persistence.engine import STORAGE_ERRORS, safe_url
from mios.persistence.engine import reason as failure_reason
from mios.persistence.tables import cycle_cells, cycles


def cycle_to_json(cycle: Cycle) -> str:
    return json.dumps(
        {
            "id": cycle.id,
            "playbook": cycle.playbook,
            "number": cycle.number,
            "snapshot_version": cycle.snapshot_version,
            "started_at": cycle.started_at.isoformat(),
            "stage": str(cycle.stage),
            "finished_at": None if cycle.finished_at is None else cycle.finished_at.isoformat(),
            "proposal_ids": list(cycle.proposal_ids),
            "action_ids": list(cycle.action_ids),
            "stage_times": {str(s): t.isoformat() for s, t in cycle.stage_times.items()},
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def cycle_from_json(text: str) -> Cycle:
    data = json.loads(text)
    finished = data["finished_at"]
    return Cycle(
        id=data["id"],
        playbook=data["playbook"],
        number=int(data["number"]),
        snapshot_version=int(data["snapshot_version"]),
        started_at=datetime.fromisoformat(data["started_at"]),
        stage=CycleStage(data["stage"]),
        finished_at=None if finished is None else datetime.fromisoformat(finished),
        proposal_ids=list(data["proposal_ids"]),
        action_ids=list(data["action_ids"]),
        stage_times={
            CycleStage(s): datetime.fromisoformat(t) for s, t in data["stage_times"].items()
        },
    )


class SqlCycleStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save(self, cycle: Cycle, summary: Mapping[str, Any] | None = None) -> None:
        body = cycle_to_json(cycle)
        try:
            with self._writing(f"saving cycle {cycle.id}") as conn:
                found = conn.execute(
                    select(cycles.c.summary).where(cycles.c.id == cycle.id)
                ).scalar_one_or_none()
                merged = {**(json.loads(found) if found else {}), **dict(summary or {})}
                row = {
                    "playbook": cycle.playbook,
                    "number": cycle.number,
                    "stage": str(cycle.stage),
                    "started_at": cycle.started_at.astimezone(UTC),
                    "body": body,
                    "summary": json.dumps(merged, sort_keys=True),
                }
                if found is None:
                    conn.execute(insert(cycles).values(id=cycle.id, **row))
                else:
                    conn.execute(update(cycles).where(cycles.c.id == cycle.id).values(**row))
        except IntegrityError as exc:
            raise DomainError(
                f"cycle {cycle.number} of playbook {cycle.playbook} is already another cycle"
            ) from exc

    def get(self, cycle_id: str) -> Cycle | None:
        rows = self._read(select(cycles.c.body).where(cycles.c.id == cycle_id))
        return cycle_from_json(rows[0][0]) if rows else None

    def summary(self, cycle_id: str) -> dict[str, Any]:
        rows = self._read(select(cycles.c.summary).where(cycles.c.id == cycle_id))
        if not rows:
            return {}
        found: dict[str, Any] = json.loads(rows[0][0])
        return found

    def cycles(self, playbook: str | None = None) -> list[Cycle]:
        query = select(cycles.c.body).order_by(cycles.c.playbook, cycles.c.number)
        if playbook is not None:
            query = query.where(cycles.c.playbook == playbook)
        return [cycle_from_json(row[0]) for row in self._read(query)]

    def last_number(self, playbook: str) -> int:
        rows = self._read(select(func.max(cycles.c.number)).where(cycles.c.playbook == playbook))
        return int(rows[0][0] or 0)

    def save_cells(self, cycle_id: str, cells: Iterable[CellCount]) -> None:
        rows = [
            {
                "cycle_id": cycle_id,
                "segment": c.segment,
                "channel": c.channel,
                "offer": c.offer,
                "angle": c.angle,
                "trials": c.trials,
                "successes": c.successes,
                "revenue": str(c.revenue),
            }
            for c in cells
        ]
        with self._writing(f"saving the cells of cycle {cycle_id}") as conn:
            conn.execute(delete(cycle_cells).where(cycle_cells.c.cycle_id == cycle_id))
            if rows:
                conn.execute(insert(cycle_cells), rows)

    def cells(self) -> list[CellCount]:
        c = cycle_cells.c
        query = select(
            c.segment, c.channel, c.offer, c.angle, c.trials, c.successes, c.revenue
        ).order_by(c.cycle_id, c.segment, c.channel, c.offer, c.angle)
        return [
            CellCount(
                row.segment,
                row.channel,
                row.offer,
                row.angle,
                int(row.trials),
                int(row.successes),
                Decimal(row.revenue),
            )
            for row in self._read(query)
        ]

    # -- plumbing -------------------------------------------------------------------------

    def _read(self, query: Any) -> list[Any]:
        try:
            with self._engine.connect() as conn:
                return list(conn.execute(query).all())
        except STORAGE_ERRORS as exc:
            raise StorageError(
                f"reading cycles from {self._where()} failed: {failure_reason(exc)}"
            ) from exc

    @contextmanager
    def _writing(self, doing: str) -> Iterator[Connection]:
        try:
            with self._engine.begin() as conn:
                if conn.dialect.name == "sqlite":
                    # Read-then-write: take the write lock first, so two savers queue up.
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield conn
        except IntegrityError:
            raise
        except STORAGE_ERRORS as exc:
            raise StorageError(f"{doing} in {self._where()} failed: {failure_reason(exc)}") from exc

    def _where(self) -> str:
        return safe_url(str(self._engine.url))
