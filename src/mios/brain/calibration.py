"""Calibration tracking: do outcomes land inside the intervals the brain forecast for them?

Each forecast kind (``response_rate``, ``responses``, ``value`` ...) keeps four counts: how many
(interval, outcome) pairs were recorded, how many fell inside, below and above. A 90% interval
is calibrated when about 90% of outcomes land inside; ``report`` says so with a Clopper-Pearson
interval on the observed share, or says "insufficient data" (and how many more pairs are needed)
while there are fewer than ``min_count``. Counts only grow, so a tracker holds no outcomes and
costs the same after a million of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from mios.errors import ModelInputError

Status = Literal["calibrated", "too_narrow", "too_wide", "insufficient_data"]


@dataclass(frozen=True)
class CoverageReport:
    """Coverage of one kind of forecast. ``coverage`` and its bounds are ``None`` while the
    status is ``insufficient_data``."""

    kind: str
    nominal: float
    count: int
    inside: int
    below: int
    above: int
    coverage: float | None
    coverage_low: float | None
    coverage_high: float | None
    status: Status
    needed: int  # pairs still needed before coverage is reported (0 once it is)

    @property
    def message(self) -> str:
        if self.status == "insufficient_data":
            return (
                f"{self.kind}: insufficient data: {self.count} outcomes recorded, "
                f"{self.needed} more needed to judge {self.nominal:.0%} intervals"
            )
        assert self.coverage is not None
        return (
            f"{self.kind}: {self.coverage:.1%} of {self.count} outcomes inside "
            f"{self.nominal:.0%} intervals ({self.status.replace('_', ' ')}; "
            f"{self.below} below, {self.above} above)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "nominal": self.nominal,
            "count": self.count,
            "inside": self.inside,
            "below": self.below,
            "above": self.above,
            "coverage": self.coverage,
            "coverage_interval": None
            if self.coverage_low is None
            else [self.coverage_low, self.coverage_high],
            "status": self.status,
            "needed": self.needed,
            "message": self.message,
        }


class CalibrationTracker:
    """Records (interval, outcome) pairs per kind and reports their coverage.

    ``nominal``: the probability the intervals claim (0.9). ``min_count``: pairs needed before
    coverage is judged. ``confidence``: of the Clopper-Pearson interval on the coverage; a kind
    is ``calibrated`` when that interval contains ``nominal``.
    """

    def __init__(self, nominal: float = 0.9, min_count: int = 30, confidence: float = 0.95):
        if not 0.0 < nominal < 1.0:
            raise ModelInputError(f"nominal must be in (0, 1), got {nominal}")
        if min_count < 1:
            raise ModelInputError(f"min_count must be >= 1, got {min_count}")
        if not 0.0 < confidence < 1.0:
            raise ModelInputError(f"confidence must be in (0, 1), got {confidence}")
        self.nominal = nominal
        self.min_count = min_count
        self.confidence = confidence
        self._counts: dict[str, np.ndarray[Any, np.dtype[np.int64]]] = {}

    def record(self, kind: str, low: Any, high: Any, outcome: Any) -> None:
        """Add pairs: ``low``, ``high`` and ``outcome`` are numbers or ``(m,)`` arrays. An
        outcome on a bound counts as inside."""
        lo, hi, out = (np.atleast_1d(np.asarray(x, dtype=np.float64)) for x in (low, high, outcome))
        try:
            lo, hi, out = np.broadcast_arrays(lo, hi, out)
        except ValueError as exc:
            raise ModelInputError(f"{kind}: low, high and outcome differ in length") from exc
        for name, array in (("low", lo), ("high", hi), ("outcome", out)):
            bad = np.flatnonzero(~np.isfinite(array))
            if len(bad):
                raise ModelInputError.at(
                    f"missing or infinite value {array[bad[0]]}", field=f"{name}[{bad[0]}]"
                )
        flipped = np.flatnonzero(lo > hi)
        if len(flipped):
            raise ModelInputError.at("low is above high", field=f"low[{flipped[0]}]")
        below = int(np.count_nonzero(out < lo))
        above = int(np.count_nonzero(out > hi))
        counts = self._counts.setdefault(kind, np.zeros(4, dtype=np.int64))
        counts += np.asarray([len(out), len(out) - below - above, below, above], dtype=np.int64)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted(self._counts))

    def report(self, kind: str) -> CoverageReport:
        count, inside, below, above = (
            int(x) for x in self._counts.get(kind, np.zeros(4, dtype=np.int64))
        )
        if count < self.min_count:
            return CoverageReport(
                kind, self.nominal, count, inside, below, above, None, None, None,
                "insufficient_data", self.min_count - count,
            )  # fmt: skip
        tail = (1.0 - self.confidence) / 2.0
        low = float(stats.beta.ppf(tail, inside, count - inside + 1)) if inside > 0 else 0.0
        high = (
            float(stats.beta.ppf(1.0 - tail, inside + 1, count - inside)) if inside < count else 1.0
        )
        status: Status = "calibrated"
        if high < self.nominal:
            status = "too_narrow"
        elif low > self.nominal:
            status = "too_wide"
        return CoverageReport(
            kind, self.nominal, count, inside, below, above, inside / count, low, high, status, 0
        )

    def reports(self) -> tuple[CoverageReport, ...]:
        return tuple(self.report(kind) for kind in self.kinds)
