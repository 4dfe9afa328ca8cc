"""Helpers for bulk work over millions of rows: a paused garbage collector, CSV text split into
chunks that parse independently, and an ordered process pool to parse them on every core."""

from __future__ import annotations

import gc
import multiprocessing
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import TextIO, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector around bulk row work.

    Reading a million CSV rows allocates a million small lists that form no cycles, yet each
    allocation burst triggers full collections that rescan everything alive: that more than
    doubled the time of an import. Reference counting still frees memory as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def line_count(text: str) -> int:
    """Lines in ``text`` as Python's universal newlines count them (\\n, \\r\\n and \\r)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


#: Complete CSV tokens as Python's ``csv`` reads them (default dialect, not strict): a quote
#: opens a quoted field only at the start of a field, ``""`` inside one is a quote, and any other
#: quote is an ordinary character. Possessive, so the match is linear and never backtracks.
_COMPLETE_TOKENS = re.compile(
    r"""(?:
        (?:\A|(?<=[,\n\r]))"[^"]*+(?:""[^"]*+)*+"    # a quoted field, closed
      | [^"]++                                # text without quotes
      | (?<=[^,\n\r])"                        # a quote inside an unquoted field
    )*+""",
    re.VERBOSE,
)
_CUT_ATTEMPTS = 16


def csv_text_chunks(handle: TextIO, first_line: int, chunk_chars: int) -> Iterator[tuple[str, int]]:
    """Pieces of about ``chunk_chars`` characters, each ending at a line end outside any quoted
    field (so every piece parses on its own exactly as it would in the whole file), with the
    line number it starts on."""
    pending = ""
    line = first_line
    while block := handle.read(chunk_chars):
        pending += block
        cut = _safe_cut(pending)
        if cut > 0:
            piece, pending = pending[:cut], pending[cut:]
            yield piece, line
            line += line_count(piece)
    if pending:
        yield pending, line


def _safe_cut(text: str) -> int:
    """Index just after the last line end that lies outside every quoted field, or -1.

    Text before a safe cut is a whole sequence of complete tokens. A line end inside a long
    multi-line field may need several tries; past a few, wait for more text instead.
    """
    if '"' not in text:
        return _last_line_end(text, len(text)) + 1
    match = _COMPLETE_TOKENS.match(text)
    end = match.end() if match else 0
    for _ in range(_CUT_ATTEMPTS):
        position = _last_line_end(text, end)
        if position < 0:
            return -1
        if _COMPLETE_TOKENS.fullmatch(text, 0, position + 1):
            return position + 1
        end = position
    return -1


def _last_line_end(text: str, end: int) -> int:
    """Index of the last \n before ``end``, or of a lone \r that is certainly not the first half
    of a \r\n split between two reads; -1 when there is none."""
    newline = text.rfind("\n", 0, end)
    carriage = text.rfind("\r", 0, end)
    while carriage >= 0 and (carriage + 1 >= len(text) or text[carriage + 1] == "\n"):
        carriage = text.rfind("\r", 0, carriage)
    return max(newline, carriage)


def _exit_with_parent(parent: int) -> None:
    """Runs in each worker: if the parent dies (kill -9 mid-import), stop instead of lingering."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def ordered_map(
    function: Callable[[T], R], items: Iterable[T], *, workers: int, window: int = 2
) -> Iterator[R]:
    """``map(function, items)`` on ``workers`` processes, in order, with at most
    ``workers * window`` items in flight so a large input never sits in memory at once.

    Processes are spawned (never forked), so a caller with threads is safe; ``function`` must
    be importable at module level.
    """
    if workers <= 1:
        yield from map(function, items)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        in_flight: deque[Future[R]] = deque()
        for item in items:
            in_flight.append(pool.submit(function, item))
            if len(in_flight) >= workers * window:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()
