"""Checks of what ``ResponseModel`` is given: every bad value is named by argument and row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mios.errors import ModelInputError
from mios.types import FloatArray, StrArray

KEYS: tuple[str, ...] = ("segment", "channel", "offer", "angle")
Cells = Sequence[Sequence[str]] | StrArray


def grid_of(cells: Cells) -> StrArray:
    try:
        grid = np.asarray(cells, dtype=np.str_)
    except (TypeError, ValueError) as exc:
        raise ModelInputError(f"cells: not a table of strings ({exc})") from exc
    if grid.ndim != 2 or grid.shape[1] != len(KEYS):
        raise ModelInputError(
            f"cells: expected shape (m, {len(KEYS)}) for {', '.join(KEYS)}, got {grid.shape}"
        )
    return grid


def rows_of(
    cells: Cells, trials: Any, successes: Any, values: Any | None
) -> tuple[StrArray, FloatArray, FloatArray, FloatArray | None]:
    grid = grid_of(cells)
    m = len(grid)
    n = _column("trials", trials, m)
    y = _column("successes", successes, m)
    _non_negative_whole("trials", n)
    _non_negative_whole("successes", y)
    over = np.flatnonzero(y > n)
    if len(over):
        i = int(over[0])
        raise _at(f"successes {y[i]:g} is more than trials {n[i]:g}", "successes", i)
    v = None
    if values is not None:
        v = _column("values", values, m)
        bad = np.flatnonzero(v < 0) if len(v) else np.zeros(0, np.int64)
        if len(bad):
            i = int(bad[0])
            raise _at(f"value {v[i]:g} is negative", "values", i)
        orphan = np.flatnonzero((y == 0) & (v > 0))
        if len(orphan):
            i = int(orphan[0])
            raise _at("a value without any response (successes is 0)", "values", i)
    return grid, n, y, v


def _column(name: str, data: Any, m: int) -> FloatArray:
    try:
        array = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ModelInputError.at(f"not numeric ({exc})", field=name) from exc
    if array.shape != (m,):
        raise ModelInputError.at(f"expected shape ({m},), got {array.shape}", field=name)
    missing = np.flatnonzero(~np.isfinite(array))
    if len(missing):
        i = int(missing[0])
        raise _at(f"missing or infinite value {array[i]}", name, i)
    return array


def _non_negative_whole(name: str, array: FloatArray) -> None:
    bad = np.flatnonzero((array < 0) | (array != np.round(array)))
    if len(bad):
        i = int(bad[0])
        raise _at(f"{array[i]:g} is not a whole number >= 0", name, i)


def _at(message: str, name: str, row: int) -> ModelInputError:
    """An error naming the argument and the row (0-based) at fault."""
    error = ModelInputError.at(message, field=f"{name}[{row}]")
    assert isinstance(error, ModelInputError)
    return error


def audience_of(audience: Any, m: int) -> FloatArray:
    size = np.broadcast_to(np.asarray(audience, dtype=np.float64), (m,)).copy()
    _non_negative_whole("audience", size)
    return size
