"""A small CSV reader for the brain's file inputs: the standard library ``csv`` module and NumPy.

A ``Table`` keeps every column as the strings of the file and converts a column on request
(``floats``, ``labels``, ``dates``). Each conversion checks the whole column at once and, when a
value is wrong, raises ``ModelInputError`` naming the file, the line and the column, so a person
can open the file at the right place. Nothing is coerced silently: an empty cell, ``nan`` or
``inf`` in a numeric column is an error, not a NaN.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np

from mios.errors import ModelInputError
from mios.types import FloatArray, IntArray, StrArray, TimeArray

# A date, ``YYYY-MM-DD`` or ``YYYYMMDD``, optionally followed by an ISO time of day (and a UTC
# offset) that is dropped. Nothing else: NumPy alone would read "2024" as 2024-01-01, "today" as
# the current date and "NaT" as a missing value.
_DATE = re.compile(
    r"(?:(\d{4})-(\d{2})-(\d{2})|(\d{4})(\d{2})(\d{2}))"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)


@dataclass(frozen=True)
class Table:
    """The columns of a CSV file as strings. ``lines[i]`` is the file line of row ``i``."""

    file: str
    columns: dict[str, list[str]]
    lines: list[int]

    @property
    def rows(self) -> int:
        return len(self.lines)

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def has(self, name: str) -> bool:
        return name in self.columns

    def line_of(self, row: int) -> int:
        return self.lines[row]

    def column(self, name: str) -> list[str]:
        """The raw strings of column ``name``; a missing column names the ones the file has."""
        try:
            return self.columns[name]
        except KeyError:
            have = ", ".join(self.columns) or "none"
            raise ModelInputError.at(
                f"no column {name!r} (the columns are: {have})", file=self.file, line=1
            ) from None

    def error(self, message: str, *, row: int, column: str) -> ModelInputError:
        """An error at one cell of the file."""
        problem = ModelInputError.at(
            message, file=self.file, line=self.line_of(row), field=f"column {column!r}"
        )
        assert isinstance(problem, ModelInputError)
        return problem

    def floats(self, name: str) -> FloatArray:
        """Column ``name`` as finite floats."""
        raw = self.column(name)
        try:
            values = np.array(raw, dtype=np.float64)
        except ValueError:
            values = None
        if values is not None:
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size == 0:
                return values
            row = int(bad[0])
            raise self.error(f"{raw[row]!r} is not a finite number", row=row, column=name)
        for row, text in enumerate(raw):
            try:
                float(text)
            except ValueError:
                shown = "an empty cell" if not text.strip() else repr(text)
                raise self.error(f"{shown} is not a number", row=row, column=name) from None
        raise AssertionError("unreachable: NumPy refused a column every value of which parses")

    def labels(self, name: str) -> tuple[StrArray, IntArray]:
        """The distinct values of column ``name`` in order (numerically when every value is an
        integer) and each row's index into them."""
        raw = self.column(name)
        for row, text in enumerate(raw):
            if not text.strip():
                raise self.error("an empty cell", row=row, column=name)
        return encode_labels(np.array([text.strip() for text in raw]))

    def dates(self, name: str) -> TimeArray:
        """Column ``name`` as days (``datetime64[D]``): ``YYYY-MM-DD``, ``YYYYMMDD`` or an ISO
        date and time (the time of day is dropped)."""
        raw = [text.strip() for text in self.column(name)]
        return parse_days(raw, lambda row, message: self.error(message, row=row, column=name))

    def select(self, rows: Sequence[int] | IntArray) -> Table:
        """A table of the given rows only (their file lines kept)."""
        picked = [int(row) for row in rows]
        return Table(
            self.file,
            {key: [values[row] for row in picked] for key, values in self.columns.items()},
            [self.lines[row] for row in picked],
        )


def read_table(path: str | Path) -> Table:
    """Read a CSV file with a header line. A missing file, an empty file, a duplicated column
    name or a row with the wrong number of cells is a ``ModelInputError``."""
    file = str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise ModelInputError.at("the file is empty; a header line is needed", file=file)
            names = [name.strip() for name in header]
            seen: set[str] = set()
            for name in names:
                if name in seen:
                    raise ModelInputError.at(f"column {name!r} appears twice", file=file, line=1)
                seen.add(name)
            cells: list[list[str]] = [[] for _ in names]
            lines: list[int] = []
            for record in reader:
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue
                if len(record) != len(names):
                    raise ModelInputError.at(
                        f"{len(record)} cells where the header has {len(names)}",
                        file=file,
                        line=reader.line_num,
                    )
                for column, value in zip(cells, record, strict=True):
                    column.append(value)
                lines.append(reader.line_num)
    except FileNotFoundError:
        raise ModelInputError.at("no such file", file=file) from None
    except UnicodeDecodeError as exc:
        raise ModelInputError.at(f"not UTF-8 text ({exc.reason})", file=file) from None
    except csv.Error as exc:
        raise ModelInputError.at(f"not a CSV file ({exc})", file=file) from None
    if not lines:
        raise ModelInputError.at("the file has a header but no rows", file=file)
    return Table(file, dict(zip(names, cells, strict=True)), lines)


def encode_labels(values: StrArray) -> tuple[StrArray, IntArray]:
    """Distinct ``values`` (numeric order when all are integers) and each value's code."""
    levels, codes = np.unique(values, return_inverse=True)
    if all(re.fullmatch(r"[+-]?\d+", str(level)) for level in levels):
        order = np.argsort([int(level) for level in levels], kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        levels = levels[order]
        codes = rank[codes]
    return levels.astype(np.str_), codes.astype(np.int64)


def parse_days(
    values: Sequence[str], error: Callable[[int, str], ModelInputError] | None = None
) -> TimeArray:
    """``values`` as ``datetime64[D]``. ``error(row, message)`` builds the error for a value that
    is not a date; without it the error names the value's position."""
    texts: list[str] = []
    for row, text in enumerate(values):
        found = _DATE.fullmatch(text)
        if found is None:
            _refuse(values, row, error)
        else:
            year, month, day = (part for part in found.groups() if part is not None)
            texts.append(f"{year}-{month}-{day}")
    try:
        return np.array(texts, dtype="datetime64[D]")
    except ValueError:
        pass
    for row, text in enumerate(texts):
        try:
            np.datetime64(text, "D")
        except ValueError:
            _refuse(values, row, error)
    raise AssertionError("unreachable: NumPy refused dates every one of which parses")


def _refuse(
    values: Sequence[str], row: int, error: Callable[[int, str], ModelInputError] | None
) -> NoReturn:
    shown = "an empty cell" if not values[row] else repr(values[row])
    message = f"{shown} is not a date (use YYYY-MM-DD or YYYYMMDD)"
    raise error(row, message) if error else ModelInputError(f"value {row}: {message}")
