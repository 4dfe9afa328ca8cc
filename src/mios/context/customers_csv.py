"""Read a customers CSV into a ``CustomerTable``: chunked, validated column by column, every
invalid row named by its line. A million rows never become a million Python objects.

Columns (header names, any order):

    customer_id, region, country, time_zone             required
    suppressed, suppression_reason                      optional
    consent_<ch>, basis_<ch>, consented_at_<ch>         optional, <ch> a consent channel
    anything else                                       a customer attribute: numeric when every
                                                        non-empty value is a number, else text
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

import numpy as np

from mios.context.spec import is_time_zone
from mios.domain.categorical import Categorical
from mios.domain.channel import CONSENT_CHANNELS
from mios.domain.customer import BASIS_CODES, CONSENT_CODES, ConsentStatus, LawfulBasis
from mios.domain.customer_table import CustomerTable
from mios.errors import CustomerImportError, Location, Problem
from mios.types import BoolArray, FloatArray, IntArray, StrArray

REQUIRED = ("customer_id", "region", "country", "time_zone")
CHUNK_ROWS = 100_000
MAX_PROBLEMS = 1_000  # kept in full; beyond this only counted, so a broken file can't eat memory
_ATTRIBUTE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n", ""}
_CONSENT_VALUES = {s.value: i for i, s in enumerate(CONSENT_CODES)} | {"": 0}
_BASIS_VALUES = {b.value: i for i, b in enumerate(BASIS_CODES)} | {"": 0}
_GRANTED = CONSENT_CODES.index(ConsentStatus.GRANTED)
_NO_BASIS = BASIS_CODES.index(LawfulBasis.NONE)

Progress = Callable[[int, int], None]  # (bytes read, total bytes)


@dataclass
class CsvImport:
    table: CustomerTable
    rows_read: int
    rows_skipped: int
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0


@dataclass
class _Problems:
    file: str
    items: list[Problem] = field(default_factory=list)
    count: int = 0
    bad_lines: set[int] = field(default_factory=set)

    def add(self, line: int, column: str | None, message: str) -> None:
        self.count += 1
        self.bad_lines.add(line)
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(Location(self.file, line, column), message))

    def add_rows(self, lines: IntArray, rows: BoolArray, column: str, message: str) -> None:
        for line in lines[rows]:
            self.add(int(line), column, message)


@dataclass
class _Chunk:
    lines: IntArray
    ids: StrArray
    region: StrArray
    country: StrArray
    time_zone: StrArray
    suppressed: BoolArray
    suppression_reason: StrArray
    consent_status: np.ndarray
    consent_basis: np.ndarray
    consent_at: np.ndarray
    numbers: dict[str, FloatArray]
    texts: dict[str, Categorical]  # only attributes that did not parse as numbers


def read_customers_csv(
    path: Path,
    *,
    skip_invalid: bool = False,
    display: str | None = None,
    progress: Progress | None = None,
) -> CsvImport:
    """Validate the whole file; raise ``CustomerImportError`` listing every bad line, or, with
    ``skip_invalid``, drop those lines and report them."""
    name = display or str(path)
    try:
        total = path.stat().st_size
        handle = path.open(encoding="utf-8-sig", newline="")  # Excel writes a BOM
    except OSError as exc:
        raise CustomerImportError.at(f"cannot open: {exc.strerror or exc}", file=name) from exc
    with handle:
        try:
            return _read(handle, name, total, skip_invalid, progress, lambda: _raw_text(path))
        except UnicodeDecodeError as exc:
            raise CustomerImportError.at(f"not UTF-8 text ({exc.reason})", file=name) from exc
        except csv.Error as exc:
            raise CustomerImportError.at(f"malformed CSV: {exc}", file=name) from exc


def _read(
    handle: TextIO,
    name: str,
    total: int,
    skip_invalid: bool,
    progress: Progress | None,
    raw_text: Callable[[], RawText],
) -> CsvImport:
    counter = _Counting(handle)
    reader = csv.reader(counter)
    header = next(reader, None)
    if header is None:
        raise CustomerImportError.at("the file is empty; expected a header row", file=name, line=1)
    header = [h.strip() for h in header]
    columns = _plan_columns(header, name)
    problems = _Problems(name)
    chunks: list[_Chunk] = []
    rows: list[list[str]] = []
    lines: list[int] = []
    width = len(header)
    for row in reader:
        if len(row) != width:
            if row:  # a blank line is not a customer
                problems.add(reader.line_num, None, f"expected {width} fields, got {len(row)}")
            continue
        rows.append(row)
        lines.append(reader.line_num)
        if len(rows) == CHUNK_ROWS:
            chunks.append(_validate(rows, lines, columns, problems))
            rows, lines = [], []
            if progress:
                progress(counter.consumed, total)
    if rows:
        chunks.append(_validate(rows, lines, columns, problems))
    if progress:
        progress(total, total)
    table, line_numbers = _assemble(chunks, columns, raw_text)
    valid = ~np.isin(line_numbers, np.fromiter(problems.bad_lines, dtype=np.int64))
    _check_duplicates(table.take(valid), line_numbers[valid], problems)
    if problems.count and not skip_invalid:
        shown = "; ".join(str(p) for p in problems.items[:5])
        more = f" (and {problems.count - 5} more)" if problems.count > 5 else ""
        raise CustomerImportError(
            f"{problems.count} invalid value(s) in {name}: {shown}{more}; nothing was imported",
            problems.items,
        )
    keep = ~np.isin(line_numbers, np.fromiter(problems.bad_lines, dtype=np.int64))
    rows_read = len(line_numbers) + _short_rows(problems, line_numbers)
    return CsvImport(
        table=table.take(keep) if not keep.all() else table,
        rows_read=rows_read,
        rows_skipped=len(problems.bad_lines),
        problems=problems.items,
        problem_count=problems.count,
    )


def _short_rows(problems: _Problems, line_numbers: IntArray) -> int:
    """Rows rejected before validation (wrong field count) never reached a chunk."""
    in_chunks = np.isin(np.fromiter(problems.bad_lines, dtype=np.int64), line_numbers)
    return int(np.count_nonzero(~in_chunks))


class _Counting:
    """Counts characters handed to the CSV reader, for the progress bar."""

    def __init__(self, handle: TextIO) -> None:
        self._handle = handle
        self.consumed = 0

    def __iter__(self) -> Iterator[str]:
        for line in self._handle:
            self.consumed += len(line)
            yield line


@dataclass(frozen=True)
class _Columns:
    index: dict[str, int]
    attributes: tuple[str, ...]


def _plan_columns(header: Sequence[str], name: str) -> _Columns:
    index: dict[str, int] = {}
    for i, column in enumerate(header):
        if column in index:
            raise CustomerImportError.at(f"column {column!r} appears twice", file=name, line=1)
        index[column] = i
    missing = [c for c in REQUIRED if c not in index]
    if missing:
        raise CustomerImportError.at(
            f"missing required column(s): {', '.join(missing)}", file=name, line=1
        )
    known = {*REQUIRED, "suppressed", "suppression_reason"}
    for channel in CONSENT_CHANNELS:
        known |= {f"consent_{channel}", f"basis_{channel}", f"consented_at_{channel}"}
    attributes = []
    for column in header:
        if column in known:
            continue
        if column.startswith(("consent_", "basis_", "consented_at_")):
            raise CustomerImportError.at(
                f"column {column!r}: consent columns exist for {', '.join(CONSENT_CHANNELS)} only",
                file=name,
                line=1,
            )
        if not _ATTRIBUTE.match(column):
            raise CustomerImportError.at(
                f"column {column!r}: attribute names are lowercase letters, digits and _",
                file=name,
                line=1,
            )
        attributes.append(column)
    return _Columns(index, tuple(attributes))


def _validate(
    rows: list[list[str]],
    lines: list[int],
    columns: _Columns,
    problems: _Problems,
) -> _Chunk:
    data = [np.asarray(col, dtype=np.str_) for col in zip(*rows, strict=True)]
    line_no = np.asarray(lines, dtype=np.int64)
    n = len(rows)

    def col(name: str) -> StrArray | None:
        i = columns.index.get(name)
        return None if i is None else np.char.strip(data[i])

    ids = col("customer_id")
    region = col("region")
    country = col("country")
    zone = col("time_zone")
    if ids is None or region is None or country is None or zone is None:
        raise AssertionError("required columns are checked by _plan_columns")
    problems.add_rows(line_no, ids == "", "customer_id", "customer id is empty")
    problems.add_rows(line_no, np.char.str_len(ids) > 64, "customer_id", "longer than 64")
    problems.add_rows(line_no, region == "", "region", "region is empty")
    bad_country = ~np.isin(country, [c for c in np.unique(country) if _COUNTRY.match(str(c))])
    problems.add_rows(line_no, bad_country, "country", "expected a 2-letter ISO country code")
    bad_zone = ~np.isin(zone, [z for z in np.unique(zone) if is_time_zone(str(z))])
    problems.add_rows(line_no, bad_zone, "time_zone", "expected an IANA time zone")

    suppressed = np.zeros(n, dtype=np.bool_)
    if (flags := col("suppressed")) is not None:
        lowered = np.char.lower(flags)
        suppressed = np.isin(lowered, list(_TRUE))
        bad = ~(suppressed | np.isin(lowered, list(_FALSE)))
        problems.add_rows(line_no, bad, "suppressed", "expected true or false")
    reason = col("suppression_reason")
    reason = np.full(n, "", dtype=np.str_) if reason is None else reason
    problems.add_rows(
        line_no,
        (reason != "") & ~suppressed,
        "suppression_reason",
        "set on a customer who is not suppressed",
    )

    k = len(CONSENT_CHANNELS)
    status = np.zeros((n, k), dtype=np.int8)
    basis = np.zeros((n, k), dtype=np.int8)
    stamps = np.full((n, k), np.datetime64("NaT"), dtype="datetime64[s]")
    for j, channel in enumerate(CONSENT_CHANNELS):
        if (values := col(f"consent_{channel}")) is not None:
            status[:, j] = _codes(values, _CONSENT_VALUES, line_no, problems, f"consent_{channel}")
        if (values := col(f"basis_{channel}")) is not None:
            basis[:, j] = _codes(values, _BASIS_VALUES, line_no, problems, f"basis_{channel}")
        if (values := col(f"consented_at_{channel}")) is not None:
            stamps[:, j] = _timestamps(values, line_no, problems, f"consented_at_{channel}")
        problems.add_rows(
            line_no,
            (status[:, j] == _GRANTED) & (basis[:, j] == _NO_BASIS),
            f"basis_{channel}",
            "granted consent needs a lawful basis (consent, legitimate_interest or contract)",
        )

    numbers: dict[str, FloatArray] = {}
    texts: dict[str, Categorical] = {}
    for attribute in columns.attributes:
        values = col(attribute)
        assert values is not None
        parsed = _as_numbers(values)
        if parsed is None:
            texts[attribute] = Categorical.from_strings(values)
        else:
            numbers[attribute] = parsed
    return _Chunk(
        line_no,
        ids,
        region,
        country,
        zone,
        suppressed,
        reason,
        status,
        basis,
        stamps,
        numbers,
        texts,
    )


def _codes(
    values: StrArray,
    allowed: dict[str, int],
    line_no: IntArray,
    problems: _Problems,
    column: str,
) -> np.ndarray:
    lowered = np.char.lower(values)
    codes = np.zeros(len(values), dtype=np.int8)
    known = np.zeros(len(values), dtype=np.bool_)
    for text, code in allowed.items():
        hit = lowered == text
        codes[hit] = code
        known |= hit
    expected = ", ".join(sorted(t for t in allowed if t))
    for line, value in zip(line_no[~known], values[~known], strict=True):
        problems.add(int(line), column, f"invalid value {str(value)!r}; expected one of {expected}")
    return codes


def _timestamps(
    values: StrArray, line_no: IntArray, problems: _Problems, column: str
) -> np.ndarray:
    """ISO 8601 in UTC: ``2024-03-01``, ``2024-03-01T09:30:00`` or the same ending in ``Z``."""
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[s]")
    present = values != ""
    # An offset (+01:00, -05:00) after the date is refused, not silently shifted to UTC.
    time_part = np.char.partition(values, "T")[:, 2]
    offset = (np.char.find(time_part, "+") >= 0) | (np.char.find(time_part, "-") >= 0)
    # NumPy also reads "today" and "now"; a consent time is a date someone recorded.
    offset |= present & ~np.char.isdigit(values.astype("U4"))
    cleaned = np.char.rstrip(values[present], "Z")
    if not offset.any():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                out[present] = np.asarray(cleaned, dtype="datetime64[s]")
            return out
        except (ValueError, UserWarning, DeprecationWarning):
            pass
    for i in np.flatnonzero(present):
        text = str(values[i]).removesuffix("Z")
        try:
            if offset[i]:
                raise ValueError(text)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                out[i] = np.datetime64(text, "s")
        except (ValueError, UserWarning, DeprecationWarning):
            problems.add(
                int(line_no[i]),
                column,
                f"invalid timestamp {str(values[i])!r}; expected "
                "ISO 8601 in UTC such as 2024-03-01T09:30:00Z",
            )
    return out


def _as_numbers(values: StrArray) -> FloatArray | None:
    present = values != ""
    try:
        numbers = np.full(len(values), np.nan, dtype=np.float64)
        numbers[present] = values[present].astype(np.float64)
    except ValueError:
        return None
    if not np.isfinite(numbers[present]).all():
        return None  # "inf" and "nan" written in a file are text, not measurements
    return numbers


RawText = Callable[[list[str]], dict[str, StrArray]]


def _raw_text(path: Path) -> RawText:
    """Read named columns again exactly as written, over the rows the first pass kept."""

    def read(names: list[str]) -> dict[str, StrArray]:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader)]
            wanted = [header.index(n) for n in names]
            values: list[list[str]] = [[] for _ in names]
            for row in reader:
                if len(row) == len(header):
                    for out, i in zip(values, wanted, strict=True):
                        out.append(row[i].strip())
        return {n: np.asarray(v, dtype=np.str_) for n, v in zip(names, values, strict=True)}

    return read


def _assemble(
    chunks: list[_Chunk], columns: _Columns, raw_text: Callable[[], RawText]
) -> tuple[CustomerTable, IntArray]:
    attributes = columns.attributes
    if not chunks:
        # A header-only file still declares its attributes; segments may name them.
        declared = {name: np.empty(0, dtype=np.float64) for name in attributes}
        return replace(CustomerTable.empty(), numeric=declared), np.empty(0, dtype=np.int64)

    def join(name: str) -> StrArray:
        return np.concatenate([getattr(c, name) for c in chunks]).astype(np.str_)

    numeric: dict[str, FloatArray] = {}
    categorical: dict[str, Categorical] = {}
    mixed: list[str] = []
    for attribute in attributes:
        if all(attribute in c.numbers for c in chunks):
            numeric[attribute] = np.concatenate([c.numbers[attribute] for c in chunks])
        elif all(attribute in c.texts for c in chunks):
            categorical[attribute] = Categorical.concat([c.texts[attribute] for c in chunks])
        else:
            mixed.append(attribute)
    if mixed:
        # Numbers early in the file and text later: the column is text, spelled as written
        # ("007", "1.50"). Read those columns again rather than keep every string of every
        # column in memory on the common path.
        for attribute, values in raw_text()(mixed).items():
            categorical[attribute] = Categorical.from_strings(values)
    table = CustomerTable(
        ids=join("ids"),
        region=Categorical.from_strings(join("region")),
        country=Categorical.from_strings(join("country")),
        time_zone=Categorical.from_strings(join("time_zone")),
        suppressed=np.concatenate([c.suppressed for c in chunks]),
        suppression_reason=Categorical.from_strings(join("suppression_reason")),
        consent_status=np.concatenate([c.consent_status for c in chunks]),
        consent_basis=np.concatenate([c.consent_basis for c in chunks]),
        consent_at=np.concatenate([c.consent_at for c in chunks]),
        numeric=numeric,
        categorical=categorical,
    )
    return table, np.concatenate([c.lines for c in chunks])


def _check_duplicates(table: CustomerTable, lines: IntArray, problems: _Problems) -> None:
    if len(table) < 2:
        return
    order = np.argsort(table.ids, kind="stable")
    sorted_ids = table.ids[order]
    repeat = np.zeros(len(table), dtype=np.bool_)
    repeat[1:] = sorted_ids[1:] == sorted_ids[:-1]
    for position in np.flatnonzero(repeat):
        first = lines[order[np.searchsorted(sorted_ids, sorted_ids[position])]]
        problems.add(
            int(lines[order[position]]),
            "customer_id",
            f"duplicate customer id {str(sorted_ids[position])!r} (first on line {int(first)})",
        )
