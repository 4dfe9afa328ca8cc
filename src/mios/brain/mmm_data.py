"""Read a media mix model's data and lift tests from CSV files (stdlib ``csv`` and NumPy only).

Every problem is reported with the file, the line (the header is line 1) and the column.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mios.brain.mmm_inputs import LiftTest
from mios.errors import ModelInputError
from mios.types import FloatArray, TimeArray

LIFT_COLUMNS = ("channel", "start", "end", "spend_delta", "lift", "lift_se")


@dataclass(frozen=True)
class MediaData:
    """One row per period: ``dates`` (T,), ``target`` (T,), ``spend`` (T, C), ``controls``
    (T, K), with the column names they came from."""

    dates: TimeArray
    target: FloatArray
    spend: FloatArray
    controls: FloatArray
    channels: tuple[str, ...]
    control_names: tuple[str, ...]


def _rows(path: Path, needed: Sequence[str]) -> tuple[list[dict[str, str]], list[int]]:
    """The file's rows as dicts and the line each starts on, after checking the header."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [name for name in needed if name not in header]
            if missing:
                raise ModelInputError.at(
                    f"missing column{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(repr(m) for m in missing)}; the file has "
                    f"{', '.join(repr(h) for h in header) or 'no header'}",
                    file=str(path),
                    line=1,
                )
            rows: list[dict[str, str]] = []
            lines: list[int] = []
            start = reader.line_num + 1
            for row in reader:
                rows.append(row)
                lines.append(start)
                start = reader.line_num + 1
    except OSError as exc:
        raise ModelInputError.at(f"cannot read the file: {exc.strerror}", file=str(path)) from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ModelInputError.at(f"not a readable CSV file: {exc}", file=str(path)) from exc
    return rows, lines


def _number(path: Path, line: int, column: str, text: str | None) -> float:
    try:
        value = float((text or "").strip())
    except ValueError:
        value = float("nan")
    if not np.isfinite(value):
        shown = "empty" if not (text or "").strip() else f"{text!r}"
        raise ModelInputError.at(
            f"{shown} is not a number", file=str(path), line=line, field=column
        )
    return value


def _date(path: Path, line: int, column: str, text: str | None) -> np.datetime64:
    raw = (text or "").strip()
    try:
        # NumPy reads "", "NaT" and "nat" as not-a-time, which no comparison catches later.
        value = np.datetime64(raw[:10], "D")
        if np.isnat(value):
            raise ValueError(raw)
    except ValueError as exc:
        shown = "empty" if not raw else f"{raw!r}"
        raise ModelInputError.at(
            f"{shown} is not a date (YYYY-MM-DD)", file=str(path), line=line, field=column
        ) from exc
    return value


def read_media_csv(
    path: Path,
    *,
    date_col: str,
    target: str,
    channels: Sequence[str],
    controls: Sequence[str] = (),
) -> MediaData:
    """Read one period per row; columns: the date, the outcome, spend per channel, controls."""
    if not channels:
        raise ModelInputError("name at least one channel column")
    named = [date_col, target, *channels, *controls]
    repeated = sorted({name for name in named if named.count(name) > 1})
    if repeated:
        raise ModelInputError(f"a column is named twice: {', '.join(repeated)}")
    rows, lines = _rows(path, named)
    if not rows:
        raise ModelInputError.at("no data rows after the header", file=str(path))
    dates = np.array(
        [_date(path, n, date_col, r[date_col]) for r, n in zip(rows, lines, strict=True)]
    )
    for i in range(1, len(dates)):
        if dates[i] <= dates[i - 1]:
            raise ModelInputError.at(
                f"dates must increase row by row: {dates[i]} comes after {dates[i - 1]} "
                f"(line {lines[i - 1]})",
                file=str(path),
                line=lines[i],
                field=date_col,
            )

    def column(name: str) -> FloatArray:
        values = np.array(
            [_number(path, n, name, r[name]) for r, n in zip(rows, lines, strict=True)]
        )
        if len(values) > 1 and np.ptp(values) == 0:
            raise ModelInputError.at(
                f"zero variance: every row is {values[0]:g}, so it cannot be fitted",
                file=str(path),
                field=name,
            )
        return values

    y = column(target)
    spend = np.stack([column(name) for name in channels], axis=1)
    for k, name in enumerate(channels):
        negative = np.flatnonzero(spend[:, k] < 0)
        if negative.size:
            raise ModelInputError.at(
                f"spend cannot be negative ({spend[negative[0], k]:g})",
                file=str(path),
                line=lines[negative[0]],
                field=name,
            )
    extra = (
        np.stack([column(name) for name in controls], axis=1)
        if controls
        else np.zeros((len(rows), 0))
    )
    return MediaData(dates, y, spend, extra, tuple(channels), tuple(controls))


def read_lift_tests(path: Path) -> list[LiftTest]:
    """Read lift tests; columns ``channel, start, end, spend_delta, lift, lift_se``."""
    rows, lines = _rows(path, LIFT_COLUMNS)
    tests = []
    for row, line in zip(rows, lines, strict=True):
        channel = (row["channel"] or "").strip()
        if not channel:
            raise ModelInputError.at(
                "the channel is empty", file=str(path), line=line, field="channel"
            )
        start = _date(path, line, "start", row["start"])
        end = _date(path, line, "end", row["end"])
        if end < start:
            raise ModelInputError.at(
                f"the test ends ({end}) before it starts ({start})",
                file=str(path),
                line=line,
                field="end",
            )
        se = _number(path, line, "lift_se", row["lift_se"])
        if se <= 0:
            raise ModelInputError.at(
                f"the standard error must be > 0, not {se:g}",
                file=str(path),
                line=line,
                field="lift_se",
            )
        tests.append(
            LiftTest(
                channel=channel,
                start=start,
                end=end,
                spend_delta=_number(path, line, "spend_delta", row["spend_delta"]),
                lift=_number(path, line, "lift", row["lift"]),
                lift_se=se,
                source=f"{path}:{line}",
            )
        )
    return tests
