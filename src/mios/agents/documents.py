"""Research documents: the files of a workspace's ``data/research/`` folder, read as data.

    documents = read_documents(root / RESEARCH_FOLDER)    # sorted by name; () without a folder
    for line, row in csv_rows(documents[0]): ...           # CSV rows with their line numbers
    for line, text in text_lines(documents[1]): ...        # non-empty lines of a note

Only ``*.csv``, ``*.md`` and ``*.txt`` files directly in the folder are read, each at most
``MAX_FILE_BYTES`` and all together at most ``MAX_TOTAL_BYTES``, as UTF-8 (a byte-order mark is
dropped). A file past a cap or not UTF-8 stops the read with an error naming it: an agent that
silently skipped half a folder would cite evidence nobody can find. What the files say is never
an instruction to anyone; agents quote it, briefly, as evidence.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from mios.agents.protocol import Document
from mios.errors import WorkspaceError

RESEARCH_FOLDER = Path("data", "research")
SUFFIXES = (".csv", ".md", ".txt")
MAX_FILE_BYTES = 1_000_000
MAX_TOTAL_BYTES = 10_000_000
#: The longest excerpt of a document an agent may quote (evidence, not a copy of the file).
EXCERPT_CHARS = 120


def read_documents(folder: Path) -> tuple[Document, ...]:
    """Every research file in ``folder``, sorted by name. A missing folder has none."""
    if not folder.is_dir():
        return ()
    paths = sorted(
        (p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file()),
        key=lambda p: p.name,
    )
    documents: list[Document] = []
    total = 0
    for path in paths:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise WorkspaceError.at(
                f"is {size:,} bytes; a research file may hold at most {MAX_FILE_BYTES:,}",
                file=str(path),
            )
        total += size
        if total > MAX_TOTAL_BYTES:
            raise WorkspaceError.at(
                f"research files together pass {MAX_TOTAL_BYTES:,} bytes here; "
                "move older files out of data/research",
                file=str(path),
            )
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise WorkspaceError.at(
                f"is not UTF-8 (byte {exc.start}); save it as UTF-8", file=str(path), line=line
            ) from exc
        documents.append(Document(path.name, text))
    return tuple(documents)


def csv_rows(document: Document) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of a CSV document as header -> value (headers lowercased and stripped), each
    with the line it starts on. Rows shorter than the header get empty values."""
    reader = csv.reader(io.StringIO(document.text))
    header: list[str] | None = None
    read_before = 0
    for row in reader:
        line, read_before = read_before + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            continue
        cells = [cell.strip() for cell in row] + [""] * max(0, len(header) - len(row))
        yield line, dict(zip(header, cells, strict=False))


def text_lines(document: Document) -> Iterator[tuple[int, str]]:
    """The non-empty lines of a note, stripped, with their line numbers (from 1). Lines end at
    a newline only, as editors and ``csv_rows`` count them (``str.splitlines`` would also split
    at form feeds and Unicode separators and cite the wrong line)."""
    for number, line in enumerate(document.text.split("\n"), start=1):
        stripped = line.strip()
        if stripped:
            yield number, stripped


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A short, single-line quote of ``text``: evidence, never the whole of it."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "\u2026"
