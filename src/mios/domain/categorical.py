"""A string column stored as integer codes into a small tuple of categories."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from mios.types import BoolArray, CodeArray, FloatArray, IntArray, StrArray

MISSING = -1
NUMBER_FORMAT = "%.15g"  # how a number reads when its column turned out to hold text


def number_text(value: float) -> str:
    return NUMBER_FORMAT % value


@dataclass(frozen=True, eq=False)
class Categorical:
    """``codes[i]`` indexes ``categories``; ``-1`` means missing. Categories are sorted."""

    codes: CodeArray
    categories: tuple[str, ...]

    @classmethod
    def from_strings(cls, values: Sequence[str] | StrArray, missing: str = "") -> Categorical:
        array = np.asarray(values, dtype=np.str_)
        if array.size == 0:
            return cls(np.empty(0, dtype=np.int32), ())
        uniques, inverse = np.unique(array, return_inverse=True)
        categories = [str(u) for u in uniques]
        codes = inverse.astype(np.int32)
        if missing in categories:
            gap = categories.index(missing)
            codes = np.where(codes == gap, MISSING, np.where(codes > gap, codes - 1, codes))
            categories.pop(gap)
        return cls(codes.astype(np.int32), tuple(categories))

    @classmethod
    def from_numbers(cls, values: FloatArray) -> Categorical:
        """Numbers as text (NaN as missing), for a column that turned out to hold text too."""
        text = np.char.mod(NUMBER_FORMAT, values)
        return cls.from_strings(np.where(np.isnan(values), "", text))

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def code(self, value: str) -> int:
        try:
            return self.categories.index(value)
        except ValueError:
            return MISSING - 1  # matches no row, not even missing ones

    def eq(self, value: str) -> BoolArray:
        hit: BoolArray = self.codes == self.code(value)
        return hit

    def isin(self, values: Iterable[str], rows: IntArray | None = None) -> BoolArray:
        """Whether each row (or each of ``rows``) holds one of ``values``; missing never does."""
        # A lookup table over the categories: one gather, where np.isin would sort.
        wanted = np.zeros(len(self.categories) + 1, dtype=np.bool_)  # the last slot: missing
        wanted[[c for v in values if (c := self.code(v)) >= 0]] = True
        hit: BoolArray = wanted[self.codes if rows is None else self.codes[rows]]
        return hit

    def present(self) -> BoolArray:
        present: BoolArray = self.codes != MISSING
        return present

    def value(self, index: int) -> str | None:
        code = int(self.codes[index])
        return None if code == MISSING else self.categories[code]

    def strings(self, missing: str = "") -> StrArray:
        lookup = np.asarray([*self.categories, missing], dtype=np.str_)
        return lookup[self.codes]  # -1 lands on the trailing ``missing`` entry

    def take(self, index: IntArray | BoolArray) -> Categorical:
        return Categorical(self.codes[index], self.categories)

    def recoded(self, categories: tuple[str, ...]) -> Categorical:
        """The same values expressed in a superset of categories."""
        mapping = np.asarray([categories.index(c) for c in self.categories] + [MISSING], np.int32)
        return Categorical(mapping[self.codes], categories)

    @staticmethod
    def concat(parts: Sequence[Categorical]) -> Categorical:
        categories = tuple(sorted({c for part in parts for c in part.categories}))
        codes = [part.recoded(categories).codes for part in parts]
        joined = np.concatenate(codes) if codes else np.empty(0, dtype=np.int32)
        return Categorical(joined.astype(np.int32), categories)

    def equals(self, other: Categorical) -> bool:
        """Same values row by row; missing equals only missing (never an empty string)."""
        present = self.present()
        if not np.array_equal(present, other.present()):
            return False
        return bool(np.array_equal(self.strings()[present], other.strings()[present]))
