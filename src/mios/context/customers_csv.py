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
import io
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

import numpy as np

from mios.bulk import csv_text_chunks, line_count, ordered_map, paused_gc, usable_cores
from mios.context.spec import is_time_zone
from mios.domain.categorical import Categorical
from mios.domain.channel import CONSENT_CHANNELS
from mios.domain.customer import BASIS_CODES, CONSENT_CODES, ConsentStatus, LawfulBasis
from mios.domain.customer_table import CustomerTable
from mios.errors import CustomerImportError, Location, Problem
from mios.types import BoolArray, CodeArray, FloatArray, IntArray, StrArray

REQUIRED = ("customer_id", "region", "country", "time_zone")
MAX_REGION = 32  # the widths of the customers table's columns, so every database takes a row
MAX_REASON = 200
CHUNK_CHARS = 8_000_000  # about 40,000 customers: enough work per piece to outweigh shipping it
PARALLEL_FROM_BYTES = 32_000_000  # below this, starting worker processes costs more than it saves
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

    def merge(self, other: _Problems) -> None:
        self.count += other.count
        self.bad_lines |= other.bad_lines
        room = MAX_PROBLEMS - len(self.items)
        if room > 0:
            self.items.extend(other.items[:room])

    def add_rows(self, lines: IntArray, rows: BoolArray, column: str, message: str) -> None:
        for line in lines[rows]:
            self.add(int(line), column, message)


@dataclass
class _Chunk:
    lines: IntArray
    ids: StrArray
    region: Categorical
    country: Categorical
    time_zone: Categorical
    suppressed: BoolArray
    suppression_reason: Categorical
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
    workers: int = 1,
) -> CsvImport:
    """Validate the whole file; raise ``CustomerImportError`` listing every bad line, or, with
    ``skip_invalid``, drop those lines and report them.

    ``workers > 1`` parses pieces of the file in that many processes (see ``parse_workers``).
    They are spawned, and spawning re-imports the program's ``__main__``: only a program whose
    main module is guarded by ``if __name__ == "__main__"`` may ask for them, as the ``mios``
    command does.
    """
    name = display or str(path)
    try:
        total = path.stat().st_size
        handle = path.open(encoding="utf-8-sig", newline="")  # Excel writes a BOM
    except OSError as exc:
        raise CustomerImportError.at(f"cannot open: {exc.strerror or exc}", file=name) from exc
    with handle, paused_gc():
        try:
            return _read(handle, name, total, skip_invalid, progress, workers, path)
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
    workers: int,
    path: Path,
) -> CsvImport:
    header_line = handle.readline()
    header = next(csv.reader([header_line]), None)
    if header is None or not header_line.strip():
        raise CustomerImportError.at("the file is empty; expected a header row", file=name, line=1)
    header = [h.strip() for h in header]
    columns = _plan_columns(header, name)
    problems = _Problems(name)
    chunks: list[_Chunk] = []
    jobs = (
        _Job(text, first_line, columns, len(header), name)
        for text, first_line in csv_text_chunks(handle, 1 + line_count(header_line), CHUNK_CHARS)
    )
    done = len(header_line)
    for parsed in ordered_map(_parse, jobs, workers=workers):
        problems.merge(parsed.problems)
        if parsed.chunk is not None:
            chunks.append(parsed.chunk)
        done += parsed.chars
        if progress:
            progress(min(done, total), total)
    if progress and done < total:  # characters undercount bytes for non-ASCII text
        progress(total, total)
    table, line_numbers = _assemble(chunks, columns, lambda: _raw_text(path))
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


def parse_workers(path: Path) -> int:
    """How many processes are worth starting to parse ``path``: every usable core for a large
    file, one below ``PARALLEL_FROM_BYTES`` (starting workers would cost more than it saves)."""
    try:
        large = path.stat().st_size >= PARALLEL_FROM_BYTES
    except OSError:
        return 1  # reading it will report the problem
    return usable_cores() if large else 1


@dataclass(frozen=True)
class _Job:
    text: str
    first_line: int
    columns: _Columns
    width: int
    file: str


@dataclass(frozen=True)
class _Parsed:
    chunk: _Chunk | None
    problems: _Problems
    chars: int


def _parse(job: _Job) -> _Parsed:
    """Parse and check one piece of the file (in a worker process for large files)."""
    with paused_gc():
        problems = _Problems(job.file)
        reader = csv.reader(io.StringIO(job.text, newline=""))
        rows: list[list[str]] = []
        lines: list[int] = []
        offset = job.first_line - 1
        for row in reader:
            line = offset + reader.line_num
            if len(row) != job.width:
                if row:  # a blank line is not a customer
                    problems.add(line, None, f"expected {job.width} fields, got {len(row)}")
                continue
            rows.append(row)
            lines.append(line)
        chunk = _validate(rows, lines, job.columns, problems) if rows else None
        return _Parsed(chunk, problems, len(job.text))


