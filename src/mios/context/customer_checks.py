"""Checks of a customers CSV, column by column over one chunk of rows.

Text columns with few distinct values (regions, consent) are dictionary-encoded and validated
once per distinct value; timestamps and numbers are parsed straight from the row lists. Every
problem is kept with its line and column (``Problems``); nothing here reads files.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from mios.context.spec import is_time_zone
from mios.domain.categorical import Categorical
from mios.domain.channel import CONSENT_CHANNELS
from mios.domain.customer import BASIS_CODES, CONSENT_CODES, ConsentStatus, LawfulBasis
from mios.errors import CustomerImportError, Location, Problem
from mios.types import BoolArray, CodeArray, FloatArray, IntArray, StrArray

REQUIRED = ("customer_id", "region", "country", "time_zone")
MAX_REGION = 32  # the widths of the customers table's columns, so every database takes a row
MAX_REASON = 200
MAX_PROBLEMS = 1_000  # kept in full; beyond this only counted, so a broken file can't eat memory
_ATTRIBUTE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n", ""}
_CONSENT_VALUES = {s.value: i for i, s in enumerate(CONSENT_CODES)} | {"": 0}
_BASIS_VALUES = {b.value: i for i, b in enumerate(BASIS_CODES)} | {"": 0}
_GRANTED = CONSENT_CODES.index(ConsentStatus.GRANTED)
_NO_BASIS = BASIS_CODES.index(LawfulBasis.NONE)


@dataclass
class Problems:
    file: str
    items: list[Problem] = field(default_factory=list)
    count: int = 0
    bad_lines: set[int] = field(default_factory=set)

    def add(self, line: int, column: str | None, message: str) -> None:
        self.count += 1
        self.bad_lines.add(line)
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(Location(self.file, line, column), message))

    def merge(self, other: Problems) -> None:
        self.count += other.count
        self.bad_lines |= other.bad_lines
        room = MAX_PROBLEMS - len(self.items)
        if room > 0:
            self.items.extend(other.items[:room])

    def add_rows(self, lines: IntArray, rows: BoolArray, column: str, message: str) -> None:
        for line in lines[rows]:
            self.add(int(line), column, message)


@dataclass
class Chunk:
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


@dataclass(frozen=True)
class Columns:
    index: dict[str, int]
    attributes: tuple[str, ...]


def plan_columns(header: Sequence[str], name: str) -> Columns:
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
    return Columns(index, tuple(attributes))


def check_chunk(
    rows: list[list[str]],
    lines: list[int],
    columns: Columns,
    problems: Problems,
) -> Chunk:
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
            raise AssertionError("required columns are checked by plan_columns")
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
    return Chunk(
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
    problems: Problems,
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
    values: Sequence[str], line_no: IntArray, problems: Problems, column: str
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
