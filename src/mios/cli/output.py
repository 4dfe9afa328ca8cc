"""How the CLI talks: Rich for people, plain JSON for scripts, one clear line for errors."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text

from mios.domain.clock import require_utc
from mios.errors import AccessDenied, InputError, MiosError

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_ACCESS_DENIED = 3
MAX_PROBLEMS_SHOWN = 20

P = ParamSpec("P")
R = TypeVar("R")

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class CliState:
    workspace: Path
    json: bool


def state(ctx: typer.Context) -> CliState:
    found = ctx.find_root().obj
    assert isinstance(found, CliState), "the root callback sets the CLI state"
    return found


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def fail(exc: MiosError) -> typer.Exit:
    """Print ``exc`` as one clear line (plus each located problem) and pick the exit code."""
    # The message holds user text (paths, values, names): never read it as Rich markup.
    stderr.print(Text.assemble(("error: ", "bold red"), str(exc)), highlight=False)
    if isinstance(exc, InputError) and len(exc.problems) > 1:
        for problem in exc.problems[:MAX_PROBLEMS_SHOWN]:
            stderr.print(f"  - {problem}", markup=False)
        if len(exc.problems) > MAX_PROBLEMS_SHOWN:
            stderr.print(f"  ... {len(exc.problems) - MAX_PROBLEMS_SHOWN} more", markup=False)
    if isinstance(exc, AccessDenied):
        return typer.Exit(EXIT_ACCESS_DENIED)
    return typer.Exit(EXIT_BAD_INPUT if isinstance(exc, InputError) else EXIT_FAILURE)


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn mios errors raised by a command into a message and the right exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except MiosError as exc:
            raise fail(exc) from None

    return wrapper


@contextmanager
def progress_bar(description: str, *, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    """A Rich bar on stderr (so ``--json`` output stays clean); a no-op when disabled or when
    stderr is not a terminal (a bar drawn into a log or a pipe is only noise)."""
    if not (enabled and stderr.is_terminal):
        yield lambda _done, _total: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def utc_option(text: str, option: str) -> datetime:
    """An ISO 8601 time given on the command line, with its offset (``Z`` for UTC)."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InputError.at(f"{text!r} is not an ISO 8601 time", field=option) from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError.at(f"{text!r} has no offset; add Z for UTC", field=option)
    return require_utc(at, option)
