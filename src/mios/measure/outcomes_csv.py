"""Read an outcomes CSV into ``Outcome`` values, checking every row before any is kept.

Columns (header names, any order; docs/measurement.md):

    id            required  the outcome's own id; a repeated id is the same event, kept once
    kind          required  delivered, open, click, conversion, revenue, spend, unsubscribe,
                            complaint or incident
    at            required  ISO 8601 time with an offset (2026-11-02T09:30:00Z)
    action_id     optional  the action that caused it; must be known when the caller says
                            which actions are
    customer_id   optional
    channel       optional  email, sms, push, paid_search, paid_social, display or content
    value         optional  a decimal amount; required for revenue and spend
    currency      optional  ISO 4217 code; the caller's default currency when empty
    count         optional  a whole number >= 1 (default 1), for aggregated events
    tracking_id   optional  the tracking id the event came back with
    attributes    optional  a JSON object (offer, experiment_id, arm, cost ...)

Any other column is refused, so a misspelt header is caught rather than silently dropped.
Every problem is reported with ``file:line`` and the column; nothing is returned unless every
row is valid.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.outcome import Outcome, OutcomeKind
from mios.errors import DomainError, InputError, Location, Problem

COLUMNS = (
    "id",
    "kind",
    "at",
    "action_id",
    "customer_id",
    "channel",
    "value",
    "currency",
    "count",
    "tracking_id",
    "attributes",
)
REQUIRED = ("id", "kind", "at")
MAX_PROBLEMS = 100
_Report = Callable[[str, str], None]  # (column, message)
_KINDS = ", ".join(k.value for k in OutcomeKind)
_CHANNELS = ", ".join(c.value for c in ChannelName)


@dataclass(frozen=True)
class OutcomeFile:
    """The outcomes of a file, each id once (the first row of an id wins)."""

    outcomes: tuple[Outcome, ...]
    rows: int
    repeated_ids: int  # rows whose id an earlier row already had


class _Problems:
    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[Problem] = []
        self.count = 0

    def add(self, line: int | None, column: str | None, message: str) -> None:
        self.count += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(Location(self.file, line, column), message))

    def raise_if_any(self) -> None:
        if not self.count:
            return
        if self.count == 1:
            raise InputError(f"{self.items[0]}; nothing was imported", self.items)
        shown = "; ".join(str(p) for p in self.items[:3])
        more = f" (and {self.count - 3} more)" if self.count > 3 else ""
        raise InputError(
            f"{self.count} problems in {self.file}: {shown}{more}; nothing was imported",
            self.items,
        )


def read_outcomes_csv(
    path: Path,
    *,
    default_currency: str,
    known_actions: Container[str] | None = None,
    display: str | None = None,
) -> OutcomeFile:
    """Read and check ``path``. ``known_actions``: when given, an ``action_id`` not in it is
    refused (an outcome for an action mios never ran). Raises ``InputError`` listing every
    problem, so a bad file changes nothing."""
    name = display or str(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")  # Excel writes a BOM
    except OSError as exc:
        raise InputError.at(f"cannot open: {exc.strerror or exc}", file=name) from exc
    with handle:
        try:
            return parse_outcomes_csv(
                handle, name, default_currency=default_currency, known_actions=known_actions
            )
        except UnicodeDecodeError as exc:
            raise InputError.at(
                f"not UTF-8 text ({exc.reason}); save the file as UTF-8", file=name
            ) from exc


def parse_outcomes_csv(
    handle: TextIO,
    name: str,
    *,
    default_currency: str,
    known_actions: Container[str] | None = None,
) -> OutcomeFile:
    """As ``read_outcomes_csv``, from an open text stream named ``name`` in messages."""
    problems = _Problems(name)
    reader = csv.reader(handle)
    try:
        header = next(reader, None)
        if header is None:
            raise InputError.at("the file is empty; expected a header row", file=name, line=1)
        columns = _columns(header, name)
        kept: dict[str, Outcome] = {}
        rows = repeated = 0
        for line, cells in _records(reader):
            if not any(c.strip() for c in cells):
                continue  # a blank line
            rows += 1
            if len(cells) != len(columns):
                problems.add(line, None, f"expected {len(columns)} cells, got {len(cells)}")
                continue
            values = dict(zip(columns, (c.strip() for c in cells), strict=True))
            outcome = _outcome(values, line, problems, default_currency, known_actions)
            if outcome is None:
                continue
            if outcome.id in kept:
                repeated += 1
            else:
                kept[outcome.id] = outcome
    except csv.Error as exc:
        raise InputError.at(f"malformed CSV: {exc}", file=name, line=reader.line_num) from exc
    problems.raise_if_any()
    return OutcomeFile(tuple(kept.values()), rows, repeated)


def _records(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on (a quoted cell may span lines)."""
    start = reader.line_num + 1
    for cells in reader:
        yield start, cells
        start = reader.line_num + 1