def _short_rows(problems: _Problems, line_numbers: IntArray) -> int:
    """Rows rejected before validation (wrong field count) never reached a chunk."""
    in_chunks = np.isin(np.fromiter(problems.bad_lines, dtype=np.int64), line_numbers)
    return int(np.count_nonzero(~in_chunks))


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
    """Check one chunk column by column. Text columns with few distinct values (regions,
    consent) are dictionary-encoded and validated once per distinct value, not once per row."""
    data = list(zip(*rows, strict=True))
    line_no = np.asarray(lines, dtype=np.int64)
    n = len(rows)

    def raw(name: str) -> Sequence[str] | None:
        i = columns.index.get(name)
        return None if i is None else data[i]

    def required(name: str) -> Sequence[str]:
        values = raw(name)
        if values is None:
            raise AssertionError("required columns are checked by _plan_columns")
        return values

    ids = np.char.strip(np.asarray(required("customer_id"), dtype=np.str_))
    problems.add_rows(line_no, ids == "", "customer_id", "customer id is empty")
    problems.add_rows(line_no, np.char.str_len(ids) > 64, "customer_id", "longer than 64")
    region = _Encoded(required("region"))
    problems.add_rows(line_no, region.rows_where(lambda v: v == ""), "region", "region is empty")
    problems.add_rows(
        line_no,
        region.rows_where(lambda v: len(v) > MAX_REGION),
        "region",
        f"longer than {MAX_REGION} characters",
    )
    country = _Encoded(required("country"))
    problems.add_rows(
        line_no,
        country.rows_where(lambda v: not _COUNTRY.match(v)),
        "country",
        "expected a 2-letter ISO country code",
    )
    zone = _Encoded(required("time_zone"))
    problems.add_rows(
        line_no,
        zone.rows_where(lambda v: not is_time_zone(v)),
        "time_zone",
        "expected an IANA time zone",
    )

    suppressed = np.zeros(n, dtype=np.bool_)
    if (flags := raw("suppressed")) is not None:
        encoded = _Encoded(flags)
        suppressed = encoded.rows_where(lambda v: v.lower() in _TRUE)
        bad = encoded.rows_where(lambda v: v.lower() not in _TRUE | _FALSE)
        problems.add_rows(line_no, bad, "suppressed", "expected true or false")
    reasons = raw("suppression_reason")
    reason = _Encoded([""] * n if reasons is None else reasons)
    problems.add_rows(
        line_no,
        reason.rows_where(lambda v: v != "") & ~suppressed,
        "suppression_reason",
        "set on a customer who is not suppressed",
    )
    problems.add_rows(
        line_no,
        reason.rows_where(lambda v: len(v) > MAX_REASON),
        "suppression_reason",
        f"longer than {MAX_REASON} characters",
    )

    k = len(CONSENT_CHANNELS)
    status = np.zeros((n, k), dtype=np.int8)
    basis = np.zeros((n, k), dtype=np.int8)
    stamps = np.full((n, k), np.datetime64("NaT"), dtype="datetime64[s]")
    for j, channel in enumerate(CONSENT_CHANNELS):
        if (values := raw(f"consent_{channel}")) is not None:
            status[:, j] = _codes(values, _CONSENT_VALUES, line_no, problems, f"consent_{channel}")
        if (values := raw(f"basis_{channel}")) is not None:
            basis[:, j] = _codes(values, _BASIS_VALUES, line_no, problems, f"basis_{channel}")
        if (values := raw(f"consented_at_{channel}")) is not None:
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
        values = required(attribute)
        parsed = _as_numbers(values)
        if parsed is None:
            texts[attribute] = _Encoded(values).categorical()
        else:
            numbers[attribute] = parsed
    return _Chunk(
        line_no,
        ids,
        region.categorical(),
        country.categorical(),
        zone.categorical(),
        suppressed,
        reason.categorical(),
        status,
        basis,
        stamps,
        numbers,
        texts,
    )


