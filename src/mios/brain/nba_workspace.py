"""Next-best action inputs from a workspace: its offers x channels as candidates, its customers
as an ``Audience``, its contact policy and channel capacities as ``Limits``, and response priors
from its channel history.

- Channels: the enabled ones that carry per-customer consent (email, sms, push, and customer
  list audiences on paid social and display).
- Candidates: every offer active on the day x every such channel the offer allows. The value of
  a response is the offer's average order value x its margin; the cost of a contact is the
  channel's ``cost_per_contact``.
- Cells: each customer belongs to the first workspace segment (in file order) whose rule it
  matches, or to ``other``; responses are modelled per (segment, channel, offer).
- Offer rules: an offer with ``eligible_segments`` is open only to members of one of them.
- Contact policy: the workspace's weekly caps per channel and across channels. The context
  records no per-customer contacts or cooldowns yet, so every customer starts the week at zero;
  callers with that data pass it in ``Audience.contacts`` / ``Audience.cooldown``.
- Priors: a ``ResponseModel`` fitted on the channel history (conversions out of impressions, per
  channel), so each cell starts at its channel's rate with the uncertainty of a cell never seen.
  Without history every cell starts at Beta(1, 99).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from mios.brain.nba_inputs import Audience, Candidate, Limits
from mios.brain.response import ResponseModel
from mios.domain.channel import CONSENT_CHANNELS
from mios.domain.customer_table import CustomerTable
from mios.domain.history import ChannelHistory
from mios.domain.workspace import Workspace
from mios.errors import ModelInputError
from mios.types import FloatArray

OTHER = "other"
ANY = "*"
_FLAT_PRIOR = (1.0, 99.0)


@dataclass(frozen=True, eq=False)
class WorkspaceNba:
    candidates: tuple[Candidate, ...]
    limits: Limits
    offers: tuple[str, ...]
    segments: tuple[str, ...]
    audience: Audience
    alpha: FloatArray  # (S, C)
    beta: FloatArray  # (S, C)
    priors: tuple[dict[str, Any], ...]  # per channel: where its response prior came from
    inactive_offers: tuple[str, ...]


def from_workspace(
    workspace: Workspace,
    customers: CustomerTable,
    history: ChannelHistory,
    *,
    on: date,
    budget: float | None = None,
) -> WorkspaceNba:
    """Everything ``NextBestAction`` needs for the workspace's customers on day ``on``."""
    channels = tuple(
        c.name.value for c in workspace.channels if c.enabled and c.name in CONSENT_CHANNELS
    )
    active = [o for o in workspace.offers if o.active_on(on)]
    inactive = tuple(o.id for o in workspace.offers if not o.active_on(on))
    candidates = tuple(
        Candidate(
            id=f"{offer.id}@{channel}",
            channel=channel,
            offer=offer.id,
            value=float(offer.average_order_value.amount) * offer.margin,
            cost=_cost(workspace, channel),
        )
        for offer in active
        for channel in channels
        if not offer.channels or channel in {c.value for c in offer.channels}
    )
    if not candidates:
        raise ModelInputError(
            f"no candidate actions on {on.isoformat()}: no offer is active on a channel with "
            "per-customer consent; add an offer or pick another day"
        )
    offers = tuple(o.id for o in active)
    contact = workspace.guardrails.contact
    caps: dict[str, int] = {
        str(name.value): cap.week
        for name, cap in contact.per_channel.items()
        if name.value in channels and cap.week is not None
    }
    limits = Limits(
        channels,
        channel_caps=caps,
        total_cap=contact.all_channels.week,
        budget=budget,
        capacity={
            c.name.value: c.daily_capacity
            for c in workspace.channels
            if c.name.value in channels and c.daily_capacity is not None
        },
    )
    segments, codes = _segments(workspace, customers)
    members = {s.id: s.mask(customers) for s in workspace.segments}
    offer_ok = np.ones((len(customers), len(active)), dtype=np.bool_)
    for j, offer in enumerate(active):
        if offer.eligible_segments:
            allowed = np.zeros(len(customers), dtype=np.bool_)
            for segment_id in offer.eligible_segments:
                allowed |= members[segment_id]
            offer_ok[:, j] = allowed
    consent = np.column_stack([customers.granted(_channel(c)) for c in channels])
    audience = Audience(
        segment=codes,
        consent=consent.reshape(len(customers), len(channels)),
        suppressed=customers.suppressed,
        offer_ok=offer_ok,
    )
    alpha, beta, priors = _priors(history, segments, candidates, channels)
    return WorkspaceNba(
        candidates, limits, offers, segments, audience, alpha, beta, priors, inactive
    )


def _channel(name: str) -> Any:
    return next(c for c in CONSENT_CHANNELS if c.value == name)


def _cost(workspace: Workspace, channel: str) -> float:
    config = workspace.channel(_channel(channel))
    return 0.0 if config.cost_per_contact is None else float(config.cost_per_contact.amount)


def _segments(workspace: Workspace, customers: CustomerTable) -> tuple[tuple[str, ...], Any]:
    """The first matching segment per customer, in file order; ``other`` for the rest."""
    ids = tuple(s.id for s in workspace.segments)
    codes = np.full(len(customers), len(ids), dtype=np.int64)
    for i in range(len(ids) - 1, -1, -1):  # last to first, so the first match wins
        codes[workspace.segments[i].mask(customers)] = i
    return (*ids, OTHER), codes


def _priors(
    history: ChannelHistory,
    segments: tuple[str, ...],
    candidates: tuple[Candidate, ...],
    channels: tuple[str, ...],
) -> tuple[FloatArray, FloatArray, tuple[dict[str, Any], ...]]:
    shape = (len(segments), len(candidates))
    rows = [w for w in history.weeks if w.impressions > 0]
    if not rows:
        notes = tuple(
            {"channel": c, "source": "none", "prior_mean": _FLAT_PRIOR[0] / sum(_FLAT_PRIOR)}
            for c in channels
        )
        return np.full(shape, _FLAT_PRIOR[0]), np.full(shape, _FLAT_PRIOR[1]), notes
    model = ResponseModel().fit(
        [(ANY, w.channel.value, ANY, ANY) for w in rows],
        [w.impressions for w in rows],
        [min(w.conversions, w.impressions) for w in rows],
    )
    cells = [(s, c.channel, c.offer, c.angle) for s in segments for c in candidates]
    alpha, beta = model.posterior(cells)
    found: list[dict[str, Any]] = []
    for channel in channels:
        seen = [w for w in rows if w.channel.value == channel]
        prior_mean = float(model.predict([(OTHER, channel, ANY, ANY)])[0])
        found.append(
            {
                "channel": channel,
                "source": "history" if seen else "history of other channels",
                "weeks": len(seen),
                "impressions": sum(w.impressions for w in seen),
                "conversions": sum(w.conversions for w in seen),
                "prior_mean": prior_mean,
            }
        )
    return alpha.reshape(shape), beta.reshape(shape), tuple(found)
