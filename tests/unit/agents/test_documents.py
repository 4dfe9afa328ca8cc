"""Research documents: which files are read, in what order, within which limits, and how."""

from __future__ import annotations

from pathlib import Path

import pytest

from mios.agents import documents
from mios.agents.documents import (
    EXCERPT_CHARS,
    RESEARCH_FOLDER,
    csv_rows,
    excerpt,
    read_documents,
    text_lines,
)
from mios.agents.protocol import Document
from mios.errors import WorkspaceError
from tests.unit.agents.read_brief_world import workspace_root


def test_a_missing_folder_has_no_documents(tmp_path: Path) -> None:
    assert read_documents(tmp_path / "nowhere") == ()


def test_reads_csv_md_and_txt_sorted_by_name_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("# B\nnote\n", encoding="utf-8")
    (tmp_path / "a.csv").write_text("date,signal\n2026-11-01,x\n", encoding="utf-8")
    (tmp_path / "c.txt").write_text("plain", encoding="utf-8")
    (tmp_path / "d.json").write_text("{}", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "e.md").write_text("deeper", encoding="utf-8")
    found = read_documents(tmp_path)
    assert [d.name for d in found] == ["a.csv", "b.md", "c.txt"]
    assert found[1].text == "# B\nnote\n"


def test_a_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_bytes("\ufeffdate,signal\n".encode())
    assert read_documents(tmp_path)[0].text == "date,signal\n"


def test_bad_encoding_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "latin.md").write_bytes(b"first line\ncaf\xe9\n")
    with pytest.raises(WorkspaceError) as caught:
        read_documents(tmp_path)
    assert "latin.md:2" in str(caught.value)
    assert "UTF-8" in str(caught.value)


def test_a_file_past_the_size_cap_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents, "MAX_FILE_BYTES", 10)
    (tmp_path / "big.txt").write_text("x" * 11, encoding="utf-8")
    with pytest.raises(WorkspaceError, match=r"big\.txt.*at most 10"):
        read_documents(tmp_path)


def test_files_past_the_total_cap_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents, "MAX_TOTAL_BYTES", 15)
    (tmp_path / "a.txt").write_text("x" * 10, encoding="utf-8")
    (tmp_path / "b.txt").write_text("y" * 10, encoding="utf-8")
    with pytest.raises(WorkspaceError, match=r"b\.txt"):
        read_documents(tmp_path)


def test_csv_rows_carry_the_line_they_start_on() -> None:
    text = 'Date, Signal ,note\n\n2026-11-01,cold,"two\nlines"\n2026-11-02,warm\n'
    rows = list(csv_rows(Document("s.csv", text)))
    assert [line for line, _ in rows] == [3, 5]
    assert rows[0][1] == {"date": "2026-11-01", "signal": "cold", "note": "two\nlines"}
    assert rows[1][1]["note"] == ""


def test_text_lines_skip_blank_lines_and_keep_numbers() -> None:
    assert list(text_lines(Document("n.md", "a\n\n  b  \n"))) == [(1, "a"), (3, "b")]
    # Only a newline ends a line (a Windows line end too); a form feed or a Unicode line
    # separator inside a line does not move the numbers an editor shows.
    text = "a\u2028still a\r\nb\x0cstill b\n\x1dc\n"
    assert [n for n, _ in text_lines(Document("n.md", text))] == [1, 2, 3]
    assert list(text_lines(Document("n.md", text)))[1] == (2, "b\x0cstill b")


def test_an_excerpt_is_short_and_on_one_line() -> None:
    long = "word " * 100
    quoted = excerpt(long)
    assert len(quoted) <= EXCERPT_CHARS
    assert quoted.endswith("\u2026")
    assert excerpt("a\n  b") == "a b"


@pytest.mark.parametrize("example", ["retail", "b2b"])
def test_mios_init_writes_the_example_research_documents(example: str) -> None:
    found = read_documents(workspace_root(example) / RESEARCH_FOLDER)
    names = [d.name for d in found]
    assert any(n.endswith(".csv") for n in names)
    assert any(n.endswith(".md") for n in names)
    csv_doc = next(d for d in found if d.name.endswith(".csv"))
    header = next(iter(csv_rows(csv_doc)))[1]
    assert {"date", "source", "signal", "value", "note"} <= set(header)
