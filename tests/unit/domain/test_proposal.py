"""Proposals and decisions: every validation rule, one test each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.proposal import (
    ActionKind,
    Audience,
    Content,
    Decision,
    DecisionStatus,
    Forecast,
    Interval,
    Proposal,
    RiskTier,
)
from mios.errors import DomainError

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
SEGMENT = Audience(segment_id="lapsed")
BODY = Content(subject="We miss you", body="Come back for 10% off.", claims=("c1",))


def proposal(**overrides: Any) -> Proposal:
    fields: dict[str, Any] = {
        "id": "p1",
        "agent_id": "crm",
        "kind": ActionKind.SEND_MESSAGE,
        "snapshot_version": 3,
        "rationale": "lapsed customers respond to win-back offers",
        "created_at": T0,
        "channel": ChannelName.EMAIL,
        "audience": SEGMENT,
        "content": BODY,
    }
    fields.update(overrides)
    return Proposal(**fields)


def decision(**overrides: Any) -> Decision:
    fields: dict[str, Any] = {
        "proposal_id": "p1",
        "snapshot_version": 3,
        "status": DecisionStatus.SELECTED,
        "forecast": Forecast("revenue", 1200.0, Interval(800.0, 1700.0)),
        "expected_value": 950.0,
        "confidence": 0.7,
        "risk": RiskTier.LOW,
        "reasons": ("highest expected profit per contact",),
        "decided_at": T0,
    }
    fields.update(overrides)
    return Decision(**fields)


class TestInterval:
    def test_contains_is_inclusive_and_width_is_the_span(self) -> None:
        interval = Interval(1.0, 3.0, level=0.8)
        assert interval.contains(1.0)
        assert interval.contains(3.0)
        assert not interval.contains(3.01)
        assert interval.width == 2.0

    def test_a_point_interval_is_allowed(self) -> None:
        assert Interval(2.0, 2.0).width == 0.0

    def test_low_above_high_is_refused(self) -> None:
        with pytest.raises(DomainError, match=r"low 3\.0 is above high 1\.0"):
            Interval(3.0, 1.0)

    @pytest.mark.parametrize("level", [0.0, 1.0, -0.5, 1.5])
    def test_level_must_be_strictly_between_zero_and_one(self, level: float) -> None:
        with pytest.raises(DomainError, match="level"):
            Interval(0.0, 1.0, level=level)

    @pytest.mark.parametrize("bound", [float("nan"), float("inf")])
    def test_bounds_must_be_finite(self, bound: float) -> None:
        with pytest.raises(DomainError, match="finite"):
            Interval(0.0, bound)


class TestForecast:
    def test_kpi_is_required(self) -> None:
        with pytest.raises(DomainError, match="KPI"):
            Forecast(" ", 1.0, Interval(0.0, 2.0))

    def test_mean_must_be_finite(self) -> None:
        with pytest.raises(DomainError, match="finite"):
            Forecast("revenue", float("nan"), Interval(0.0, 2.0))


class TestAudience:
    def test_nothing_at_all_is_refused(self) -> None:
        with pytest.raises(DomainError, match="segment id, customer ids or an estimated size"):
            Audience()

    def test_an_estimate_alone_is_an_unaddressed_audience(self) -> None:
        audience = Audience(estimated_size=50_000)
        assert not audience.is_addressed
        assert audience.size == 50_000

    def test_an_explicit_list_is_exact_and_wins_over_an_estimate(self) -> None:
        audience = Audience(customer_ids=["a", "b"], estimated_size=10)  # type: ignore[arg-type]
        assert audience.customer_ids == ("a", "b")
        assert audience.is_addressed
        assert audience.size == 2

    def test_a_segment_is_addressed_with_unknown_size(self) -> None:
        assert SEGMENT.is_addressed
        assert SEGMENT.size is None

    def test_blank_segment_is_refused(self) -> None:
        with pytest.raises(DomainError, match="segment id"):
            Audience(segment_id="  ")

    def test_blank_customer_id_is_refused(self) -> None:
        with pytest.raises(DomainError, match="customer ids must not be blank"):
            Audience(customer_ids=("a", ""))

    def test_a_customer_listed_twice_is_refused(self) -> None:
        with pytest.raises(DomainError, match="more than once"):
            Audience(customer_ids=("a", "a"))

    def test_negative_estimate_is_refused(self) -> None:
        with pytest.raises(DomainError, match=">= 0"):
            Audience(estimated_size=-1)


class TestContent:
    def test_body_is_required(self) -> None:
        with pytest.raises(DomainError, match="body"):
            Content(subject="Hi", body="   ")

    def test_blank_claim_id_is_refused(self) -> None:
        with pytest.raises(DomainError, match="claim"):
            Content(subject=None, body="text", claims=("c1", ""))


class TestProposal:
    def test_a_complete_send_is_accepted(self) -> None:
        made = proposal(evidence=["o1"], parameters={"send_hour": 9})
        assert made.evidence == ("o1",)
        assert made.parameters == {"send_hour": 9}

    def test_parameters_are_copied_so_the_caller_cannot_change_them(self) -> None:
        params = {"bid": 1.5}
        made = proposal(
            kind=ActionKind.ADJUST_BID, channel=ChannelName.PAID_SEARCH, parameters=params
        )
        params["bid"] = 99.0
        assert made.parameters == {"bid": 1.5}

    def test_naive_created_at_is_refused(self) -> None:
        with pytest.raises(DomainError, match="created_at must be timezone-aware"):
            proposal(created_at=datetime(2025, 3, 1, 9, 0))

    def test_an_aware_time_in_another_offset_is_stored_in_utc(self) -> None:
        paris = timezone(timedelta(hours=1))
        made = proposal(created_at=datetime(2025, 3, 1, 10, 0, tzinfo=paris))
        assert made.created_at == T0
        assert made.created_at.tzinfo is UTC

    def test_id_is_required(self) -> None:
        with pytest.raises(DomainError, match="needs an id"):
            proposal(id="")

    def test_agent_id_is_required(self) -> None:
        with pytest.raises(DomainError, match="agent id"):
            proposal(agent_id=" ")

    def test_snapshot_version_starts_at_one(self) -> None:
        with pytest.raises(DomainError, match="snapshot version"):
            proposal(snapshot_version=0)

    def test_rationale_is_required(self) -> None:
        with pytest.raises(DomainError, match="rationale"):
            proposal(rationale="")

    @pytest.mark.parametrize("missing", ["channel", "audience", "content"])
    def test_send_message_needs_channel_audience_and_content(self, missing: str) -> None:
        with pytest.raises(DomainError, match=f"send_message needs {missing}"):
            proposal(**{missing: None})

    def test_publish_content_needs_content(self) -> None:
        with pytest.raises(DomainError, match="publish_content needs content"):
            proposal(kind=ActionKind.PUBLISH_CONTENT, channel=ChannelName.CONTENT, content=None)

    def test_set_budget_needs_channel_and_spend(self) -> None:
        with pytest.raises(DomainError, match="set_budget needs channel, spend"):
            proposal(kind=ActionKind.SET_BUDGET, channel=None, audience=None, content=None)

    def test_set_budget_with_channel_and_spend_is_accepted(self) -> None:
        spend = Money(Decimal("2500"), "EUR")
        made = proposal(
            kind=ActionKind.SET_BUDGET, channel=ChannelName.PAID_SEARCH, spend=spend, content=None
        )
        assert made.spend == spend

    def test_adjust_bid_needs_a_channel(self) -> None:
        with pytest.raises(DomainError, match="adjust_bid needs channel"):
            proposal(kind=ActionKind.ADJUST_BID, channel=None, parameters={"bid": 1.2})

    def test_an_insight_needs_no_channel(self) -> None:
        made = proposal(kind=ActionKind.INSIGHT, channel=None, audience=None, content=None)
        assert made.channel is None

    def test_negative_spend_is_refused(self) -> None:
        with pytest.raises(DomainError, match="spend must be >= 0"):
            proposal(spend=Money(Decimal("-1"), "EUR"))

    def test_an_addressed_channel_cannot_target_a_bare_estimate(self) -> None:
        with pytest.raises(DomainError, match="give a segment or ids"):
            proposal(audience=Audience(estimated_size=1000))

    def test_unaddressed_media_may_target_an_estimate(self) -> None:
        made = proposal(channel=ChannelName.PAID_SEARCH, audience=Audience(estimated_size=1000))
        assert made.audience is not None
        assert made.audience.size == 1000


class TestDecision:
    def test_a_complete_decision_is_accepted(self) -> None:
        made = decision(conflicts=["p2"])
        assert made.conflicts == ("p2",)
        assert made.status is DecisionStatus.SELECTED

    def test_proposal_id_is_required(self) -> None:
        with pytest.raises(DomainError, match="proposal id"):
            decision(proposal_id="")

    def test_snapshot_version_starts_at_one(self) -> None:
        with pytest.raises(DomainError, match="snapshot version"):
            decision(snapshot_version=0)

    @pytest.mark.parametrize("confidence", [-0.01, 1.01, float("nan")])
    def test_confidence_is_a_probability(self, confidence: float) -> None:
        with pytest.raises(DomainError, match="confidence"):
            decision(confidence=confidence)

    def test_bounds_of_confidence_are_allowed(self) -> None:
        assert decision(confidence=0.0).confidence == 0.0
        assert decision(confidence=1.0).confidence == 1.0

    def test_expected_value_must_be_finite(self) -> None:
        with pytest.raises(DomainError, match="expected value"):
            decision(expected_value=float("inf"))

    def test_a_proposal_cannot_conflict_with_itself(self) -> None:
        with pytest.raises(DomainError, match="itself"):
            decision(conflicts=("p1",))

    def test_every_decision_gives_a_reason(self) -> None:
        with pytest.raises(DomainError, match="reason"):
            decision(reasons=())
        with pytest.raises(DomainError, match="reason"):
            decision(reasons=(" ",))

    def test_naive_decided_at_is_refused(self) -> None:
        with pytest.raises(DomainError, match="decided_at"):
            decision(decided_at=datetime(2025, 3, 1))
