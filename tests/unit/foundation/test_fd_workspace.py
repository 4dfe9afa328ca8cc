"""The workspace aggregate and the cross-references it checks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from mios.domain.brand import Brand, PostalAddress, SenderIdentity
from mios.domain.budget import Budget, BudgetPeriod
from mios.domain.channel import ChannelConfig, ChannelName
from mios.domain.cycle import Playbook
from mios.domain.money import Money
from mios.domain.objective import Kpi, Objective
from mios.domain.offer import Campaign, CampaignStatus, Offer
from mios.domain.policy import PolicyPack
from mios.domain.segment import Condition, Operator, Segment
from mios.domain.workspace import Workspace
from mios.errors import DomainError

EMAIL = ChannelName.EMAIL
BRAND = Brand(
    "Shop",
    SenderIdentity("Shop", "hello@shop.example", PostalAddress("1 Main", "X", "1", "US")),
)


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def segment(segment_id: str) -> Segment:
    return Segment(segment_id, segment_id, Condition("region", Operator.EQ, "EU"))


def offer(offer_id: str, *segments: str) -> Offer:
    return Offer(offer_id, offer_id, "discount", 0.3, usd("50"), eligible_segments=segments)


def campaign(campaign_id: str, segments: tuple[str, ...], offer_id: str | None = None) -> Campaign:
    return Campaign(
        campaign_id,
        campaign_id,
        CampaignStatus.DRAFT,
        segments,
        (EMAIL,),
        date(2024, 1, 1),
        offer_id=offer_id,
    )


def workspace(**overrides: Any) -> Workspace:
    fields: dict[str, Any] = {
        "name": "Shop",
        "currency": "USD",
        "time_zone": "UTC",
        "brand": BRAND,
        "objective": Objective(Kpi.PROFIT, 1.0, 30),
        "budgets": (Budget(EMAIL, BudgetPeriod.MONTHLY, usd("100")),),
        "channels": (ChannelConfig(EMAIL),),
        "segments": (segment("eu"), segment("vip")),
        "offers": (offer("spring", "eu"),),
        "campaigns": (campaign("launch", ("eu", "vip"), "spring"),),
    }
    fields.update(overrides)
    return Workspace(**fields)


class TestValid:
    def test_lookups(self) -> None:
        ws = workspace()
        assert ws.segment("vip").id == "vip"
        assert ws.offer("spring").eligible_segments == ("eu",)
        assert ws.channel(EMAIL).connector == "simulator"
        assert ws.empty_ledger().position(
            EMAIL, datetime(2024, 1, 1, 12, tzinfo=UTC)
        ).available == usd("100")

    def test_unknown_lookups_raise(self) -> None:
        ws = workspace()
        with pytest.raises(DomainError, match="no segment 'x'"):
            ws.segment("x")
        with pytest.raises(DomainError, match="no offer 'x'"):
            ws.offer("x")
        with pytest.raises(DomainError, match="channel sms is not configured"):
            ws.channel(ChannelName.SMS)


class TestDuplicates:
    @pytest.mark.parametrize(
        ("overrides", "what"),
        [
            ({"segments": (segment("eu"), segment("eu"))}, "segment 'eu'"),
            ({"offers": (offer("spring"), offer("spring")), "campaigns": ()}, "offer 'spring'"),
            ({"campaigns": (campaign("c", ()), campaign("c", ()))}, "campaign 'c'"),
            ({"channels": (ChannelConfig(EMAIL), ChannelConfig(EMAIL))}, "channel"),
            (
                {"playbooks": (Playbook("p", ("a",), "0 9 * * 1"),) * 2},
                "playbook 'p'",
            ),
            ({"policies": (PolicyPack("legal", ()),) * 2}, "policy pack 'legal'"),
        ],
    )
    def test_duplicate_ids_raise(self, overrides: dict[str, Any], what: str) -> None:
        with pytest.raises(DomainError, match=f"{what}.* is defined twice"):
            workspace(**overrides)


class TestReferences:
    def test_budget_in_another_currency_raises(self) -> None:
        eur = Budget(EMAIL, BudgetPeriod.MONTHLY, Money.parse("100 EUR", "USD"))
        with pytest.raises(DomainError, match="budget email is in EUR, the workspace in USD"):
            workspace(budgets=(eur,))

    def test_budget_for_an_unconfigured_channel_raises(self) -> None:
        sms = Budget(ChannelName.SMS, BudgetPeriod.MONTHLY, usd("1"))
        with pytest.raises(DomainError, match="budget for sms, which has no channel config"):
            workspace(budgets=(sms,))

    def test_offer_naming_an_unknown_segment_raises(self) -> None:
        with pytest.raises(DomainError, match="offer spring names unknown segment 'ghost'"):
            workspace(offers=(offer("spring", "eu", "ghost"),))

    def test_campaign_naming_an_unknown_segment_raises(self) -> None:
        with pytest.raises(DomainError, match="campaign launch names unknown segment 'ghost'"):
            workspace(campaigns=(campaign("launch", ("eu", "ghost")),))

    def test_campaign_naming_an_unknown_offer_raises(self) -> None:
        with pytest.raises(DomainError, match="campaign launch names unknown offer"):
            workspace(campaigns=(campaign("launch", ("eu",), "winter"),))

    def test_campaign_without_offer_is_fine(self) -> None:
        assert workspace(campaigns=(campaign("launch", ("eu",)),)).campaigns[0].offer_id is None
