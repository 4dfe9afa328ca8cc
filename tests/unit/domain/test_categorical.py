"""Categorical columns: membership by lookup table, over all rows or some, never matching
missing values or values the column does not hold."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from mios.domain.categorical import Categorical

VALUES = ["EU", "US", "", "CA", "EU", ""]


def test_isin_matches_wanted_values_and_never_missing_ones() -> None:
    column = Categorical.from_strings(VALUES)
    assert column.isin(["EU", "CA"]).tolist() == [True, False, False, True, True, False]
    assert column.isin(["XX"]).tolist() == [False] * 6  # not a category: matches nothing
    assert column.isin([]).tolist() == [False] * 6
    rows = np.array([4, 2, 3], dtype=np.int64)
    assert column.isin(["EU", "CA"], rows).tolist() == [True, False, True]


@given(
    st.lists(st.sampled_from(["a", "b", "c", ""]), min_size=1, max_size=40),
    st.sets(st.sampled_from(["a", "b", "c", "z"])),
)
def test_isin_agrees_with_a_plain_comparison(values: list[str], wanted: set[str]) -> None:
    column = Categorical.from_strings(values)
    expected = [v != "" and v in wanted for v in values]
    assert column.isin(wanted).tolist() == expected
    rows = np.arange(len(values))[::-1]
    assert column.isin(wanted, rows).tolist() == expected[::-1]
