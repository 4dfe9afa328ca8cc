"""Conflicts between the proposals of one cycle: what agents ask for that cannot all happen.

Four kinds, each naming the proposals involved and the reason:

- ``contact_cap``: customers that the cycle's messages would reach more often than a channel's
  cap (or the global cap) allows; counted per pattern of audiences (see ``arbitration_model``),
  which is the same as counting contacts per customer and keeps a million customers cheap.
- ``budget``: the spend asked for on a channel (or in total) is above what the cycle may commit.
- ``contradiction``: two different offers (``content.offer_id`` or a ``discount`` parameter) to
  the same or overlapping audiences (at least ``overlap_share`` of the smaller one), two
  different budgets set for one channel, or bid moves in opposite directions on one channel.
- ``duplicate``: the same kind, channel, audience, content, spend and parameters proposed more
  than once (by one agent or several).

Contradictions are exclusions between *nodes*: proposals that say the same thing (one offer to
one audience, one budget for one channel, one bid direction) share a node and may all run, but
two nodes joined by an edge may not both be used. Duplicates are cliques: at most one runs.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

import numpy as np
import scipy.sparse as sp

from mios.brain.arbitration_model import (
    BudgetLimits,
    Candidates,
    ContactCaps,
    ContactLoad,
    cents_down,
    contact_load,
    from_cents,
)
from mios.domain.canonical import canonical_hash
from mios.domain.channel import ChannelName
from mios.domain.proposal import ActionKind, Proposal
from mios.errors import DomainError
from mios.types import IntArray

#: Parameters that carry a discount, an offer by another name.
DISCOUNT_KEYS = ("discount", "discount_pct")
#: Parameters whose sign says which way a bid moves.
BID_KEYS = ("change_pct", "bid_change_pct", "bid_change")


class ConflictKind(StrEnum):
    CONTACT_CAP = "contact_cap"
    BUDGET = "budget"
    CONTRADICTION = "contradiction"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Conflict:
    """Proposals that cannot all run, and why. ``customers`` counts customers over a cap;
    ``channel`` is ``None`` for the global cap and the total budget."""

    kind: ConflictKind
    proposals: tuple[str, ...]
    reason: str
    channel: ChannelName | None = None
    customers: int = 0


@dataclass(frozen=True, eq=False)
class CapRows:
    """Patterns of customers that one cap could see exceeded: one row per pattern (P_c, n)."""

    channel: ChannelName | None
    cap: int
    matrix: sp.csr_array
    customers: IntArray


@dataclass(frozen=True, eq=False)
class ConflictReport:
    """Every conflict found, plus the structure the portfolio selection needs.

    node_of (n,) int64: each candidate's exclusion node, -1 for none; node_edges (m, 2) int64
    pairs of nodes that may not both be used; duplicate_groups: candidate positions of which at
    most one may run; cap_rows: the patterns that could break each cap.
    """

    conflicts: tuple[Conflict, ...]
    load: ContactLoad
    node_of: IntArray
    node_edges: IntArray
    duplicate_groups: tuple[IntArray, ...]
    cap_rows: tuple[CapRows, ...]
    node_labels: tuple[str, ...]

    def by_kind(self, kind: ConflictKind) -> tuple[Conflict, ...]:
        return tuple(c for c in self.conflicts if c.kind is kind)


def find_conflicts(
    proposals: Sequence[Proposal],
    candidates: Candidates,
    *,
    caps: ContactCaps,
    limits: BudgetLimits,
    overlap_share: float = 0.5,
    load: ContactLoad | None = None,
) -> ConflictReport:
    """Every conflict among ``proposals`` (aligned with ``candidates`` by position)."""
    if len(proposals) != len(candidates):
        raise DomainError("find_conflicts: proposals and candidates differ in length")
    if not 0 < overlap_share <= 1:
        raise DomainError(f"overlap share must be in (0, 1], got {overlap_share}")
    load = load or contact_load(candidates.audiences, candidates.population)
    cap_rows, cap_conflicts = _contact_caps(candidates, load, caps)
    node_of, edges, labels, contradictions = _contradictions(proposals, load, overlap_share)
    groups, duplicates = _duplicates(proposals, load)
    conflicts = (
        *cap_conflicts,
        *_budgets(candidates, limits),
        *contradictions,
        *duplicates,
    )
    return ConflictReport(conflicts, load, node_of, edges, groups, cap_rows, labels)


def _contact_caps(
    cand: Candidates, load: ContactLoad, caps: ContactCaps
) -> tuple[tuple[CapRows, ...], list[Conflict]]:
    rows: list[CapRows] = []
    found: list[Conflict] = []
    limits: list[tuple[ChannelName | None, int]] = [
        *sorted(caps.per_channel.items()),
        *([(None, caps.total)] if caps.total is not None else []),
    ]
    for channel, cap in limits:
        members = cand.contacts.copy()
        if channel is not None:
            code = cand.channels.index(channel) if channel in cand.channels else -2
            members &= cand.channel_code == code
        if not members.any():
            continue
        reach = load.reach(members)
        over = np.flatnonzero(np.diff(reach.indptr) > cap)
        if not len(over):
            continue
        matrix = sp.csr_array(reach[over])
        customers = load.pattern_size[over]
        rows.append(CapRows(channel, cap, matrix, customers))
        involved = np.unique(matrix.indices)
        where = f"{channel} cap of {cap}" if channel else f"global cap of {cap}"
        found.append(
            Conflict(
                ConflictKind.CONTACT_CAP,
                tuple(cand.ids[j] for j in involved),
                f"{int(customers.sum()):,} customers would get more messages than the {where} "
                f"per cycle from {len(involved)} proposals",
                channel,
                int(customers.sum()),
            )
        )
    return tuple(rows), found


def _budgets(cand: Candidates, limits: BudgetLimits) -> list[Conflict]:
    currency = limits.currency
    if currency is None:
        return []
    found: list[Conflict] = []
    bounds: list[tuple[ChannelName | None, float]] = [
        (c, cents_down(m)) for c, m in sorted(limits.per_channel.items())
    ]
    if limits.total is not None:
        bounds.append((None, cents_down(limits.total)))
    for channel, bound in bounds:
        mask = cand.cost > 0
        if channel is not None:
            code = cand.channels.index(channel) if channel in cand.channels else -2
            mask &= cand.channel_code == code
        asked = float(cand.cost[mask].sum())
        if asked <= bound:
            continue
        where = f"the {channel} budget" if channel else "the total budget"
        found.append(
            Conflict(
                ConflictKind.BUDGET,
                tuple(cand.ids[j] for j in np.flatnonzero(mask)),
                f"{int(mask.sum())} proposals ask for {from_cents(asked, currency)}, above "
                f"{where} of {from_cents(bound, currency)}",
                channel,
            )
        )
    return found


def offer_of(proposal: Proposal) -> str | None:
    """The offer a proposal makes, as text: its offer id and/or its discount."""
    parts: list[str] = []
    if proposal.content is not None and proposal.content.offer_id:
        parts.append(f"offer {proposal.content.offer_id}")
    for key in DISCOUNT_KEYS:
        if key in proposal.parameters:
            parts.append(f"{key} {proposal.parameters[key]}")
    return ", ".join(parts) or None


def _node_key(p: Proposal, audience: int) -> tuple[Hashable, str, str] | None:
    """(key, group, label): nodes in one group with different keys exclude each other."""
    if p.kind is ActionKind.SET_BUDGET and p.channel is not None and p.spend is not None:
        return (("budget", p.channel, p.spend.amount), f"budget:{p.channel}", f"{p.spend}")
    if p.kind is ActionKind.ADJUST_BID and p.channel is not None:
        change = next((p.parameters[k] for k in BID_KEYS if k in p.parameters), None)
        try:
            sign = int(np.sign(float(change))) if change is not None else 0
        except (TypeError, ValueError):
            sign = 0
        if sign:
            campaign = str(p.parameters.get("campaign_id", ""))
            word = "raise" if sign > 0 else "lower"
            return (("bid", p.channel, campaign, sign), f"bid:{p.channel}:{campaign}", word)
    offer = offer_of(p)
    if offer is not None and audience >= 0:
        return (("offer", audience, offer), "offer", offer)
    return None


def _contradictions(
    proposals: Sequence[Proposal], load: ContactLoad, share: float
) -> tuple[IntArray, IntArray, tuple[str, ...], list[Conflict]]:
    node_of = np.full(len(proposals), -1, dtype=np.int64)
    nodes: dict[Hashable, int] = {}
    groups: list[str] = []
    labels: list[str] = []
    audience_of_node: list[int] = []
    for j, p in enumerate(proposals):
        found = _node_key(p, int(load.audience_of[j]))
        if found is None:
            continue
        key, group, label = found
        if key not in nodes:
            nodes[key] = len(groups)
            groups.append(group)
            labels.append(label)
            audience_of_node.append(int(load.audience_of[j]) if group == "offer" else -1)
        node_of[j] = nodes[key]
    members: list[list[int]] = [[] for _ in groups]
    for j in np.flatnonzero(node_of >= 0).tolist():
        members[int(node_of[j])].append(j)
    edges: list[tuple[int, int]] = []
    by_group: dict[str, list[int]] = {}
    for u, group in enumerate(groups):
        by_group.setdefault(group, []).append(u)
    for group, us in by_group.items():
        if group != "offer":
            edges.extend((u, v) for i, u in enumerate(us) for v in us[i + 1 :])
    overlaps: dict[tuple[int, int], int] = {}
    offer_nodes = by_group.get("offer", [])
    if offer_nodes:
        edges_offer, overlaps = _offer_edges(offer_nodes, audience_of_node, labels, load, share)
        edges.extend(edges_offer)
    conflicts = [
        _contradiction(proposals, members, labels, groups, u, v, overlaps) for u, v in edges
    ]
    edge_array = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    return node_of, edge_array, tuple(labels), conflicts


def _offer_edges(
    offer_nodes: list[int],
    audience_of_node: list[int],
    labels: list[str],
    load: ContactLoad,
    share: float,
) -> tuple[list[tuple[int, int]], dict[tuple[int, int], int]]:
    audiences = sorted({audience_of_node[u] for u in offer_nodes})
    position = {a: i for i, a in enumerate(audiences)}
    sub = sp.csr_array(load.incidence[:, audiences])
    weighted = sp.csr_array(sub.multiply(load.pattern_size[:, None]))
    shared = sp.coo_array(sub.T @ weighted)
    sizes = load.audience_size[audiences]
    smaller = np.minimum(sizes[shared.row], sizes[shared.col])
    keep = (shared.data > 0) & (shared.data >= share * smaller) & (shared.row <= shared.col)
    close: dict[int, list[int]] = {}
    overlaps: dict[tuple[int, int], int] = {}
    for r, c, n in zip(shared.row[keep], shared.col[keep], shared.data[keep], strict=True):
        close.setdefault(int(r), []).append(int(c))
        overlaps[(audiences[int(r)], audiences[int(c)])] = int(n)
    by_audience: dict[int, list[int]] = {}
    for u in offer_nodes:
        by_audience.setdefault(position[audience_of_node[u]], []).append(u)
    edges: list[tuple[int, int]] = []
    for r, cols in close.items():
        for c in cols:
            for u in by_audience[r]:
                edges.extend(
                    (u, v) for v in by_audience[c] if labels[u] != labels[v] and (r != c or u < v)
                )
    return edges, overlaps


def _contradiction(
    proposals: Sequence[Proposal],
    members: list[list[int]],
    labels: list[str],
    groups: list[str],
    u: int,
    v: int,
    overlaps: dict[tuple[int, int], int],
) -> Conflict:
    ids = tuple(proposals[j].id for j in (*members[u], *members[v]))
    first, second = proposals[members[u][0]], proposals[members[v][0]]
    group = groups[u]
    if group.startswith("budget:"):
        reason = f"two budgets for {first.channel}: {labels[u]} and {labels[v]}"
    elif group.startswith("bid:"):
        reason = f"bids on {first.channel} move both ways: {labels[u]} and {labels[v]}"
    else:
        a, b = _audience_key(first), _audience_key(second)
        same = a == b
        where = f"the same audience ({a})" if same else f"overlapping audiences ({a}, {b})"
        reason = f"different offers to {where}: {labels[u]} vs {labels[v]}"
    return Conflict(ConflictKind.CONTRADICTION, ids, reason, first.channel)


def _audience_key(p: Proposal) -> str:
    audience = p.audience
    if audience is None:
        return "no audience"
    if audience.segment_id is not None:
        return f"segment {audience.segment_id}"
    return f"{len(audience.customer_ids):,} listed customers"


def _duplicates(
    proposals: Sequence[Proposal], load: ContactLoad
) -> tuple[tuple[IntArray, ...], list[Conflict]]:
    seen: dict[str, list[int]] = {}
    for j, p in enumerate(proposals):
        a = int(load.audience_of[j])
        seen.setdefault(_fingerprint(p, a), []).append(j)
    groups = tuple(np.asarray(js, dtype=np.int64) for js in seen.values() if len(js) > 1)
    conflicts = [
        Conflict(
            ConflictKind.DUPLICATE,
            tuple(proposals[int(j)].id for j in js),
            f"{len(js)} proposals ask for the same {proposals[int(js[0])].kind} "
            f"(same channel, audience and content)",
            proposals[int(js[0])].channel,
        )
        for js in groups
    ]
    return groups, conflicts


def _fingerprint(p: Proposal, audience: int) -> str:
    """What would reach the outside world; the agent, rationale and estimates do not count."""
    body: dict[str, Any] = {
        "kind": p.kind,
        "channel": p.channel,
        "audience": audience if audience >= 0 else p.audience,
        "content": p.content,
        "spend": p.spend.amount.normalize() if p.spend is not None else None,
        "currency": p.spend.currency if p.spend is not None else None,
        "parameters": p.parameters,
    }
    if isinstance(body["spend"], Decimal):
        body["spend"] = str(body["spend"])
    return canonical_hash(body)
