"""Read an experiment's results from a CSV file: one row per arm (see docs/experiments.md).

Every problem is collected with its file, line and column before anything is computed, so one
run lists everything wrong with the file; the error is an ``InputError`` (CLI exit code 2).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from mios.errors import InputError, Location, Problem
from mios.measure.experiments import Arm, Experiment, MetricKind

REQUIRED = ("variation", "users")
BINOMIAL = ("conversions",)
MEAN = ("sum", "sum_squares")
COVARIATE = ("pre_sum", "sum_product")
OPTIONAL = ("is_control", "weight", "pre_sum_squares")
KNOWN = (*REQUIRED, *BINOMIAL, *MEAN, *COVARIATE, *OPTIONAL)
_TRUE = {"1", "true", "yes", "y", "x"}
_FALSE = {"", "0", "false", "no", "n"}
# Sums of squares are often summed in floating point upstream: allow that much rounding.
_SLACK = 1e-9


@dataclass
class _Row:
    """The cells of one data row and the problems found in them."""

    path: str
    line: int
    cells: dict[str, str]
    problems: list[Problem]

    def fail(self, column: str, message: str) -> None:
        self.problems.append(Problem(Location(self.path, self.line, f"column {column!r}"), message))

    def number(self, column: str) -> float | None:
        text = self.cells.get(column, "").strip()
        if not text:
            self.fail(column, "missing value")
            return None
        try:
            value = float(text)
        except ValueError:
            self.fail(column, f"{text!r} is not a number")
            return None
        if not math.isfinite(value):
            self.fail(column, f"{text!r} is not a finite number")
            return None
        return value

    def count(self, column: str, *, minimum: int = 0) -> int | None:
        value = self.number(column)
        if value is None:
            return None
        if value != int(value):
            self.fail(column, f"{value:g} is not a whole number")
            return None
        if value < 0:
            self.fail(column, f"{value:g} is a negative count")
            return None
        if value < minimum:
            self.fail(column, f"{value:g} is too few: every arm needs at least {minimum}")
            return None
        return int(value)

    def squares(self, column: str, total: float | None, users: int | None) -> float | None:
        value = self.number(column)
        if value is None or total is None or not users:
            return value
        # Cauchy-Schwarz: a sum of squares below sum^2 / n cannot come from real values.
        if value < total * total / users * (1 - _SLACK) - _SLACK:
            self.fail(column, f"{value:g} is below sum^2 / users: no data has these sums")
            return None
        return value


def load_experiment(path: Path, *, baseline: str | None = None) -> Experiment:
    """The arms in ``path``. The control is ``baseline`` when named, else the row whose
    ``is_control`` is true, else the first row."""
    name = str(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except FileNotFoundError:
        raise InputError.at("no such file", file=name) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError.at(f"cannot read the file: {exc}", file=name) from exc
    if header is None:
        raise InputError.at("the file is empty: it needs a header and one row per arm", file=name)
    columns = [c.strip() for c in header]
    kind = _kind(name, columns)
    problems: list[Problem] = []
    arms: list[Arm] = []
    flags: list[bool] = []
    for line, values in rows:
        if len(values) != len(columns):
            problems.append(
                Problem(
                    Location(name, line),
                    f"{len(values)} values for {len(columns)} columns",
                )
            )
            continue
        row = _Row(name, line, dict(zip(columns, values, strict=True)), problems)
        arm = _arm(row, kind, columns)
        flags.append(_flag(row))
        if arm is not None:
            arms.append(arm)
    if problems:
        raise _errors(name, problems)
    return Experiment(kind, tuple(arms), _control(name, arms, flags, baseline, rows))


def _kind(name: str, columns: list[str]) -> MetricKind:
    def header_error(message: str) -> InputError:
        return InputError.at(message, file=name, line=1)

    unknown = [c for c in columns if c not in KNOWN]
    if unknown:
        raise header_error(f"unknown column {unknown[0]!r} (the columns are: {', '.join(KNOWN)})")
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise header_error(f"column {duplicated[0]!r} appears twice")
    for column in REQUIRED:
        if column not in columns:
            raise header_error(f"no column {column!r}")
    binomial = "conversions" in columns
    mean = [c for c in MEAN if c in columns]
    if binomial and mean:
        raise header_error("give either conversions (binomial) or sum and sum_squares, not both")
    if not binomial and len(mean) < len(MEAN):
        missing = next(c for c in MEAN if c not in columns)
        if mean:
            raise header_error(f"no column {missing!r}: a mean metric needs sum and sum_squares")
        raise header_error("no metric: give conversions, or sum and sum_squares")
    covariate = [c for c in COVARIATE if c in columns]
    if 0 < len(covariate) < len(COVARIATE) or ("pre_sum_squares" in columns and not covariate):
        raise header_error("CUPED needs the columns pre_sum and sum_product together")
    return MetricKind.BINOMIAL if binomial else MetricKind.MEAN


def _arm(row: _Row, kind: MetricKind, columns: list[str]) -> Arm | None:
    before = len(row.problems)
    name = row.cells["variation"].strip()
    if not name:
        row.fail("variation", "missing value")
    users = row.count("users", minimum=2)
    squares: float | None = None
    if kind is MetricKind.BINOMIAL:
        conversions = row.count("conversions")
        if conversions is not None and users is not None and conversions > users:
            row.fail("conversions", f"{conversions} conversions is more than {users} users")
        total: float | None = None if conversions is None else float(conversions)
    else:
        total = row.number("sum")
        squares = row.squares("sum_squares", total, users)
    pre_total = pre_squares = products = None
    if "pre_sum" in columns:
        pre_total = row.number("pre_sum")
        if "pre_sum_squares" in columns:
            pre_squares = row.squares("pre_sum_squares", pre_total, users)
        elif pre_total is not None and users is not None and not 0 <= pre_total <= users:
            row.fail("pre_sum", "a 0/1 covariate (no pre_sum_squares) sums to 0 .. users")
        products = row.number("sum_product")
    weight = _weight(row) if "weight" in columns else None
    if len(row.problems) > before:
        return None
    assert users is not None
    assert total is not None
    return Arm(name, users, total, squares, pre_total, pre_squares, products, weight)


def _weight(row: _Row) -> float | None:
    value = row.number("weight")
    if value is not None and value < 0:
        row.fail("weight", f"{value:g} is a negative weight")
    return value


def _flag(row: _Row) -> bool:
    text = row.cells.get("is_control", "").strip().lower()
    if text in _TRUE:
        return True
    if text not in _FALSE:
        row.fail("is_control", f"{text!r} is not a yes/no value (use 1 or 0)")
    return False


def _control(
    name: str,
    arms: list[Arm],
    flags: list[bool],
    baseline: str | None,
    rows: list[tuple[int, list[str]]],
) -> int:
    if len(arms) < 2:
        raise InputError.at(
            f"{len(arms)} arm{'s' if len(arms) != 1 else ''}: an experiment needs at least two "
            "(a control and a variation)",
            file=name,
        )
    names = [arm.name for arm in arms]
    for i, arm in enumerate(arms):
        if arm.name in names[:i]:
            raise InputError.at(
                f"variation {arm.name!r} appears twice", file=name, line=rows[i][0],
                field="column 'variation'",
            )  # fmt: skip
    if any(arm.weight is not None for arm in arms) and not sum(a.weight or 0 for a in arms) > 0:
        raise InputError.at("the weights are all zero", file=name, field="column 'weight'")
    if baseline is not None:
        if baseline not in names:
            raise InputError.at(
                f"no variation {baseline!r} to use as the control (the variations are: "
                f"{', '.join(names)})",
                file=name,
            )
        return names.index(baseline)
    marked = [i for i, flag in enumerate(flags) if flag]
    if len(marked) > 1:
        raise InputError.at(
            f"{len(marked)} rows have is_control set ({', '.join(names[i] for i in marked)}): "
            "mark one",
            file=name, line=rows[marked[1]][0], field="column 'is_control'",
        )  # fmt: skip
    return marked[0] if marked else 0


def _errors(name: str, problems: list[Problem]) -> InputError:
    if len(problems) == 1:
        return InputError(str(problems[0]), problems)
    return InputError(f"{name}: {len(problems)} problems, the first: {problems[0]}", problems)
