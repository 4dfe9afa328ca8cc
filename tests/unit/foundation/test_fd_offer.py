"""Offers and campaigns."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from mios.domain.money import Money
from mios.domain.offer import Campaign, CampaignStatus, Offer
from mios.errors import DomainError

AOV = Money.parse("80", "USD")


def offer(**overrides: Any) -> Offer:
    fields: dict[str, Any] = {
        "id": "spring",
        "name": "Spring sale",
        "type": "discount",
        "margin": 0.3,
        "average_order_value": AOV,
    }
    fields.update(overrides)
    return Offer(**fields)


class TestOffer:
    @pytest.mark.parametrize("margin", [-1.0, 1.0, 1.5, -2.0])
    def test_margin_is_a_share_strictly_between_minus_one_and_one(self, margin: float) -> None:
        with pytest.raises(DomainError, match="margin"):
            offer(margin=margin)

    @pytest.mark.parametrize("margin", [-0.99, 0.0, 0.99])
    def test_margin_inside_the_bounds(self, margin: float) -> None:
        assert offer(margin=margin).margin == margin

    @pytest.mark.parametrize("pct", [-0.1, 100.0, 150.0])
    def test_discount_pct_bounds(self, pct: float) -> None:
        with pytest.raises(DomainError, match="discount_pct"):
            offer(discount_pct=pct)
        assert offer(discount_pct=0.0).discount_pct == 0.0
        assert offer(discount_pct=99.9).discount_pct == 99.9

    def test_valid_until_before_valid_from_raises(self) -> None:
        with pytest.raises(DomainError, match="valid_until is before valid_from"):
            offer(valid_from=date(2024, 3, 2), valid_until=date(2024, 3, 1))

    def test_active_on_is_inclusive_at_both_ends(self) -> None:
        spring = offer(valid_from=date(2024, 3, 1), valid_until=date(2024, 3, 31))
        assert not spring.active_on(date(2024, 2, 29))
        assert spring.active_on(date(2024, 3, 1))
        assert spring.active_on(date(2024, 3, 31))
        assert not spring.active_on(date(2024, 4, 1))

    def test_open_ended_offers(self) -> None:
        assert offer().active_on(date(1999, 1, 1))
        assert offer(valid_from=date(2024, 1, 1)).active_on(date(2099, 1, 1))
        assert not offer(valid_from=date(2024, 1, 1)).active_on(date(2023, 12, 31))
        assert offer(valid_until=date(2024, 1, 1)).active_on(date(2000, 1, 1))
        assert not offer(valid_until=date(2024, 1, 1)).active_on(date(2024, 1, 2))


class TestCampaign:
    def test_end_before_start_raises(self) -> None:
        with pytest.raises(DomainError, match="end is before start"):
            Campaign("c", "C", CampaignStatus.DRAFT, (), (), date(2024, 2, 2), date(2024, 2, 1))

    def test_one_day_campaign_and_open_end(self) -> None:
        day = date(2024, 2, 1)
        assert Campaign("c", "C", CampaignStatus.ACTIVE, (), (), day, day).end == day
        assert Campaign("c", "C", CampaignStatus.ACTIVE, (), (), day).end is None