def _columns(header: list[str], name: str) -> list[str]:
    columns = [h.strip() for h in header]
    problems = _Problems(name)
    seen: set[str] = set()
    for column in columns:
        if column not in COLUMNS:
            problems.add(1, column, f"unknown column; the columns are: {', '.join(COLUMNS)}")
        elif column in seen:
            problems.add(1, column, "this column appears twice")
        seen.add(column)
    for column in REQUIRED:
        if column not in seen:
            problems.add(1, column, "required column missing")
    problems.raise_if_any()
    return columns


def _outcome(
    values: dict[str, str],
    line: int,
    problems: _Problems,
    default_currency: str,
    known_actions: Container[str] | None,
) -> Outcome | None:
    before = problems.count

    def bad(column: str, message: str) -> None:
        problems.add(line, column, message)

    outcome_id = values["id"]
    if not outcome_id:
        bad("id", "an outcome needs an id")
    kind = None
    try:
        kind = OutcomeKind(values["kind"].lower())
    except ValueError:
        bad("kind", f"{values['kind']!r} is not a kind; use one of: {_KINDS}")
    at = _time(values["at"], bad)
    action_id = values.get("action_id") or None
    if action_id is not None and known_actions is not None and action_id not in known_actions:
        bad("action_id", f"no action {action_id!r} is known; an outcome needs a real action")
    channel = None
    if values.get("channel"):
        try:
            channel = ChannelName(values["channel"].lower())
        except ValueError:
            bad("channel", f"{values['channel']!r} is not a channel; use one of: {_CHANNELS}")
    value = _money(values.get("value", ""), values.get("currency") or default_currency, bad)
    count = 1
    if values.get("count"):
        try:
            count = int(values["count"])
        except ValueError:
            bad("count", f"{values['count']!r} is not a whole number")
    attributes = _attributes(values.get("attributes", ""), bad)
    if problems.count > before or kind is None or at is None:
        return None
    try:
        return Outcome(
            id=outcome_id,
            kind=kind,
            at=at,
            action_id=action_id,
            customer_id=values.get("customer_id") or None,
            channel=channel,
            value=value,
            count=count,
            tracking_id=values.get("tracking_id") or None,
            attributes=attributes,
        )
    except DomainError as exc:
        bad(_column_of(str(exc)), str(exc))
        return None


def _time(text: str, bad: _Report) -> datetime | None:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        bad("at", f"{text!r} is not an ISO 8601 time (2026-11-02T09:30:00Z)")
        return None
    if at.tzinfo is None or at.utcoffset() is None:
        bad("at", f"{text!r} has no offset; add Z for UTC or +hh:mm")
        return None
    return at


def _money(amount: str, currency: str, bad: _Report) -> Money | None:
    if not amount:
        return None
    try:
        number = Decimal(amount)
    except InvalidOperation:
        bad("value", f"{amount!r} is not a decimal amount")
        return None
    try:
        return Money(number, currency.upper())
    except DomainError as exc:
        bad("currency" if "currency" in str(exc) else "value", str(exc))
        return None


def _attributes(text: str, bad: _Report) -> dict[str, Any]:
    if not text:
        return {}
    try:
        parsed = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        bad("attributes", f"not JSON: {exc.msg} at character {exc.pos}")
        return {}
    except ValueError as exc:
        bad("attributes", str(exc))
        return {}
    if not isinstance(parsed, dict):
        bad("attributes", 'must be a JSON object, like {"offer": "winter"}')
        return {}
    return parsed


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _column_of(message: str) -> str:
    """The column an ``Outcome`` rule is about, from its message."""
    if "count" in message:
        return "count"
    if "value" in message or "money" in message or "spend" in message:
        return "value"
    return "id"
