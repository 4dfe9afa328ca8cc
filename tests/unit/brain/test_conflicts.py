"""Conflict detection: contact caps counted per customer, budgets, contradictions, duplicates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from mios.brain.arbitration_model import (
    BudgetLimits,
    Candidates,
    ContactCaps,
    cents_up,
    contact_load,
)
from mios.brain.conflicts import ConflictKind, find_conflicts
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.proposal import ActionKind, Audience, Content, Proposal
from mios.errors import DomainError

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)
E, S = ChannelName.EMAIL, ChannelName.SMS
CHANNELS = (E, S, ChannelName.PAID_SEARCH)


def eur(x: float) -> Money:
    return Money(Decimal(str(x)), "EUR")


def send(
    pid: str,
    channel: ChannelName = E,
    segment: str = "s",
    body: str = "b",
    offer: str | None = None,
    spend: float = 0,
    agent: str = "crm",
    **parameters: object,
) -> Proposal:
    return Proposal(
        pid,
        agent,
        ActionKind.SEND_MESSAGE,
        1,
        "why",
        NOW,
        channel,
        Audience(segment_id=segment),
        Content("hi", body, offer_id=offer),
        eur(spend),
        parameters=parameters,
    )


def cand(
    props: list[Proposal], audiences: Sequence[np.ndarray | None], population: int
) -> Candidates:
    return Candidates(
        ids=tuple(p.id for p in props),
        value=np.ones(len(props)),
        cost=np.asarray([cents_up(p.spend) if p.spend else 0.0 for p in props]),
        channel_code=np.asarray([CHANNELS.index(p.channel) if p.channel else -1 for p in props]),
        contacts=np.asarray([p.kind is ActionKind.SEND_MESSAGE for p in props]),
        audiences=tuple(audiences),
        population=population,
        channels=CHANNELS,
    )


def test_contact_cap_conflicts_match_a_per_customer_count() -> None:
    rng = np.random.default_rng(4)
    n = 5_000
    segments = [np.sort(rng.choice(n, rng.integers(100, 3_000), replace=False)) for _ in range(12)]
    props, audiences = [], []
    for j in range(40):
        s = int(rng.integers(12))
        props.append(send(f"p{j}", (E, S)[j % 2], segment=f"s{s}", body=str(j)))
        audiences.append(segments[s])
    c = cand(props, audiences, n)
    caps = ContactCaps({E: 3, S: 2}, total=4)
    report = find_conflicts(props, c, caps=caps, limits=BudgetLimits())
    found = {k.channel: k for k in report.by_kind(ConflictKind.CONTACT_CAP)}
    for channel, cap in [(E, 3), (S, 2), (None, 4)]:
        picked = [j for j in range(40) if channel is None or props[j].channel is channel]
        counts = np.bincount(np.concatenate([audiences[j] for j in picked]), minlength=n)
        over = counts > cap
        assert found[channel].customers == int(over.sum())
        involved = {props[j].id for j in picked if over[audiences[j]].any()}
        assert set(found[channel].proposals) == involved
        assert f"{int(over.sum()):,} customers" in found[channel].reason


def test_patterns_group_customers_by_the_audiences_reaching_them() -> None:
    a = np.asarray([0, 1, 2, 3])
    b = np.asarray([2, 3, 4])
    load = contact_load([a, b, a, None], population=6)
    assert load.audience_of.tolist() == [0, 1, 0, -1]
    assert sorted(load.pattern_size.tolist()) == [1, 2, 2]  # {a}, {a, b}, {b}
    assert load.overlap().toarray().tolist() == [[4, 2], [2, 3]]


def test_audience_rows_outside_the_population_are_refused() -> None:
    with pytest.raises(DomainError, match="candidate 0"):
        contact_load([np.asarray([0, 9])], population=5)


def test_budget_conflicts_per_channel_and_in_total() -> None:
    props = [
        send("a", E, spend=60),
        send("b", S, spend=30, body="2"),
        send("c", S, spend=30, body="3"),
    ]
    limits = BudgetLimits(eur(100), {S: eur(50)})
    report = find_conflicts(props, cand(props, [None] * 3, 1), caps=ContactCaps(), limits=limits)
    by_channel = {c.channel: c for c in report.by_kind(ConflictKind.BUDGET)}
    assert set(by_channel[S].proposals) == {"b", "c"}
    assert "60.00 EUR, above the sms budget of 50.00 EUR" in by_channel[S].reason
    assert set(by_channel[None].proposals) == {"a", "b", "c"}


def test_different_offers_to_one_segment_contradict_and_same_offers_do_not() -> None:
    seg = np.arange(10)
    props = [
        send("a", offer="o1", body="1"),
        send("b", offer="o2", body="2", agent="ads"),
        send("c", offer="o1", body="3"),
        send("d", segment="t", offer="o3", body="4"),
        send("e", E, segment="u", body="5", discount="20%"),
    ]
    far = np.arange(100, 110)
    overlapping = np.arange(0, 30)  # shares 10 of its 30 with seg: 100% of the smaller one
    report = find_conflicts(
        props,
        cand(props, [seg, seg, seg, far, overlapping], 200),
        caps=ContactCaps(),
        limits=BudgetLimits(),
    )
    pairs = {frozenset(c.proposals) for c in report.by_kind(ConflictKind.CONTRADICTION)}
    assert frozenset({"a", "c", "b"}) in pairs  # o1 (a, c) vs o2 (b)
    assert not any("d" in p for p in pairs)  # its audience does not overlap
    assert frozenset({"a", "c", "e"}) in pairs  # a discount to overlapping customers
    reason = next(
        c.reason
        for c in report.by_kind(ConflictKind.CONTRADICTION)
        if set(c.proposals) == {"a", "c", "b"}
    )
    assert reason == "different offers to the same audience (segment s): offer o1 vs offer o2"


def test_two_budgets_for_one_channel_and_opposite_bids_contradict() -> None:
    search = ChannelName.PAID_SEARCH

    def budget(pid: str, amount: int) -> Proposal:
        return Proposal(pid, "ads", ActionKind.SET_BUDGET, 1, "why", NOW, search, spend=eur(amount))

    def bid(pid: str, change: float) -> Proposal:
        return Proposal(
            pid,
            "ads",
            ActionKind.ADJUST_BID,
            1,
            "why",
            NOW,
            search,
            parameters={"change_pct": change},
        )

    props = [budget("b1", 1_000), budget("b2", 2_000), bid("up", 10), bid("down", -5)]
    report = find_conflicts(
        props, cand(props, [None] * 4, 1), caps=ContactCaps(), limits=BudgetLimits()
    )
    reasons = sorted(c.reason for c in report.by_kind(ConflictKind.CONTRADICTION))
    assert reasons == [
        "bids on paid_search move both ways: raise and lower",
        "two budgets for paid_search: 1,000.00 EUR and 2,000.00 EUR",
    ]


def test_duplicates_ignore_the_agent_and_rationale() -> None:
    seg = np.arange(5)
    props = [send("a", body="same"), send("b", body="same", agent="other"), send("c", body="new")]
    report = find_conflicts(
        props, cand(props, [seg, seg.copy(), seg], 5), caps=ContactCaps(), limits=BudgetLimits()
    )
    dups = report.by_kind(ConflictKind.DUPLICATE)
    assert [d.proposals for d in dups] == [("a", "b")]
    assert [g.tolist() for g in report.duplicate_groups] == [[0, 1]]
