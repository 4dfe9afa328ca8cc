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
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

import numpy as np

from mios.bulk import csv_text_chunks, line_count, ordered_map, paused_gc, usable_cores
from mios.context.customer_checks import (
    Chunk,
    Columns,
    Problems,
    check_chunk,
    plan_columns,
)
from mios.domain.categorical import Categorical
from mios.domain.customer_table import CustomerTable
from mios.errors import CustomerImportError, Problem
from mios.types import FloatArray, IntArray, StrArray

CHUNK_CHARS = 8_000_000  # about 40,000 customers: enough work per piece to outweigh shipping it
PARALLEL_FROM_BYTES = 32_000_000  # below this, starting worker processes costs more than it saves
Progress = Callable[[int, int], None]  # (bytes read, total bytes)


@dataclass
class CsvImport:
    table: CustomerTable
    rows_read: int
    rows_skipped: int
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0


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
            raise CustomerImportError.at(
                f"not UTF-8 text ({exc.reason}); save the file as UTF-8",
                file=name,
                line=_first_undecodable_line(path),
            ) from exc
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
    columns = plan_columns(header, name)
    problems = Problems(name)
    chunks: list[Chunk] = []
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


def _first_undecodable_line(path: Path) -> int | None:
    """The line of the first byte that is not UTF-8 (read again only on this error path)."""
    data = path.read_bytes()
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return data.count(b"\n", 0, exc.start) + 1
    return None


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
    columns: Columns
    width: int
    file: str


@dataclass(frozen=True)
class _Parsed:
    chunk: Chunk | None
    problems: Problems
    chars: int


def _parse(job: _Job) -> _Parsed:
    """Parse and check one piece of the file (in a worker process for large files)."""
    with paused_gc():
        problems = Problems(job.file)
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
        chunk = check_chunk(rows, lines, job.columns, problems) if rows else None
        return _Parsed(chunk, problems, len(job.text))


def _short_rows(problems: Problems, line_numbers: IntArray) -> int:
    """Rows rejected before validation (wrong field count) never reached a chunk."""
    in_chunks = np.isin(np.fromiter(problems.bad_lines, dtype=np.int64), line_numbers)
    return int(np.count_nonzero(~in_chunks))


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
    chunks: list[Chunk], columns: Columns, raw_text: Callable[[], RawText]
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


def _check_duplicates(table: CustomerTable, lines: IntArray, problems: Problems) -> None:
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
