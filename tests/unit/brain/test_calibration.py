"""CalibrationTracker: coverage per kind, its verdict, and the insufficient-data state."""

from __future__ import annotations

import numpy as np
import pytest

from mios.brain.calibration import CalibrationTracker
from mios.errors import ModelInputError


def test_too_few_pairs_is_insufficient_data_and_says_how_many_more() -> None:
    tracker = CalibrationTracker(nominal=0.9, min_count=30)
    tracker.record("rate", [0.0] * 10, [1.0] * 10, [0.5] * 10)
    report = tracker.report("rate")
    assert report.status == "insufficient_data"
    assert report.coverage is None
    assert report.count == 10
    assert report.needed == 20
    assert "insufficient data" in report.message
    assert "20 more" in report.message


def test_an_unknown_kind_reports_insufficient_data_with_zero_count() -> None:
    report = CalibrationTracker().report("value")
    assert report.count == 0
    assert report.status == "insufficient_data"


def test_coverage_counts_inside_below_and_above_with_bounds_inside() -> None:
    tracker = CalibrationTracker(min_count=1)
    tracker.record("x", [0, 0, 0, 0], [1, 1, 1, 1], [0.0, 1.0, -0.5, 2.0])
    report = tracker.report("x")
    assert (report.count, report.inside, report.below, report.above) == (4, 2, 1, 1)
    assert report.coverage == 0.5


def test_calibrated_intervals_are_recognised_and_bad_ones_flagged() -> None:
    rng = np.random.default_rng(0)
    tracker = CalibrationTracker(nominal=0.9, min_count=100)
    outcome = rng.standard_normal(5000)
    tracker.record("good", -1.6449, 1.6449, outcome)
    tracker.record("narrow", -1.0, 1.0, outcome)
    tracker.record("wide", -3.0, 3.0, outcome)
    reports = {r.kind: r for r in tracker.reports()}
    assert tracker.kinds == ("good", "narrow", "wide")
    assert reports["good"].status == "calibrated"
    assert reports["good"].coverage == pytest.approx(0.9, abs=0.02)
    assert reports["narrow"].status == "too_narrow"
    assert reports["wide"].status == "too_wide"
    good = reports["good"].as_dict()
    assert good["coverage_interval"][0] <= 0.9 <= good["coverage_interval"][1]


def test_counts_accumulate_across_records() -> None:
    tracker = CalibrationTracker(min_count=2)
    tracker.record("k", 0.0, 1.0, 0.5)
    tracker.record("k", 0.0, 1.0, 2.0)
    report = tracker.report("k")
    assert report.count == 2
    assert report.inside == 1


def test_bad_pairs_are_refused_with_their_position() -> None:
    tracker = CalibrationTracker()
    with pytest.raises(ModelInputError, match=r"outcome\[1\]"):
        tracker.record("k", [0, 0], [1, 1], [0.5, np.nan])
    with pytest.raises(ModelInputError, match="low is above high"):
        tracker.record("k", [2.0], [1.0], [1.5])
    with pytest.raises(ModelInputError, match="differ in length"):
        tracker.record("k", [0, 0, 0], [1, 1], [0.5, 0.5])
    with pytest.raises(ModelInputError):
        CalibrationTracker(nominal=1.5)
