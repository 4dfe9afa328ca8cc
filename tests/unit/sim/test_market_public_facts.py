"""What a market tells a business about itself beyond its names: offer terms, brand rules,
prices and capacity per channel, and an earlier market to play out a past."""

from __future__ import annotations

from datetime import date

import pytest

from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.proposal import ActionKind, Audience, Content
from mios.errors import MarketError
from mios.sim.market import Market, OfferTerms
from mios.sim.scenario import load_scenario

SMS_OUTAGE_DAY = 22


def market() -> Market:
    return Market(load_scenario("retail-holiday"), seed=1, customers=2000)


def test_offer_terms_brand_rules_prices_and_capacity() -> None:
    sim = market()
    assert sim.offer_terms[0] == OfferTerms("pct-20", 0.22, 95.0)
    assert [t.id for t in sim.offer_terms] == list(sim.offer_ids)
    assert "guaranteed" in sim.banned_terms
    assert sim.substantiated_claims == ("waterproof-20k", "recycled-shell", "lifetime-repair")
    assert sim.price(ChannelName.PAID_SEARCH) == pytest.approx(1.10)  # per click
    assert sim.price(ChannelName.EMAIL) == pytest.approx(0.002)
    assert sim.capacity(ChannelName.EMAIL) == 4000  # 200,000 a day scaled to 2% of the market
    assert sim.capacity(ChannelName.PAID_SEARCH) is None
    with pytest.raises(MarketError, match="push"):
        sim.capacity(ChannelName.PUSH)


def sms_to_loyal() -> Action:
    return Action(
        id="sms",
        proposal_id="p-sms",
        kind=ActionKind.SEND_MESSAGE,
        snapshot_version=1,
        channel=ChannelName.SMS,
        audience=Audience(segment_id="loyal"),
        content=Content(subject=None, body="Gifts, wrapped.", offer_id="bundle"),
    )


def test_an_earlier_market_has_the_same_customers_and_no_shocks() -> None:
    sim = market()
    past = sim.earlier(date(2026, 10, 5), seed=1)
    assert past.start == date(2026, 10, 5)
    now, then = sim.customer_table(), past.customer_table()
    assert then.ids.tolist() == now.ids.tolist()
    assert then.categorical["segment"].strings().tolist() == (
        now.categorical["segment"].strings().tolist()
    )
    assert past.limits == sim.limits
    # retail-holiday takes sms down on its day 22; the earlier market keeps no shock.
    while past.day < SMS_OUTAGE_DAY:
        past.advance()
        sim.advance()
    assert sim.execute(sms_to_loyal()).unavailable
    assert past.execute(sms_to_loyal()).accepted > 0
    with pytest.raises(MarketError, match="before"):
        sim.earlier(sim.start, seed=1)
