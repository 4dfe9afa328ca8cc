"""Categorical: a string column as int32 codes into sorted categories; -1 is missing."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mios.domain.categorical import MISSING, Categorical


class TestFromStrings:
    def test_categories_are_sorted_and_empty_string_is_missing(self) -> None:
        column = Categorical.from_strings(["b", "", "a", "b"])
        assert column.categories == ("a", "b")
        assert column.codes.tolist() == [1, MISSING, 0, 1]
        assert column.codes.dtype == np.int32
        assert len(column) == 4

    def test_custom_missing_marker(self) -> None:
        column = Categorical.from_strings(["NA", "x", ""], missing="NA")
        assert column.categories == ("", "x")
        assert column.codes.tolist() == [MISSING, 1, 0]

    def test_all_missing(self) -> None:
        column = Categorical.from_strings(["", ""])
        assert column.categories == ()
        assert column.codes.tolist() == [MISSING, MISSING]
        assert not column.present().any()

    def test_empty_input(self) -> None:
        column = Categorical.from_strings([])
        assert len(column) == 0
        assert column.categories == ()
        assert column.codes.dtype == np.int32

    def test_accepts_a_numpy_string_array(self) -> None:
        column = Categorical.from_strings(np.asarray(["z", "y"], dtype=np.str_))
        assert column.categories == ("y", "z")
        assert column.codes.tolist() == [1, 0]


class TestReading:
    column = Categorical.from_strings(["gold", "", "silver", "gold"])

    def test_code_of_known_and_unknown_values(self) -> None:
        assert self.column.code("gold") == 0
        assert self.column.code("silver") == 1
        assert self.column.code("bronze") not in (0, 1, MISSING)

    def test_eq(self) -> None:
        assert self.column.eq("gold").tolist() == [True, False, False, True]

    def test_eq_on_unknown_value_matches_nothing_not_even_missing(self) -> None:
        assert not self.column.eq("bronze").any()
        assert not self.column.eq("").any()

    def test_isin(self) -> None:
        assert self.column.isin(["silver", "gold"]).tolist() == [True, False, True, True]

    def test_isin_with_unknown_values_matches_nothing(self) -> None:
        assert not self.column.isin(["bronze", "platinum", ""]).any()
        assert not self.column.isin([]).any()
        assert self.column.isin(["bronze", "silver"]).tolist() == [False, False, True, False]

    def test_present(self) -> None:
        assert self.column.present().tolist() == [True, False, True, True]

    def test_value(self) -> None:
        assert self.column.value(0) == "gold"
        assert self.column.value(1) is None
        assert self.column.value(2) == "silver"

    def test_strings_round_trip_with_default_and_custom_missing(self) -> None:
        assert self.column.strings().tolist() == ["gold", "", "silver", "gold"]
        assert self.column.strings("?").tolist() == ["gold", "?", "silver", "gold"]

    def test_strings_of_an_all_missing_column(self) -> None:
        assert Categorical.from_strings(["", ""]).strings("-").tolist() == ["-", "-"]


class TestDerivation:
    def test_take_with_indices_keeps_categories(self) -> None:
        column = Categorical.from_strings(["a", "b", "", "c"])
        taken = column.take(np.asarray([3, 2, 0], dtype=np.int64))
        assert taken.categories == column.categories
        assert taken.strings().tolist() == ["c", "", "a"]

    def test_take_with_a_mask(self) -> None:
        column = Categorical.from_strings(["a", "b", "", "c"])
        taken = column.take(np.asarray([False, True, True, False]))
        assert taken.strings().tolist() == ["b", ""]

    def test_recoded_into_a_superset(self) -> None:
        column = Categorical.from_strings(["b", "", "a"])
        recoded = column.recoded(("a", "aa", "b", "c"))
        assert recoded.categories == ("a", "aa", "b", "c")
        assert recoded.codes.tolist() == [2, MISSING, 0]
        assert recoded.equals(column)

    def test_concat_merges_categories_and_keeps_values(self) -> None:
        left = Categorical.from_strings(["b", "", "a"])
        right = Categorical.from_strings(["c", "a", ""])
        joined = Categorical.concat([left, right])
        assert joined.categories == ("a", "b", "c")
        assert joined.strings().tolist() == ["b", "", "a", "c", "a", ""]
        assert joined.codes.dtype == np.int32

    def test_concat_of_nothing_is_empty(self) -> None:
        joined = Categorical.concat([])
        assert len(joined) == 0
        assert joined.categories == ()

    def test_equals_ignores_coding(self) -> None:
        one = Categorical.from_strings(["x", "y", ""])
        other = Categorical(np.asarray([0, 2, MISSING], dtype=np.int32), ("x", "q", "y"))
        assert one.equals(other)
        assert not one.equals(Categorical.from_strings(["x", "y", "y"]))
        assert not one.equals(Categorical.from_strings(["x", "y"]))

    def test_equals_tells_missing_from_an_empty_string_category(self) -> None:
        with_empty = Categorical.from_strings(["", "x"], missing="NA")  # "" is a real value
        with_missing = Categorical.from_strings(["", "x"])  # "" is missing
        assert with_empty.value(0) == ""
        assert with_missing.value(0) is None
        assert not with_empty.equals(with_missing)


values = st.lists(st.sampled_from(["", "a", "b", "c", "long value", "é"]), max_size=20)


@settings(max_examples=100, deadline=None)
@given(values)
def test_from_strings_then_strings_round_trips(items: list[str]) -> None:
    column = Categorical.from_strings(items)
    assert column.strings().tolist() == items
    assert list(column.categories) == sorted(set(items) - {""})
    assert [column.value(i) for i in range(len(items))] == [v or None for v in items]


@settings(max_examples=100, deadline=None)
@given(st.lists(values, max_size=4))
def test_concat_equals_from_strings_of_the_joined_values(parts: list[list[str]]) -> None:
    joined = Categorical.concat([Categorical.from_strings(p) for p in parts])
    flat = [v for p in parts for v in p]
    assert joined.strings().tolist() == flat
    assert joined.equals(Categorical.from_strings(flat))
