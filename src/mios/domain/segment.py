"""Rule-based segments, evaluated over a whole ``CustomerTable`` at once (one mask, no loop).

A rule is a tree: ``AllOf``/``AnyOf``/``Not`` over ``Condition`` leaves. A condition names a
field (``region``, ``country``, ``time_zone``, ``suppressed``, ``consent.<channel>`` or a
customer attribute), an operator and a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import numpy as np

from mios.domain.categorical import Categorical
from mios.domain.channel import CONSENT_CHANNELS, ChannelName
from mios.domain.customer import CONSENT_CODES, ConsentStatus
from mios.domain.customer_table import CustomerTable, consent_column
from mios.errors import DomainError
from mios.types import BoolArray, FloatArray

_BUILTIN_FIELDS = ("region", "country", "time_zone", "suppression_reason")
ScalarValue = str | float | bool


class Operator(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    EXISTS = "exists"


_ORDERING = {Operator.GT, Operator.GTE, Operator.LT, Operator.LTE}
_MEMBERSHIP = {Operator.IN, Operator.NOT_IN}


@dataclass(frozen=True)
class Condition:
    field: str
    op: Operator
    value: ScalarValue | tuple[ScalarValue, ...] | None = None
    kind: Literal["condition"] = "condition"

    def __post_init__(self) -> None:
        if self.op in _MEMBERSHIP and not isinstance(self.value, tuple):
            raise DomainError(f"{self.field}: operator {self.op} needs a list of values")
        if self.op in _ORDERING and not isinstance(self.value, int | float):
            raise DomainError(f"{self.field}: operator {self.op} needs a number")
        if self.op is Operator.EXISTS and self.value is not None:
            raise DomainError(f"{self.field}: operator exists takes no value")
        if self.field.startswith("consent."):
            channel = self.field.removeprefix("consent.")
            if channel not in {c.value for c in CONSENT_CHANNELS}:
                raise DomainError(f"{self.field}: {channel!r} carries no per-customer consent")
            values = self.value if isinstance(self.value, tuple) else (self.value,)
            allowed = {s.value for s in ConsentStatus}
            if self.op is not Operator.EXISTS and any(v not in allowed for v in values):
                raise DomainError(f"{self.field}: consent values are {sorted(allowed)}")

    def mask(self, table: CustomerTable) -> BoolArray:
        if self.field == "suppressed":
            return _compare_flags(table.suppressed, self)
        if self.field.startswith("consent."):
            column = consent_column(ChannelName(self.field.removeprefix("consent.")))
            labels = np.asarray([s.value for s in CONSENT_CODES], dtype=np.str_)
            status = Categorical(
                table.consent_status[:, column].astype(np.int32), tuple(str(x) for x in labels)
            )
            return _compare_categorical(status, self)
        if self.field in _BUILTIN_FIELDS:
            return _compare_categorical(getattr(table, self.field), self)
        if self.field in table.numeric:
            return _compare_numeric(table.numeric[self.field], self)
        if self.field in table.categorical:
            return _compare_categorical(table.categorical[self.field], self)
        raise DomainError(f"segment rule refers to unknown customer field {self.field!r}")


@dataclass(frozen=True)
class AllOf:
    rules: tuple[Rule, ...]
    kind: Literal["all"] = "all"

    def mask(self, table: CustomerTable) -> BoolArray:
        result = np.ones(len(table), dtype=np.bool_)
        for rule in self.rules:
            result &= rule.mask(table)
        return result


@dataclass(frozen=True)
class AnyOf:
    rules: tuple[Rule, ...]
    kind: Literal["any"] = "any"

    def mask(self, table: CustomerTable) -> BoolArray:
        result = np.zeros(len(table), dtype=np.bool_)
        for rule in self.rules:
            result |= rule.mask(table)
        return result


@dataclass(frozen=True)
class Not:
    rule: Rule
    kind: Literal["not"] = "not"

    def mask(self, table: CustomerTable) -> BoolArray:
        return ~self.rule.mask(table)


Rule = Condition | AllOf | AnyOf | Not


@dataclass(frozen=True)
class Segment:
    id: str
    name: str
    rule: Rule
    description: str = ""
    sensitive: bool = False  # minors, health, financial hardship: governance routes to legal

    def __post_init__(self) -> None:
        if not self.id:
            raise DomainError("segment id must not be empty")

    def mask(self, table: CustomerTable) -> BoolArray:
        return self.rule.mask(table)

    def size(self, table: CustomerTable) -> int:
        return int(np.count_nonzero(self.mask(table)))


def _compare_flags(values: BoolArray, cond: Condition) -> BoolArray:
    if cond.op is Operator.EXISTS:
        return np.ones(values.shape, dtype=np.bool_)
    if cond.op not in (Operator.EQ, Operator.NE) or not isinstance(cond.value, bool):
        raise DomainError(f"{cond.field}: only eq/ne true/false apply")
    hit: BoolArray = values == cond.value
    return hit if cond.op is Operator.EQ else ~hit


def _compare_categorical(column: Categorical, cond: Condition) -> BoolArray:
    if cond.op is Operator.EXISTS:
        return column.present()
    if not column.present().any():
        return column.present()  # no values, so no type to disagree with: nothing matches
    if cond.op in _ORDERING:
        raise DomainError(f"{cond.field} holds text; {cond.op} needs a numeric attribute")
    values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
    hit = column.isin(str(v) for v in values)
    # A missing value matches no comparison (only ``exists`` asks about it), as for numbers.
    return hit if cond.op in (Operator.EQ, Operator.IN) else column.present() & ~hit


def _compare_numeric(column: FloatArray, cond: Condition) -> BoolArray:
    present: BoolArray = ~np.isnan(column)
    if cond.op is Operator.EXISTS or not present.any():
        return present  # a column without values has no type to disagree with
    values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
    try:
        numbers = np.asarray([float(v) for v in values if v is not None], dtype=np.float64)
    except ValueError as exc:
        raise DomainError(f"{cond.field} is numeric; {cond.value!r} is not a number") from exc
    with np.errstate(invalid="ignore"):
        if cond.op in (Operator.EQ, Operator.IN):
            hit: BoolArray = np.isin(column, numbers)
            return hit
        if cond.op in (Operator.NE, Operator.NOT_IN):
            return present & ~np.isin(column, numbers)
        bound = numbers[0]
        compare = {
            Operator.GT: np.greater,
            Operator.GTE: np.greater_equal,
            Operator.LT: np.less,
            Operator.LTE: np.less_equal,
        }[cond.op]
        result: BoolArray = compare(column, bound) & present
        return result
