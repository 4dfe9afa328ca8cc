"""``ExportChannel``: one line per action appended to a CSV or JSONL file per channel and day.

For systems that take files (an ESP's import folder, a data warehouse loader, a person with a
spreadsheet). Files are ``<folder>/<channel>-<YYYY-MM-DD>.csv|jsonl``; the day is the UTC day the
action first started executing, so a retry lands in the same file as its first attempt.

Crash safety, without a second copy of the file: every line carries the idempotency key, and
the writer, holding an exclusive ``flock`` on the file, reads what was added since it last
looked and skips a key already present. A line counts once it is whole (its newline written);
a torn tail left by a crash in the middle of a write is cut off before the next append. Each
append is one ``write`` followed by ``fsync``, and only then is the receipt recorded. So:

- a crash before the line is whole: the retry writes it (the torn part is gone);
- a crash between the line and the receipt: the retry finds the key, writes nothing, and
  records the receipt it would have (same ``external_id``);
- a retry after the receipt: answered from the receipt log, the file is not opened.

A file that cannot be written (missing permissions, a full disk) raises ``ChannelUnavailable``.

An experiment's holdout stays in the record's ``parameters`` (``holdout_share``,
``experiment_id``) for the importing system to apply with the same draw
(``mios.domain.holdout``); the receipt's ``held_out`` is 0, since mios never learns what was
kept out, so measurement finds no holdout to compare with.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

from mios.channels.payload import action_payload
from mios.channels.port import Receipt, admit, replay
from mios.channels.receipts import InMemoryReceiptLog, ReceiptLog, record_once
from mios.domain.action import Action, ActionState
from mios.domain.canonical import canonical_json
from mios.domain.channel import ChannelName
from mios.errors import ChannelUnavailable, InputError

ExportFormat = Literal["csv", "jsonl"]

#: CSV columns, in order; the key first so a person can grep for it.
CSV_COLUMNS: tuple[str, ...] = (
    "idempotency_key",
    "action_id",
    "version",
    "kind",
    "channel",
    "segment_id",
    "customer_ids",  # space-separated
    "estimated_size",
    "subject",
    "headline",
    "body",
    "offer_id",
    "angle",
    "claims",  # space-separated
    "spend_amount",
    "spend_currency",
    "parameters",  # canonical JSON
)
_OPEN_FILES = 16  # indexes kept in memory; an older file is read again if it is needed


@dataclass
class _Index:
    """What the writer knows of one file: the whole records up to ``offset``, by key."""

    offset: int = 0
    records: int = 0
    keys: dict[str, int] = field(default_factory=dict)


class ExportChannel:
    """Appends actions on ``channels`` to files in ``folder`` as ``format`` ("csv" or "jsonl").

    ``receipts`` defaults to an in-memory log; the file itself already guards against a second
    line, so a durable log only saves re-reading it."""

    def __init__(
        self,
        folder: str | Path,
        format: ExportFormat = "csv",
        *,
        channels: Iterable[ChannelName],
        receipts: ReceiptLog | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if format not in ("csv", "jsonl"):
            raise InputError.at(f'must be "csv" or "jsonl", got {format!r}', field="format")
        self._folder = Path(folder)
        self._format: ExportFormat = format
        self._channels = frozenset(channels)
        self._receipts: ReceiptLog = receipts if receipts is not None else InMemoryReceiptLog()
        self._clock = clock
        self._indexes: dict[Path, _Index] = {}
        self._lock = threading.Lock()
        self._closed = False

    @property
    def channels(self) -> frozenset[ChannelName]:
        return self._channels

    def path_for(self, channel: ChannelName, day: date) -> Path:
        return self._folder / f"{channel.value}-{day.isoformat()}.{self._format}"

    def execute(self, action: Action) -> Receipt:
        channel = admit(action, self._channels, closed=self._closed)
        seen = replay(self._receipts, action)
        if seen is not None:
            return seen
        path = self.path_for(channel, self._day_of(action))
        record = self._record(action)
        try:
            with self._lock:
                number = self._append(path, action.idempotency_key, record)
        except OSError as exc:
            raise ChannelUnavailable(
                f"action {action.id}: cannot write {path}: {exc.strerror or exc}"
            ) from exc
        receipt = Receipt(
            action_id=action.id,
            idempotency_key=action.idempotency_key,
            channel=channel,
            accepted=1,
            external_id=f"{path.name}#{number}",
        )
        return record_once(self._receipts, receipt, self._clock())

    def close(self) -> None:
        self._closed = True

    def _day_of(self, action: Action) -> date:
        for step in action.history:
            if step.to_state is ActionState.EXECUTING:
                return step.at.astimezone(UTC).date()
        return self._clock().astimezone(UTC).date()

    def _record(self, action: Action) -> bytes:
        payload = action_payload(action)
        if self._format == "jsonl":
            return canonical_json(payload).encode("utf-8") + b"\n"
        return _csv_line(_csv_row(payload))

    def _append(self, path: Path, key: str, record: bytes) -> int:
        """The record number (from 1) of ``key``'s line in ``path``, written now if absent."""
        created = not path.exists()
        if created:
            self._folder.mkdir(parents=True, exist_ok=True)
        with path.open("a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # released when the file closes
            index = self._catch_up(path, handle)
            found = index.keys.get(key)
            if found is not None:
                return found  # written before a crash that came before its receipt
            header = _csv_line(CSV_COLUMNS) if self._format == "csv" and not index.offset else b""
            data = header + record
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            index.offset += len(data)
            index.records += 1
            index.keys[key] = index.records
        if created:
            _sync_folder(self._folder)
        return index.records

    def _catch_up(self, path: Path, handle: BinaryIO) -> _Index:
        """The index of ``path`` brought up to its end; a torn tail is cut off (the lock is held,
        so no writer is in the middle of a write: a partial line is a crashed one)."""
        size = os.fstat(handle.fileno()).st_size
        index = self._indexes.pop(path, None)
        if index is None or size < index.offset:
            index = _Index()
        self._indexes[path] = index  # most recently used last
        while len(self._indexes) > _OPEN_FILES:
            del self._indexes[next(iter(self._indexes))]
        if size == index.offset:
            return index
        handle.seek(index.offset)
        data = handle.read()
        whole = 0
        for record in _records(data, csv_quoting=self._format == "csv"):
            key = self._key_in(record)
            if not (index.offset + whole == 0 and key == CSV_COLUMNS[0]):  # not the CSV header
                index.records += 1
                if key is not None:
                    index.keys.setdefault(key, index.records)
            whole += len(record)
        if whole < len(data):
            os.ftruncate(handle.fileno(), index.offset + whole)
        index.offset += whole
        return index

    def _key_in(self, record: bytes) -> str | None:
        try:
            text = record.decode("utf-8")
            if self._format == "jsonl":
                value = json.loads(text).get("idempotency_key")
            else:
                value = next(csv.reader(io.StringIO(text, newline="")))[0]
        except (ValueError, AttributeError, IndexError, StopIteration, csv.Error):
            return None  # a line mios did not write; it is kept and counted, never matched
        return value if isinstance(value, str) else None


def _records(data: bytes, *, csv_quoting: bool) -> Iterator[bytes]:
    """The whole records at the start of ``data``; what follows the last one is a torn tail.

    A JSONL record is one line. A CSV record ends at a newline outside quotes: the csv module
    quotes every field holding a quote or newline and doubles quotes inside, so at a record's
    end its quote count is even. UTF-8 never has those bytes inside a multi-byte character."""
    first = position = quotes = 0
    while True:
        end = data.find(b"\n", position)
        if end < 0:
            return
        quotes += data.count(b'"', position, end)
        position = end + 1
        if not csv_quoting or quotes % 2 == 0:
            yield data[first:position]
            first, quotes = position, 0


def _csv_row(payload: dict[str, Any]) -> tuple[str, ...]:
    audience = payload.get("audience") or {}
    content = payload.get("content") or {}
    spend = payload.get("spend") or {}
    values: dict[str, Any] = {
        "idempotency_key": payload["idempotency_key"],
        "action_id": payload["id"],
        "version": payload["version"],
        "kind": payload["kind"],
        "channel": payload["channel"],
        "segment_id": audience.get("segment_id"),
        "customer_ids": " ".join(audience.get("customer_ids") or ()),
        "estimated_size": audience.get("estimated_size"),
        "subject": content.get("subject"),
        "headline": content.get("headline"),
        "body": content.get("body"),
        "offer_id": content.get("offer_id"),
        "angle": content.get("angle"),
        "claims": " ".join(content.get("claims") or ()),
        "spend_amount": spend.get("amount"),
        "spend_currency": spend.get("currency"),
        "parameters": canonical_json(payload.get("parameters") or {}),
    }
    return tuple("" if values[c] is None else str(values[c]) for c in CSV_COLUMNS)


def _csv_line(row: Iterable[str]) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerow(row)
    return buffer.getvalue().encode("utf-8")


def _sync_folder(folder: Path) -> None:
    """Make a new file's name durable, not only its bytes."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
