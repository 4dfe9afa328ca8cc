"""All customers of a snapshot as columns: what the brain reads. A million customers is arrays.

Layout (n customers, k = len(CONSENT_CHANNELS)):

    ids              (n,)   str        unique customer ids
    region, country, time_zone, suppression_reason   Categorical (n,)
    suppressed       (n,)   bool
    consent_status   (n, k) int8       index into CONSENT_CODES
    consent_basis    (n, k) int8       index into BASIS_CODES
    consent_at       (n, k) datetime64[s], NaT where unknown
    numeric          name -> (n,) float64, NaN where missing
    categorical      name -> Categorical (n,)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

import numpy as np

from mios.domain.categorical import Categorical, number_text
from mios.domain.channel import CONSENT_CHANNELS, ChannelName
from mios.domain.customer import (
    BASIS_CODES,
    CONSENT_CODES,
    AttributeValue,
    Consent,
    ConsentStatus,
    Customer,
)
from mios.errors import DomainError
from mios.types import AnyArray, BoolArray, FloatArray, IntArray, SmallIntArray, StrArray, TimeArray

_GRANTED = CONSENT_CODES.index(ConsentStatus.GRANTED)
_CATEGORICAL_FIELDS = ("region", "country", "time_zone", "suppression_reason")


def consent_column(channel: ChannelName) -> int:
    try:
        return CONSENT_CHANNELS.index(channel)
    except ValueError:
        raise DomainError(f"channel {channel} carries no per-customer consent") from None


@dataclass(frozen=True, eq=False)
class CustomerTable:
    ids: StrArray
    region: Categorical
    country: Categorical
    time_zone: Categorical
    suppressed: BoolArray
    suppression_reason: Categorical
    consent_status: SmallIntArray
    consent_basis: SmallIntArray
    consent_at: TimeArray
    numeric: Mapping[str, FloatArray] = field(default_factory=dict)
    categorical: Mapping[str, Categorical] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.ids)
        k = len(CONSENT_CHANNELS)
        columns: list[tuple[str, int]] = [
            ("region", len(self.region)),
            ("country", len(self.country)),
            ("time_zone", len(self.time_zone)),
            ("suppressed", len(self.suppressed)),
            ("suppression_reason", len(self.suppression_reason)),
            *((f"numeric.{name}", len(col)) for name, col in self.numeric.items()),
            *((f"categorical.{name}", len(col)) for name, col in self.categorical.items()),
        ]
        for name, length in columns:
            if length != n:
                raise DomainError(f"column {name} has {length} rows, ids have {n}")
        for name, array in (
            ("consent_status", self.consent_status),
            ("consent_basis", self.consent_basis),
            ("consent_at", self.consent_at),
        ):
            if array.shape != (n, k):
                raise DomainError(f"column {name} has shape {array.shape}, expected {(n, k)}")
        overlap = set(self.numeric) & set(self.categorical)
        if overlap:
            raise DomainError(f"attribute {sorted(overlap)[0]!r} is both numeric and categorical")

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def empty(cls) -> CustomerTable:
        return cls.from_customers(())

    @classmethod
    def from_customers(cls, customers: Iterable[Customer]) -> CustomerTable:
        """For small tables (tests, single updates); bulk data arrives as columns."""
        rows = list(customers)
        k = len(CONSENT_CHANNELS)
        status = np.zeros((len(rows), k), dtype=np.int8)
        basis = np.zeros((len(rows), k), dtype=np.int8)
        at = np.full((len(rows), k), np.datetime64("NaT"), dtype="datetime64[s]")
        for i, customer in enumerate(rows):
            for j, channel in enumerate(CONSENT_CHANNELS):
                consent = customer.consent_for(channel)
                status[i, j] = CONSENT_CODES.index(consent.status)
                basis[i, j] = BASIS_CODES.index(consent.basis)
                if consent.at is not None:
                    at[i, j] = np.datetime64(consent.at.astimezone(UTC).replace(tzinfo=None), "s")
        names = sorted({name for c in rows for name in c.attributes})
        numeric: dict[str, FloatArray] = {}
        categorical: dict[str, Categorical] = {}
        for name in names:
            values = [c.attributes.get(name) for c in rows]
            if all(v is None or isinstance(v, int | float) for v in values):
                numeric[name] = np.asarray(
                    [np.nan if v is None else float(v) for v in values], dtype=np.float64
                )
            else:
                categorical[name] = Categorical.from_strings([_text(v) for v in values])
        return cls(
            ids=np.asarray([c.id for c in rows], dtype=np.str_),
            region=Categorical.from_strings([c.region for c in rows]),
            country=Categorical.from_strings([c.country for c in rows]),
            time_zone=Categorical.from_strings([c.time_zone for c in rows]),
            suppressed=np.asarray([c.suppressed for c in rows], dtype=np.bool_),
            suppression_reason=Categorical.from_strings([c.suppression_reason or "" for c in rows]),
            consent_status=status,
            consent_basis=basis,
            consent_at=at,
            numeric=numeric,
            categorical=categorical,
        )

    # -- reading --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @cached_property
    def _sorted_ids(self) -> StrArray:
        return self.ids[self._order]

    @cached_property
    def _order(self) -> IntArray:
        return np.argsort(self.ids, kind="stable").astype(np.int64)

    def positions(self, ids: Sequence[str] | StrArray) -> IntArray:
        """Row of each id, ``-1`` where the id is not in the table. Vectorized (searchsorted)."""
        wanted = np.asarray(ids, dtype=np.str_)
        if len(self) == 0:
            return np.full(wanted.shape, -1, dtype=np.int64)
        sorted_ids = self._sorted_ids
        slot = np.clip(np.searchsorted(sorted_ids, wanted), 0, len(self) - 1)
        found = sorted_ids[slot] == wanted
        return np.where(found, self._order[slot], -1).astype(np.int64)

    def duplicate_ids(self) -> StrArray:
        sorted_ids = self.ids[self._order]
        repeats = sorted_ids[1:][sorted_ids[1:] == sorted_ids[:-1]]
        return np.unique(repeats)

    def customer(self, customer_id: str) -> Customer:
        row = int(self.positions([customer_id])[0])
        if row < 0:
            raise DomainError(f"no customer with id {customer_id!r}")
        return self.row(row)

    def row(self, i: int) -> Customer:
        consent: dict[ChannelName, Consent] = {}
        for j, channel in enumerate(CONSENT_CHANNELS):
            stamp = self.consent_at[i, j]
            at = (
                None
                if np.isnat(stamp)
                else datetime.fromtimestamp(int(stamp.astype("int64")), tz=UTC)
            )
            consent[channel] = Consent(
                CONSENT_CODES[int(self.consent_status[i, j])],
                BASIS_CODES[int(self.consent_basis[i, j])],
                at,
            )
        attributes: dict[str, AttributeValue] = {}
        for name, values in self.numeric.items():
            if not np.isnan(values[i]):
                attributes[name] = float(values[i])
        for name, cats in self.categorical.items():
            value = cats.value(i)
            if value is not None:
                attributes[name] = value
        return Customer(
            id=str(self.ids[i]),
            region=self.region.value(i) or "",
            country=self.country.value(i) or "",
            time_zone=self.time_zone.value(i) or "",
            consent=consent,
            attributes=attributes,
            suppressed=bool(self.suppressed[i]),
            suppression_reason=self.suppression_reason.value(i),
        )

    def granted(self, channel: ChannelName) -> BoolArray:
        """Customers whose consent for ``channel`` is granted (basis rules are governance's)."""
        granted: BoolArray = self.consent_status[:, consent_column(channel)] == _GRANTED
        return granted

    def attribute(self, name: str) -> FloatArray | Categorical:
        if name in self.numeric:
            return self.numeric[name]
        if name in self.categorical:
            return self.categorical[name]
        raise DomainError(f"no customer attribute named {name!r}")

    @property
    def attribute_names(self) -> tuple[str, ...]:
        return tuple(sorted([*self.numeric, *self.categorical]))

    # -- derivation (every method returns a new table) ------------------------------------------

    def take(self, index: IntArray | BoolArray) -> CustomerTable:
        return CustomerTable(
            ids=self.ids[index],
            region=self.region.take(index),
            country=self.country.take(index),
            time_zone=self.time_zone.take(index),
            suppressed=self.suppressed[index],
            suppression_reason=self.suppression_reason.take(index),
            consent_status=self.consent_status[index],
            consent_basis=self.consent_basis[index],
            consent_at=self.consent_at[index],
            numeric={k: v[index] for k, v in self.numeric.items()},
            categorical={k: v.take(index) for k, v in self.categorical.items()},
        )

    @staticmethod
    def concat(parts: Sequence[CustomerTable]) -> CustomerTable:
        if not parts:
            return CustomerTable.empty()
        # A column holding text in any part is text everywhere (numbers are rendered); a text
        # column with no values in it says nothing about the type.
        texts = {n for p in parts for n, c in p.categorical.items() if c.present().any()}
        numbers = {n for p in parts for n in p.numeric}
        untyped = {n for p in parts for n in p.categorical} - texts - numbers
        categorical_names = sorted(texts | untyped)
        numeric_names = sorted(numbers - texts)

        def numeric_column(part: CustomerTable, name: str) -> FloatArray:
            # Absent, or an all-missing text column: missing numbers.
            return part.numeric.get(name, np.full(len(part), np.nan, dtype=np.float64))

        def categorical_column(part: CustomerTable, name: str) -> Categorical:
            if name in part.categorical:
                return part.categorical[name]
            if name in part.numeric:
                return Categorical.from_numbers(part.numeric[name])
            return Categorical(np.full(len(part), -1, dtype=np.int32), ())

        return CustomerTable(
            ids=np.concatenate([p.ids for p in parts]).astype(np.str_),
            region=Categorical.concat([p.region for p in parts]),
            country=Categorical.concat([p.country for p in parts]),
            time_zone=Categorical.concat([p.time_zone for p in parts]),
            suppressed=np.concatenate([p.suppressed for p in parts]),
            suppression_reason=Categorical.concat([p.suppression_reason for p in parts]),
            consent_status=np.concatenate([p.consent_status for p in parts]),
            consent_basis=np.concatenate([p.consent_basis for p in parts]),
            consent_at=np.concatenate([p.consent_at for p in parts]),
            numeric={
                n: np.concatenate([numeric_column(p, n) for p in parts]) for n in numeric_names
            },
            categorical={
                n: Categorical.concat([categorical_column(p, n) for p in parts])
                for n in categorical_names
            },
        )

    def upsert(self, changes: CustomerTable) -> CustomerTable:
        """Rows of ``changes`` replace rows with the same id; new ids are appended."""
        if not len(self):
            return changes
        replaced = np.isin(self.ids, changes.ids)
        return CustomerTable.concat([self.take(~replaced), changes])

    def without(self, ids: Sequence[str] | StrArray) -> CustomerTable:
        return self.take(~np.isin(self.ids, np.asarray(ids, dtype=np.str_)))

    def sorted_by_id(self) -> CustomerTable:
        return self.take(self._order)

    # -- exchange -------------------------------------------------------------------------------

    def to_arrays(self) -> dict[str, AnyArray]:
        """Flat name -> array, for ``numpy.savez`` and back through ``from_arrays``."""
        out: dict[str, AnyArray] = {
            "ids": self.ids,
            "suppressed": self.suppressed,
            "consent_status": self.consent_status,
            "consent_basis": self.consent_basis,
            "consent_at": self.consent_at,
        }
        cats: dict[str, Categorical] = {name: getattr(self, name) for name in _CATEGORICAL_FIELDS}
        cats.update({f"attr:{name}": col for name, col in self.categorical.items()})
        for name, col in cats.items():
            out[f"cat:{name}:codes"] = col.codes
            out[f"cat:{name}:categories"] = np.asarray(col.categories, dtype=np.str_)
        for name, values in self.numeric.items():
            out[f"num:{name}"] = values
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, AnyArray]) -> CustomerTable:
        def cat(name: str) -> Categorical:
            labels = arrays[f"cat:{name}:categories"]
            return Categorical(
                np.asarray(arrays[f"cat:{name}:codes"], dtype=np.int32),
                tuple(str(x) for x in labels),
            )

        numeric = {
            key.removeprefix("num:"): np.asarray(arrays[key], np.float64)
            for key in arrays
            if key.startswith("num:")
        }
        attribute_names = [
            key.removeprefix("cat:attr:").removesuffix(":codes")
            for key in arrays
            if key.startswith("cat:attr:") and key.endswith(":codes")
        ]
        categorical = {name: cat(f"attr:{name}") for name in attribute_names}
        return cls(
            ids=np.asarray(arrays["ids"], dtype=np.str_),
            region=cat("region"),
            country=cat("country"),
            time_zone=cat("time_zone"),
            suppressed=np.asarray(arrays["suppressed"], dtype=np.bool_),
            suppression_reason=cat("suppression_reason"),
            consent_status=np.asarray(arrays["consent_status"], dtype=np.int8),
            consent_basis=np.asarray(arrays["consent_basis"], dtype=np.int8),
            consent_at=np.asarray(arrays["consent_at"], dtype="datetime64[s]"),
            numeric=numeric,
            categorical=categorical,
        )

    def equals(self, other: CustomerTable) -> bool:
        """Same customers with the same values, whatever the row order or category coding.
        An attribute a table lacks counts as missing for every customer."""
        if len(self) != len(other):
            return False
        a, b = self.sorted_by_id(), other.sorted_by_id()
        same_arrays = (
            np.array_equal(a.ids, b.ids)
            and np.array_equal(a.suppressed, b.suppressed)
            and np.array_equal(a.consent_status, b.consent_status)
            and np.array_equal(a.consent_basis, b.consent_basis)
            and np.array_equal(a.consent_at.view(np.int64), b.consent_at.view(np.int64))
        )
        if not same_arrays:
            return False
        if not all(getattr(a, n).equals(getattr(b, n)) for n in _CATEGORICAL_FIELDS):
            return False
        return all(_same_attribute(a, b, name) for name in {*a.attribute_names, *b.attribute_names})


def _text(value: AttributeValue | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else number_text(value)


def _same_attribute(a: CustomerTable, b: CustomerTable, name: str) -> bool:
    if name in a.numeric and name in b.numeric:
        return bool(np.array_equal(a.numeric[name], b.numeric[name], equal_nan=True))
    if name in a.categorical and name in b.categorical:
        return a.categorical[name].equals(b.categorical[name])
    # Absent, or numeric on one side and text on the other: equal only when all missing.
    return not (_present(a, name).any() or _present(b, name).any())


def _present(table: CustomerTable, name: str) -> BoolArray:
    if name in table.numeric:
        present: BoolArray = ~np.isnan(table.numeric[name])
        return present
    if name in table.categorical:
        return table.categorical[name].present()
    return np.zeros(len(table), dtype=np.bool_)
