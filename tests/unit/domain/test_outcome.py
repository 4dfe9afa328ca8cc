"""Outcomes and learnings: every validation rule, and how a learning is reviewed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.outcome import Learning, LearningStatus, Outcome, OutcomeKind
from mios.errors import DomainError

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
EUR = Money(Decimal("49.90"), "EUR")


def outcome(**overrides: Any) -> Outcome:
    fields: dict[str, Any] = {"id": "o1", "kind": OutcomeKind.CLICK, "at": T0}
    fields.update(overrides)
    return Outcome(**fields)


def learning(**overrides: Any) -> Learning:
    fields: dict[str, Any] = {
        "id": "l1",
        "insight": "lapsed customers open more at 18:00",
        "evidence": ("exp-1",),
        "confidence": 0.6,
        "created_at": T0,
    }
    fields.update(overrides)
    return Learning(**fields)


class TestOutcome:
    def test_an_attributed_click(self) -> None:
        made = outcome(action_id="a1", customer_id="c1", channel=ChannelName.EMAIL)
        assert (made.action_id, made.count, made.value) == ("a1", 1, None)

    def test_an_unattributed_conversion_is_a_baseline_event(self) -> None:
        assert outcome(kind=OutcomeKind.CONVERSION).action_id is None

    def test_a_conversion_may_carry_revenue(self) -> None:
        assert outcome(kind=OutcomeKind.CONVERSION, value=EUR).value == EUR

    @pytest.mark.parametrize("kind", [OutcomeKind.REVENUE, OutcomeKind.SPEND])
    def test_money_kinds_need_a_value(self, kind: OutcomeKind) -> None:
        with pytest.raises(DomainError, match=f"a {kind} outcome needs a value"):
            outcome(kind=kind)

    @pytest.mark.parametrize(
        "kind",
        [
            OutcomeKind.DELIVERED,
            OutcomeKind.OPEN,
            OutcomeKind.CLICK,
            OutcomeKind.UNSUBSCRIBE,
            OutcomeKind.COMPLAINT,
            OutcomeKind.INCIDENT,
        ],
    )
    def test_count_kinds_carry_no_money(self, kind: OutcomeKind) -> None:
        with pytest.raises(DomainError, match="carries no money"):
            outcome(kind=kind, value=EUR)

    def test_spend_cannot_be_negative(self) -> None:
        with pytest.raises(DomainError, match="spend must be >= 0"):
            outcome(kind=OutcomeKind.SPEND, value=-EUR)

    def test_revenue_may_be_negative_for_a_refund(self) -> None:
        assert outcome(kind=OutcomeKind.REVENUE, value=-EUR).value == -EUR

    def test_count_is_at_least_one(self) -> None:
        assert outcome(kind=OutcomeKind.DELIVERED, count=5000).count == 5000
        with pytest.raises(DomainError, match="count must be >= 1"):
            outcome(count=0)

    def test_id_is_required(self) -> None:
        with pytest.raises(DomainError, match="needs an id"):
            outcome(id=" ")

    def test_naive_time_is_refused(self) -> None:
        with pytest.raises(DomainError, match="outcome time"):
            outcome(at=datetime(2025, 3, 1))

    def test_attributes_are_copied(self) -> None:
        attrs = {"link": "hero"}
        made = outcome(attributes=attrs)
        attrs["link"] = "footer"
        assert made.attributes == {"link": "hero"}


class TestLearning:
    def test_a_new_learning_is_proposed(self) -> None:
        made = learning(evidence=["exp-1", "o-7"])
        assert made.status is LearningStatus.PROPOSED
        assert made.evidence == ("exp-1", "o-7")
        assert made.reviewed_at is None

    def test_insight_is_required(self) -> None:
        with pytest.raises(DomainError, match="insight"):
            learning(insight="")

    @pytest.mark.parametrize("evidence", [(), ("exp-1", " ")])
    def test_evidence_is_required(self, evidence: tuple[str, ...]) -> None:
        with pytest.raises(DomainError, match="evidence"):
            learning(evidence=evidence)

    @pytest.mark.parametrize("confidence", [-0.1, 1.1, float("nan")])
    def test_confidence_is_a_probability(self, confidence: float) -> None:
        with pytest.raises(DomainError, match="confidence"):
            learning(confidence=confidence)

    def test_id_is_required(self) -> None:
        with pytest.raises(DomainError, match="needs an id"):
            learning(id="")

    def test_naive_created_at_is_refused(self) -> None:
        with pytest.raises(DomainError, match="created_at"):
            learning(created_at=datetime(2025, 3, 1))

    def test_reviewed_at_goes_with_a_review(self) -> None:
        with pytest.raises(DomainError, match="reviewed_at"):
            learning(reviewed_at=T0)
        with pytest.raises(DomainError, match="reviewed_at"):
            learning(status=LearningStatus.VALIDATED)

    def test_a_review_cannot_precede_creation(self) -> None:
        with pytest.raises(DomainError, match="before it was created"):
            learning(status=LearningStatus.VALIDATED, reviewed_at=T0 - timedelta(days=1))

    def test_validating_returns_a_new_learning_with_the_new_evidence(self) -> None:
        original = learning()
        later = T0 + timedelta(days=7)
        checked = original.validated(later, ["exp-2", "exp-1", "exp-2"], confidence=0.9)
        assert checked.status is LearningStatus.VALIDATED
        assert checked.evidence == ("exp-1", "exp-2")
        assert (checked.confidence, checked.reviewed_at) == (0.9, later)
        assert original.status is LearningStatus.PROPOSED
        assert original.evidence == ("exp-1",)

    def test_a_validated_learning_can_be_refuted_later(self) -> None:
        checked = learning().validated(T0, ["exp-2"])
        refuted = checked.refuted(T0 + timedelta(days=30), ["exp-3"], confidence=0.1)
        assert refuted.status is LearningStatus.REFUTED
        assert refuted.confidence == 0.1
        assert refuted.evidence == ("exp-1", "exp-2", "exp-3")

    def test_a_refuted_learning_is_final(self) -> None:
        refuted = learning().refuted(T0, ["exp-2"])
        with pytest.raises(DomainError, match="record a new learning"):
            refuted.validated(T0, ["exp-3"])

    def test_a_review_needs_new_evidence(self) -> None:
        with pytest.raises(DomainError, match="needs new evidence"):
            learning().validated(T0, ["exp-1"])

    def test_a_review_time_must_be_aware(self) -> None:
        with pytest.raises(DomainError, match="reviewed_at"):
            learning().validated(datetime(2025, 3, 2), ["exp-2"])

    def test_a_review_keeps_the_confidence_unless_given(self) -> None:
        assert learning().validated(T0, ["exp-2"]).confidence == 0.6

    def test_model_updates_are_recorded(self) -> None:
        updated = learning(model_updates=["fit-1"]).with_model_updates("curve-2")
        assert updated.model_updates == ("fit-1", "curve-2")
