"""Chunking CSV text for parallel parsing, and the ordered process pool."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mios.bulk import csv_text_chunks, line_count, ordered_map
from mios.context import customers_csv
from mios.context.customers_csv import read_customers_csv

field = st.text(alphabet='ab,"\n\r x', max_size=8)
rows = st.lists(st.lists(field, min_size=1, max_size=4), min_size=1, max_size=30)


def to_csv(records: list[list[str]]) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(records)
    return buffer.getvalue()


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@settings(max_examples=200, deadline=None)
@given(records=rows, size=st.integers(1, 40))
def test_chunks_rejoin_and_parse_alone_to_the_same_rows(
    records: list[list[str]], size: int
) -> None:
    text = to_csv(records)
    pieces = list(csv_text_chunks(io.StringIO(text, newline=""), 1, size))
    assert "".join(p for p, _ in pieces) == text
    assert [row for piece, _ in pieces for row in parse(piece)] == parse(text)
    line = 1
    for piece, first in pieces:
        assert first == line
        line += line_count(piece)


raw_text = st.text(alphabet='ab,"\n\r ', max_size=120)


@settings(max_examples=1500, deadline=None)
@given(text=raw_text, size=st.integers(1, 30))
def test_any_text_splits_into_pieces_that_parse_like_the_whole(text: str, size: int) -> None:
    """Stray quotes inside unquoted fields, unterminated quotes, lone CRs, CRLFs split across
    reads: every piece must parse on its own exactly as it does inside the whole text."""
    pieces = list(csv_text_chunks(io.StringIO(text, newline=""), 1, size))
    assert "".join(p for p, _ in pieces) == text
    assert [row for piece, _ in pieces for row in parse(piece)] == parse(text)


def test_a_stray_quote_does_not_stop_the_splitting() -> None:
    """A quote inside an unquoted field is an ordinary character to csv; it must not make the
    rest of the file look like one quoted field (which once made imports quadratic)."""
    rows = ["a,b"] + ['x,5" screen'] + [f"r{i},v{i}" for i in range(2000)] + ['y,"two\nlines"']
    text = "\n".join(rows) + "\n"
    pieces = list(csv_text_chunks(io.StringIO(text, newline=""), 1, 500))
    assert len(pieces) > 20
    assert max(len(p) for p, _ in pieces) < 1100
    assert [row for piece, _ in pieces for row in parse(piece)] == parse(text)


def test_line_count_follows_universal_newlines() -> None:
    assert line_count("a\nb\r\nc\rd") == 3
    assert line_count("") == 0


def square(x: int) -> int:
    return x * x


@pytest.mark.parametrize("workers", [1, 2])
def test_ordered_map_keeps_order(workers: int) -> None:
    assert list(ordered_map(square, range(20), workers=workers)) == [x * x for x in range(20)]


def test_parallel_and_serial_reads_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(customers_csv, "CHUNK_CHARS", 500)  # many pieces, split in the parent
    lines = ["customer_id,region,country,time_zone,note,consent_sms,basis_sms"]
    for i in range(300):
        note = f'"line one\nline two {i}"' if i % 7 == 0 else f"n{i}"
        consent = "maybe" if i % 50 == 3 else "granted"
        lines.append(f"C{i},US,US,America/Chicago,{note},{consent},consent")
    lines.append("C5,US,US,America/Chicago,dup,granted,consent")
    path = tmp_path / "c.csv"
    path.write_text("\n".join(lines) + "\n")
    serial = read_customers_csv(path, skip_invalid=True, workers=1)
    parallel = read_customers_csv(path, skip_invalid=True, workers=2)
    assert parallel.table.equals(serial.table)
    assert [str(p) for p in parallel.problems] == [str(p) for p in serial.problems]
    assert parallel.rows_skipped == serial.rows_skipped == 7
    assert len(serial.table) == 294
