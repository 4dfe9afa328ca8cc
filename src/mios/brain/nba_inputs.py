"""What next-best action decides over: candidate actions, the audience as arrays, and limits.

Shapes (n customers, C candidates, H channels, O offers, S segments)::

    Candidate           one action: channel, offer, angle, value, cost, context weight, lever
    Audience.segment    (n,)   int   index into the segments of the posteriors (0..S-1)
    Audience.consent    (n, H) bool  consent granted for each channel
    Audience.cooldown   (n, H) bool  in a cooldown on that channel (optional: nobody)
    Audience.suppressed (n,)   bool  suppressed customers get nothing (optional: nobody)
    Audience.offer_ok   (n, O) bool  the offer's rules let this customer have it (optional: all)
    Audience.contacts   (n, H) int   contacts this period so far per channel (optional: none)
    Audience.total_contacts (n,) int contacts this period on every channel (optional: the row
                                     sums of ``contacts``)
    Audience.value_multiplier (n,) float  scales the value term per customer, e.g. by expected
                                          customer value (optional: 1)
    Audience.keys       (n,)   int   stable per-customer keys for exploration draws (optional:
                                     the row numbers)

Channels and offers are named by ``Limits.channels`` / the order of ``offers``: column ``h`` of
``consent`` is ``channels[h]``; column ``o`` of ``offer_ok`` is ``offers[o]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from mios.errors import ModelInputError
from mios.types import BoolArray, FloatArray, IntArray


@dataclass(frozen=True)
class Candidate:
    """One action NBA may choose. ``value``: of one response (e.g. order value x margin).
    ``cost``: of one contact. ``weight``: the context weight. ``lever``: the business lever."""

    id: str
    channel: str
    offer: str
    angle: str = ""
    value: float = 0.0
    cost: float = 0.0
    weight: float = 1.0
    lever: float = 1.0

    def __post_init__(self) -> None:
        for name in ("value", "cost", "weight", "lever"):
            number = getattr(self, name)
            if not np.isfinite(number) or number < 0:
                raise ModelInputError.at(
                    f"must be a finite number >= 0, got {number}", field=f"{self.id}.{name}"
                )


@dataclass(frozen=True)
class Limits:
    """Contact policy and volume constraints.

    ``channel_caps``: most contacts per customer this period on a channel (absent: no cap).
    ``total_cap``: most contacts per customer this period on all channels together.
    ``budget``: most total cost of the chosen actions. ``capacity``: most actions per channel.
    """

    channels: tuple[str, ...]
    channel_caps: Mapping[str, int] = field(default_factory=dict)
    total_cap: int | None = None
    budget: float | None = None
    capacity: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(set(self.channels)) != len(self.channels):
            raise ModelInputError("limits: a channel is named twice")
        for what, caps in (("channel_caps", self.channel_caps), ("capacity", self.capacity)):
            for name, cap in caps.items():
                if name not in self.channels:
                    raise ModelInputError.at(f"unknown channel {name!r}", field=f"{what}.{name}")
                if cap < 0:
                    raise ModelInputError.at(f"must be >= 0, got {cap}", field=f"{what}.{name}")
        if self.total_cap is not None and self.total_cap < 0:
            raise ModelInputError.at(f"must be >= 0, got {self.total_cap}", field="total_cap")
        if self.budget is not None and not (np.isfinite(self.budget) and self.budget >= 0):
            raise ModelInputError.at(f"must be a number >= 0, got {self.budget}", field="budget")

    def cap_array(self) -> IntArray:
        """(H,) per-channel contact caps; no cap is the largest int32."""
        unbounded = np.iinfo(np.int32).max
        return np.asarray([self.channel_caps.get(c, unbounded) for c in self.channels], np.int64)

    def capacity_array(self) -> IntArray:
        unbounded = np.iinfo(np.int64).max
        return np.asarray([self.capacity.get(c, unbounded) for c in self.channels], np.int64)


@dataclass(frozen=True, eq=False)
class Audience:
    """The customers NBA decides for, as columns (see the module docstring)."""

    segment: IntArray
    consent: BoolArray
    cooldown: BoolArray | None = None
    suppressed: BoolArray | None = None
    offer_ok: BoolArray | None = None
    contacts: IntArray | None = None
    total_contacts: IntArray | None = None
    value_multiplier: FloatArray | None = None
    keys: IntArray | None = None

    def __len__(self) -> int:
        return int(self.segment.shape[0])

    def check(self, segments: int, channels: int, offers: int) -> None:
        """Raise ``ModelInputError`` naming the first column whose shape or values are wrong."""
        n = len(self)
        if self.segment.ndim != 1:
            raise ModelInputError.at("must be one-dimensional", field="segment")
        if n and (self.segment.min() < 0 or self.segment.max() >= segments):
            raise ModelInputError.at(f"codes must be in 0..{segments - 1}", field="segment")
        expected: dict[str, tuple[int, ...]] = {
            "consent": (n, channels),
            "cooldown": (n, channels),
            "suppressed": (n,),
            "offer_ok": (n, offers),
            "contacts": (n, channels),
            "total_contacts": (n,),
            "value_multiplier": (n,),
            "keys": (n,),
        }
        for name, shape in expected.items():
            array = getattr(self, name)
            if array is not None and array.shape != shape:
                raise ModelInputError.at(f"expected shape {shape}, got {array.shape}", field=name)
        if self.value_multiplier is not None:
            bad = np.flatnonzero(~np.isfinite(self.value_multiplier) | (self.value_multiplier < 0))
            if len(bad):
                raise ModelInputError.at(
                    f"must be a finite number >= 0, got {self.value_multiplier[bad[0]]}",
                    field=f"value_multiplier[{bad[0]}]",
                )
        for name in ("contacts", "total_contacts"):
            array = getattr(self, name)
            if array is not None and n and array.min() < 0:
                raise ModelInputError.at("contacts must be >= 0", field=name)


def candidate_matrix(
    candidates: tuple[Candidate, ...], channels: tuple[str, ...], offers: tuple[str, ...]
) -> tuple[IntArray, IntArray]:
    """(C,) channel index and (C,) offer index of every candidate."""
    if not candidates:
        raise ModelInputError("next-best action needs at least one candidate")
    ids = [c.id for c in candidates]
    if len(set(ids)) != len(ids):
        raise ModelInputError("two candidates share one id")
    try:
        channel = np.asarray([channels.index(c.channel) for c in candidates], dtype=np.int64)
    except ValueError:
        unknown = next(c for c in candidates if c.channel not in channels)
        raise ModelInputError.at(
            f"channel {unknown.channel!r} is not one of the limits' channels {channels}",
            field=f"{unknown.id}.channel",
        ) from None
    try:
        offer = np.asarray([offers.index(c.offer) for c in candidates], dtype=np.int64)
    except ValueError:
        unknown = next(c for c in candidates if c.offer not in offers)
        raise ModelInputError.at(
            f"offer {unknown.offer!r} is not one of {offers}", field=f"{unknown.id}.offer"
        ) from None
    return channel, offer