class _Encoded:
    """A text column as codes into its sorted distinct values (surrounding spaces removed)."""

    def __init__(self, values: Sequence[str]) -> None:
        distinct = list(set(values))
        cleaned = [v.strip() for v in distinct]
        self.uniques: list[str] = sorted(set(cleaned))
        position = {u: i for i, u in enumerate(self.uniques)}
        lookup = {v: position[c] for v, c in zip(distinct, cleaned, strict=True)}
        self.codes: CodeArray = np.fromiter(
            map(lookup.__getitem__, values), dtype=np.int32, count=len(values)
        )

    def rows_where(self, test: Callable[[str], bool]) -> BoolArray:
        hits = np.asarray([test(u) for u in self.uniques], dtype=np.bool_)
        return hits[self.codes] if len(self.uniques) else np.zeros(len(self.codes), np.bool_)

    def mapped(self, table: dict[str, int], missing: int) -> IntArray:
        values = np.asarray([table.get(u.lower(), missing) for u in self.uniques], np.int64)
        return values[self.codes] if len(self.uniques) else np.zeros(len(self.codes), np.int64)

    def value(self, row: int) -> str:
        return self.uniques[int(self.codes[row])]

    def categorical(self) -> Categorical:
        """With "" as missing, as ``Categorical.from_strings`` does."""
        categories = list(self.uniques)
        codes = self.codes
        if categories and categories[0] == "":  # "" sorts first
            categories.pop(0)
            codes = codes - 1  # the "" code becomes -1, every other code shifts down
        return Categorical(codes.astype(np.int32), tuple(categories))


def _codes(
    values: Sequence[str],
    allowed: dict[str, int],
    line_no: IntArray,
    problems: _Problems,
    column: str,
) -> IntArray:
    encoded = _Encoded(values)
    codes = encoded.mapped(allowed, missing=-1)
    expected = ", ".join(sorted(t for t in allowed if t))
    for row in np.flatnonzero(codes < 0):
        problems.add(
            int(line_no[row]),
            column,
            f"invalid value {encoded.value(int(row))!r}; expected one of {expected}",
        )
    return np.where(codes < 0, 0, codes)


_TIMESTAMP = r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2})?Z?"
_TIMESTAMP_ONE = re.compile(_TIMESTAMP)
#: A non-empty line that is not a timestamp; searched over a whole column joined by newlines,
#: so a clean column is checked at C speed.
_NOT_A_TIMESTAMP = re.compile(rf"(?m)^(?!{_TIMESTAMP}$).+$")
_LEADING_ZERO = re.compile(r"(?m)^-?0\d")


def _timestamps(
    values: Sequence[str], line_no: IntArray, problems: _Problems, column: str
) -> np.ndarray:
    """ISO 8601 in UTC, exactly ``2024-03-01``, ``2024-03-01T09:30:00`` or the same ending in
    ``Z``. Offsets (+01:00), fractions, words NumPy would accept ("today") and years beyond
    four digits are refused, not shifted or guessed."""
    stripped = [v.strip() for v in values]
    if not _NOT_A_TIMESTAMP.search("\n".join(stripped)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                return np.asarray([v.removesuffix("Z") for v in stripped], dtype="datetime64[s]")
        except (ValueError, UserWarning, DeprecationWarning):
            pass  # a well-formed but impossible date (2024-02-30): find it below
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[s]")
    for i, text in enumerate(stripped):
        if not text:
            continue
        try:
            if not _TIMESTAMP_ONE.fullmatch(text):
                raise ValueError(text)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                out[i] = np.datetime64(text.removesuffix("Z"), "s")
        except (ValueError, UserWarning, DeprecationWarning):
            problems.add(
                int(line_no[i]),
                column,
                f"invalid timestamp {text!r}; expected ISO 8601 in UTC such as "
                "2024-03-01T09:30:00Z or 2024-03-01",
            )
    return out


def _as_numbers(values: Sequence[str]) -> FloatArray | None:
    """Numbers with "" as missing, or ``None`` when any value is not a finite number."""
    present = np.fromiter(map(bool, values), dtype=np.bool_, count=len(values))
    try:
        numbers = np.fromiter(
            map(float, (v if v else "nan" for v in values)), dtype=np.float64, count=len(values)
        )
    except ValueError:
        return None
    if not np.isfinite(numbers[present]).all():
        return None  # "inf" and "nan" written in a file are text, not measurements
    joined = "\n".join(values)
    if "_" in joined:
        return None  # Python reads 1_000 as a number; a CSV does not
    if _LEADING_ZERO.search(joined):
        return None  # 02134 is a postal code, not the number 2134: keep the column as text
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

    def join(name: str) -> Categorical:
        return Categorical.concat([getattr(c, name) for c in chunks])

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
        ids=np.concatenate([c.ids for c in chunks]).astype(np.str_),
        region=join("region"),
        country=join("country"),
        time_zone=join("time_zone"),
        suppressed=np.concatenate([c.suppressed for c in chunks]),
        suppression_reason=join("suppression_reason"),
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
