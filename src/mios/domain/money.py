"""Money: a Decimal amount with an ISO 4217 currency. Never a float in storage."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from mios.errors import DomainError

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CENT = Decimal("0.01")


@dataclass(frozen=True, order=False)
class Money:
    """An exact amount in one currency. Arithmetic across currencies raises ``DomainError``."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            object.__setattr__(self, "amount", to_decimal(self.amount))
        if not self.amount.is_finite():
            raise DomainError(f"money amount must be finite, got {self.amount}")
        if not _CURRENCY.match(self.currency):
            raise DomainError(f"currency must be a 3-letter ISO code, got {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def parse(cls, text: str, default_currency: str) -> Money:
        """Read ``"1500"``, ``"1500.50 EUR"`` or ``"EUR 1500.50"``."""
        parts = text.split()
        if len(parts) == 1:
            return cls(to_decimal(parts[0]), default_currency)
        if len(parts) == 2:
            first, second = parts
            if _CURRENCY.match(first):
                return cls(to_decimal(second), first)
            return cls(to_decimal(first), second)
        raise DomainError(f"expected an amount with an optional currency, got {text!r}")

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise DomainError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        return Money(self.amount * Decimal(factor), self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def rounded(self) -> Money:
        """To the cent, banker's rounding, as ledgers do."""
        return Money(self.amount.quantize(_CENT, rounding=ROUND_HALF_EVEN), self.currency)

    def is_negative(self) -> bool:
        return self.amount < 0

    def __str__(self) -> str:
        return f"{self.amount:,.2f} {self.currency}"


def to_decimal(value: object) -> Decimal:
    """An exact Decimal from an int, a string or a Decimal; floats go through ``repr``."""
    try:
        if isinstance(value, float):
            return Decimal(repr(value))
        if isinstance(value, int | str | Decimal):
            return Decimal(value)
    except InvalidOperation as exc:
        raise DomainError(f"not a number: {value!r}") from exc
    raise DomainError(f"not a number: {value!r}")
