"""What arbitration works on: budget limits, contact caps, and a cycle's candidates as arrays.

A cycle's proposals become ``Candidates``: one position per proposal, with its expected value,
its cost in integer minor units (cents, so every budget sum is exact in float64), its channel,
whether it contacts customers (``send_message``: it counts against contact caps) and its
audience as an int array of row positions into a population of ``population`` customers.

``contact_load`` turns the audiences into *patterns*: customers reached by exactly the same set
of audiences are one pattern, so a million customers become a few thousand rows. Each pattern is
found by a set hash (the wrapping sum of one random 64-bit key per distinct audience), and each
pattern's audiences are read from one representative customer, so the work is linear in the
total audience size and never sorts customers by pattern membership.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np
import scipy.sparse as sp

from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.errors import DomainError
from mios.types import BoolArray, FloatArray, IntArray

#: Minor units per currency unit: money becomes an integer count of cents.
MINOR_UNITS = 100

#: ``channel_code`` of a candidate without a channel.
NO_CHANNEL = -1


@dataclass(frozen=True)
class ContactCaps:
    """At most ``per_channel[c]`` messages on channel ``c`` and ``total`` messages overall per
    customer in one cycle; a channel not listed (or ``total`` ``None``) is not capped."""

    per_channel: Mapping[ChannelName, int] = field(default_factory=dict)
    total: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_channel", dict(self.per_channel))
        if any(cap < 0 for cap in self.per_channel.values()):
            raise DomainError("contact caps must be >= 0")
        if self.total is not None and self.total < 0:
            raise DomainError(f"the global contact cap must be >= 0, got {self.total}")


@dataclass(frozen=True)
class BudgetLimits:
    """Money a cycle may commit: in total and per channel. A channel not listed is bounded by
    ``total`` only; with ``total`` ``None`` and no channel listed, spend is not bounded."""

    total: Money | None = None
    per_channel: Mapping[ChannelName, Money] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_channel", dict(self.per_channel))
        amounts = [*self.per_channel.values(), *([self.total] if self.total else [])]
        if len({m.currency for m in amounts}) > 1:
            raise DomainError("budget limits mix currencies")
        if any(m.is_negative() for m in amounts):
            raise DomainError("budget limits must be >= 0")

    @property
    def currency(self) -> str | None:
        if self.total is not None:
            return self.total.currency
        return next((m.currency for m in self.per_channel.values()), None)


def cents_up(money: Money) -> float:
    """A cost in whole cents, rounded up so rounding never hides an overdraft."""
    return float((money.amount * MINOR_UNITS).to_integral_value(ROUND_CEILING))


def cents_down(money: Money) -> float:
    """A budget in whole cents, rounded down."""
    return float((money.amount * MINOR_UNITS).to_integral_value(ROUND_FLOOR))


def from_cents(cents: float, currency: str) -> Money:
    return Money(Decimal(int(cents)) / MINOR_UNITS, currency)


@dataclass(frozen=True, eq=False)
class Candidates:
    """A cycle's proposals as arrays; position ``j`` is one proposal throughout arbitration.

    ids (n,) str; value (n,) float64 expected value toward the objective; cost (n,) float64 whole
    cents; channel_code (n,) int64 into ``channels`` or ``NO_CHANNEL``; contacts (n,) bool;
    audiences: n entries, each ``None`` or an int array of distinct row positions in
    ``[0, population)``. Equal audiences may share one array object (it is cheaper).
    """

    ids: tuple[str, ...]
    value: FloatArray
    cost: FloatArray
    channel_code: IntArray
    contacts: BoolArray
    audiences: tuple[IntArray | None, ...]
    population: int
    channels: tuple[ChannelName, ...]

    def __post_init__(self) -> None:
        n = len(self.ids)
        arrays = (self.value, self.cost, self.channel_code, self.contacts)
        if any(a.shape != (n,) for a in arrays) or len(self.audiences) != n:
            raise DomainError(f"candidates: every column needs {n} entries")
        if len(set(self.ids)) != n:
            raise DomainError("candidates: proposal ids must be unique")
        if not np.all(np.isfinite(self.value)):
            raise DomainError("candidates: expected values must be finite")
        if not np.all(np.isfinite(self.cost)) or np.any(self.cost < 0):
            raise DomainError("candidates: costs must be finite and >= 0")
        if self.population < 0:
            raise DomainError("candidates: population must be >= 0")
        if np.any((self.channel_code < NO_CHANNEL) | (self.channel_code >= len(self.channels))):
            raise DomainError("candidates: channel codes out of range")

    def __len__(self) -> int:
        return len(self.ids)

    def channel_of(self, j: int) -> ChannelName | None:
        code = int(self.channel_code[j])
        return None if code == NO_CHANNEL else self.channels[code]


@dataclass(frozen=True, eq=False)
class ContactLoad:
    """Customers grouped by the exact set of audiences that reach them.

    audience_of (n,) int64: each candidate's distinct-audience index, -1 for none.
    audience_size (A,) int64. pattern_size (P,) int64: customers per pattern.
    incidence: (P, A) CSR of 0/1, pattern ``g`` lies in audience ``a``.
    """

    audience_of: IntArray
    audience_size: IntArray
    pattern_size: IntArray
    incidence: sp.csr_array

    def reach(self, members: BoolArray) -> sp.csr_array:
        """(P, n) CSR of 0/1: candidate ``j`` (if ``members[j]``) reaches pattern ``g``."""
        n = len(self.audience_of)
        cols = np.flatnonzero(members & (self.audience_of >= 0))
        to_candidate = sp.csr_array(
            (np.ones(len(cols)), (self.audience_of[cols], cols)),
            shape=(len(self.audience_size), n),
        )
        product = sp.csr_array(self.incidence @ to_candidate)
        product.sort_indices()
        return product

    def overlap(self) -> sp.csr_array:
        """(A, A) customers shared by each pair of distinct audiences."""
        weighted = sp.csr_array(self.incidence.multiply(self.pattern_size[:, None]))
        return sp.csr_array(self.incidence.T @ weighted)


def contact_load(audiences: Sequence[IntArray | None], population: int) -> ContactLoad:
    """Group the population by the audiences reaching it (see the module docstring)."""
    audience_of = np.full(len(audiences), -1, dtype=np.int64)
    distinct: list[IntArray] = []
    by_object: dict[int, int] = {}
    by_content: dict[bytes, int] = {}
    for j, rows in enumerate(audiences):
        if rows is None:
            continue
        known = by_object.get(id(rows))
        if known is None:
            clean = _clean_rows(rows, population, j)
            digest = hashlib.blake2b(clean.tobytes(), digest_size=16).digest()
            known = by_content.setdefault(digest, len(distinct))
            if known == len(distinct):
                distinct.append(clean)
            by_object[id(rows)] = known
        audience_of[j] = known
    keys = np.random.default_rng(20_251_124).integers(
        1, np.iinfo(np.int64).max, size=len(distinct), dtype=np.int64
    )
    signature = np.zeros(population, dtype=np.uint64)
    for a, rows in enumerate(distinct):
        signature[rows] += np.uint64(keys[a])  # wraps modulo 2**64: a set hash
    reached = np.flatnonzero(signature)
    codes, first, inverse, counts = np.unique(
        signature[reached], return_index=True, return_inverse=True, return_counts=True
    )
    pattern_of = np.full(population, -1, dtype=np.int64)
    pattern_of[reached] = inverse
    is_rep = np.zeros(population, dtype=np.bool_)
    is_rep[reached[first]] = True
    pat_parts: list[IntArray] = []
    aud_parts: list[IntArray] = []
    for a, rows in enumerate(distinct):
        reps = rows[is_rep[rows]]
        pat_parts.append(pattern_of[reps])
        aud_parts.append(np.full(len(reps), a, dtype=np.int64))
    pat = np.concatenate(pat_parts) if pat_parts else np.zeros(0, dtype=np.int64)
    aud = np.concatenate(aud_parts) if aud_parts else np.zeros(0, dtype=np.int64)
    incidence = sp.csr_array((np.ones(len(pat)), (pat, aud)), shape=(len(codes), len(distinct)))
    sizes = np.asarray([len(r) for r in distinct], dtype=np.int64)
    return ContactLoad(audience_of, sizes, counts.astype(np.int64), incidence)


def _clean_rows(rows: IntArray, population: int, j: int) -> IntArray:
    """Row positions as sorted distinct int64, or ``DomainError`` naming the candidate."""
    values = np.asarray(rows)
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
        raise DomainError(f"audience of candidate {j}: expected a 1-d integer array")
    values = values.astype(np.int64, copy=False)
    if len(values) and (values.min() < 0 or values.max() >= population):
        raise DomainError(f"audience of candidate {j}: rows outside [0, {population})")
    if len(values) > 1 and not np.all(values[1:] > values[:-1]):
        values = np.unique(values)
    return values
