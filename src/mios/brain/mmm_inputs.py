"""Inputs of the media mix model: lift tests, and checks that name the column and the row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mios.errors import ModelInputError
from mios.types import FloatArray, TimeArray

ONE_DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class LiftTest:
    """An experiment on one channel: ``spend_delta`` more spend (negative: less) over the dates
    ``start`` to ``end`` (inclusive) drove ``lift`` more outcome in total, carry-over included
    (measured over the window and a cool-down after it), with standard error ``lift_se``. The
    extra spend is spread over the window's periods in proportion to the channel's spend in them
    (evenly if it spent nothing). ``source`` names where it came from (``file:line``) so an
    error about it can point there."""

    channel: str
    start: np.datetime64
    end: np.datetime64
    spend_delta: float
    lift: float
    lift_se: float
    source: str = ""


def days_of(when: TimeArray) -> FloatArray:
    return np.asarray((when - np.datetime64("1970-01-01", "D")) / ONE_DAY, dtype=np.float64)


def matrix(values: Any, name: str, columns: int) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1 and columns == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[1] != columns:
        raise ModelInputError(f"{name} must be a (rows, {columns}) array, not {array.shape}")
    return array


def linear_sigma(basis: FloatArray, spend: FloatArray, y: FloatArray) -> float:
    """A first guess of the noise: the residual scale of a straight-line media model."""
    design = np.concatenate([basis, spend], axis=1)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coef
    dof = max(len(y) - design.shape[1], 1)
    return float(max(np.sqrt(np.sum(residual**2) / dof), 1e-6))


def validated(
    spend: Any,
    y: Any,
    dates: Any,
    controls: Any,
    channel_names: Sequence[str] | None,
    control_names: Sequence[str] | None,
) -> tuple[FloatArray, FloatArray, TimeArray | None, FloatArray, list[str], list[str]]:
    """Arrays in the model's shapes, or a ModelInputError naming the column and the row."""
    x = np.asarray(spend, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] == 0:
        raise ModelInputError(f"spend must be a (rows, channels) array, not shape {x.shape}")
    t, c = x.shape
    target = np.asarray(y, dtype=np.float64)
    if target.shape != (t,):
        raise ModelInputError(f"y must have one value per row ({t}), not shape {target.shape}")
    names = list(channel_names) if channel_names is not None else [f"x{k}" for k in range(c)]
    if len(names) != c or len(set(names)) != c:
        raise ModelInputError(f"channel_names must be {c} distinct names")
    extra = np.zeros((t, 0)) if controls is None else np.asarray(controls, dtype=np.float64)
    if extra.ndim == 1:
        extra = extra[:, None]
    if extra.ndim != 2 or extra.shape[0] != t:
        raise ModelInputError(f"controls must be a ({t}, k) array, not shape {extra.shape}")
    extras = (
        list(control_names)
        if control_names is not None
        else [f"control{k}" for k in range(extra.shape[1])]
    )
    if len(extras) != extra.shape[1]:
        raise ModelInputError(f"control_names must be {extra.shape[1]} names")
    _check_column("y", target)
    for k, name in enumerate(names):
        _check_column(f"spend {name!r}", x[:, k])
        negative = np.flatnonzero(x[:, k] < 0)
        if negative.size:
            raise ModelInputError(f"spend {name!r} is negative at row {negative[0] + 1}")
    for k, name in enumerate(extras):
        _check_column(f"control {name!r}", extra[:, k])
    when: TimeArray | None = None
    if dates is not None:
        when = np.asarray(dates, dtype="datetime64[D]")
        if when.shape != (t,):
            raise ModelInputError(f"dates must have one value per row ({t})")
        steps = np.diff(when) / ONE_DAY
        bad = np.flatnonzero(steps <= 0)
        if bad.size:
            raise ModelInputError(
                f"dates must increase row by row: row {bad[0] + 2} ({when[bad[0] + 1]}) "
                f"does not come after row {bad[0] + 1} ({when[bad[0]]})"
            )
    return x, target, when, extra, names, extras


def _check_column(name: str, values: FloatArray) -> None:
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ModelInputError(f"{name} is not a finite number at row {bad[0] + 1}")
    if values.size and np.ptp(values) == 0:
        raise ModelInputError(
            f"{name} has zero variance (every row is {values[0]:g}): it cannot be fitted"
        )
