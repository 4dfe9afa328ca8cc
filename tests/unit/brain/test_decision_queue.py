"""The human decision queue: approve verdicts only, value x urgency, merged, debt metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mios.brain.decision_queue import PendingDecision, Urgency, build_queue, decision_debt
from mios.domain.governance import Finding, FindingSeverity, Role, Verdict, VerdictEffect
from mios.errors import DomainError

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)


def pending(
    action: str,
    content: str,
    value: float,
    *,
    effect: str = "approve",
    age_h: float = 1,
    due_h: float | None = None,
    role: Role = Role.BRAND,
) -> PendingDecision:
    if effect == "approve":
        finding = Finding("brand.tone", f"{action} needs a brand check", FindingSeverity.APPROVE)
        verdict = Verdict(action, content, VerdictEffect.APPROVE, (finding,), frozenset({role}), 1)
    else:
        verdict = Verdict(action, content, VerdictEffect.ALLOW)
    return PendingDecision(
        action,
        f"prop-{action}",
        content,
        verdict,
        value,
        opened_at=NOW - timedelta(hours=age_h),
        deadline=None if due_h is None else NOW + timedelta(hours=due_h),
    )


def test_ranked_by_value_times_urgency_and_allowed_actions_stay_out() -> None:
    items = build_queue(
        [
            pending("a", "h1", 100),
            pending("b", "h2", 60, due_h=12),  # near deadline: urgency 1 + 3 * (1 - 0.5/7)
            pending("c", "h3", 500, effect="allow"),
            pending("d", "h4", 90),
        ],
        now=NOW,
    )
    assert [i.action_ids for i in items] == [("b",), ("a",), ("d",)]
    assert items[0].urgency == pytest.approx(1 + 3 * (1 - 0.5 / 7))
    assert items[0].score == pytest.approx(60 * items[0].urgency)
    assert items[1].urgency == 1.0


def test_same_content_merges_into_one_item() -> None:
    items = build_queue(
        [
            pending("a", "same", 100, age_h=5, due_h=48, role=Role.BRAND),
            pending("b", "same", 140, age_h=2, due_h=24, role=Role.LEGAL),
        ],
        now=NOW,
    )
    assert len(items) == 1
    item = items[0]
    assert item.action_ids == ("a", "b")
    assert item.proposal_ids == ("prop-a", "prop-b")
    assert item.value == 140  # one of them runs, so the value is not summed
    assert item.opened_at == NOW - timedelta(hours=5)
    assert item.deadline == NOW + timedelta(hours=24)
    assert item.required_roles == frozenset({Role.BRAND, Role.LEGAL})
    assert item.findings == ("a needs a brand check", "b needs a brand check")


def test_overdue_items_get_the_full_boost() -> None:
    items = build_queue([pending("a", "h", 10, due_h=-1)], now=NOW, urgency=Urgency(max_boost=2))
    assert items[0].overdue
    assert items[0].urgency == 3.0


def test_decision_debt() -> None:
    items = build_queue(
        [
            pending("a", "1", 10, age_h=1),
            pending("b", "2", 20, age_h=3, due_h=-2),
            pending("c", "3", 30, age_h=10),
        ],
        now=NOW,
    )
    debt = decision_debt(items, now=NOW)
    assert debt.open_items == 3
    assert debt.oldest_age == timedelta(hours=10)
    assert debt.median_age == timedelta(hours=3)
    assert debt.value_waiting == 60
    assert debt.overdue == 1
    empty = decision_debt((), now=NOW)
    assert (empty.open_items, empty.oldest_age, empty.value_waiting) == (0, None, 0.0)


def test_a_verdict_for_other_content_is_refused() -> None:
    verdict = Verdict("a", "old-hash", VerdictEffect.ALLOW)
    with pytest.raises(DomainError, match="other content"):
        PendingDecision("a", "p", "new-hash", verdict, 1.0, NOW)
