"""The market: population, determinism, consent, fatigue, media curves, content, holdouts, risk."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from mios.domain.action import Action
from mios.domain.channel import CONSENT_CHANNELS, ChannelName
from mios.domain.customer import ConsentStatus
from mios.domain.outcome import OutcomeKind
from mios.domain.proposal import ActionKind, Audience
from mios.errors import MarketError
from mios.sim.ground_truth import ground_truth
from mios.sim.market import Market
from mios.sim.run import outcome_line
from mios.sim.scenario import load_scenario
from tests.support.market import budget, content, count, publish, send

EMAIL = ChannelName.EMAIL
RETAIL = load_scenario("retail-holiday")


def market(customers: int = 5000, seed: int = 1, **kwargs: object) -> Market:
    return Market(RETAIL, seed, customers, **kwargs)  # type: ignore[arg-type]


def consenting(m: Market, channel: ChannelName = EMAIL) -> list[str]:
    return m.customer_ids(np.flatnonzero(m.consented(channel)))


# -- population ------------------------------------------------------------------------------


def test_segment_and_region_shares_are_met_exactly() -> None:
    m = market(10_001)
    truth = ground_truth(m)
    sizes = np.bincount(truth.population.segment)
    expected = [s.share * 10_001 for s in RETAIL.population.segments]
    assert sizes.sum() == 10_001
    assert np.all(np.abs(sizes - expected) < 1)
    regions = np.bincount(truth.population.region)
    assert np.all(
        np.abs(regions - [r.share * 10_001 for r in RETAIL.population.regions.values()]) < 1
    )


def test_consent_follows_each_regions_mix() -> None:
    truth = ground_truth(market(40_000))
    population = truth.population
    column = CONSENT_CHANNELS.index(ChannelName.SMS)
    for index, name in enumerate(population.region_ids):
        members = population.region == index
        share = population.consent[members, column].mean()
        assert share == pytest.approx(
            RETAIL.population.regions[name].consent[ChannelName.SMS], abs=0.02
        )


def test_customer_ids_map_to_positions_and_unknown_ids_are_refused() -> None:
    m = market(1000)
    positions = np.array([0, 17, 999])
    ids = m.customer_ids(positions)
    assert ids == ["C0000001", "C0000018", "C0001000"]
    assert ground_truth(m).population.positions(ids).tolist() == [0, 17, 999]
    for bad in ("C0001001", "C0000000", "X0000001", "C12", "C00000O1"):
        with pytest.raises(MarketError, match="not in the market"):
            m.step([send("a", customers=[bad])], 0)


def test_the_customer_table_is_what_a_business_would_know() -> None:
    m = market(3000)
    table = m.customer_table()
    truth = ground_truth(m)
    assert len(table) == 3000
    assert table.ids[0] == "C0000001"
    segment = table.attribute("segment")
    assert segment.strings()[5] == truth.population.segment_ids[truth.population.segment[5]]
    for channel in CONSENT_CHANNELS:
        assert np.array_equal(table.granted(channel), m.consented(channel))
    assert "propensity" not in table.attribute_names
    one = table.row(0)
    assert one.region in RETAIL.population.regions
    assert one.consent_for(EMAIL).status in (ConsentStatus.GRANTED, ConsentStatus.DENIED)


# -- determinism -----------------------------------------------------------------------------


def run_week(seed: int, detail: str = "aggregate") -> list[bytes]:
    m = market(4000, seed, detail=detail)
    lines: list[bytes] = []
    for day in range(7):
        actions: list[Action] = [budget(f"b{day}", ChannelName.PAID_SEARCH, 500)]
        if day % 2 == 0:
            actions.append(send(f"e{day}", segment="loyal"))
        lines += [outcome_line(o) for o in m.step(actions, day)]
    return lines


def test_same_scenario_seed_and_actions_give_byte_identical_outcomes() -> None:
    assert run_week(3) == run_week(3)
    assert run_week(3) != run_week(4)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6, 7])
def test_customer_detail_reports_the_same_market_one_customer_at_a_time(seed: int) -> None:
    aggregate = market(4000, seed)
    detailed = market(4000, seed, detail="customer")
    actions = [send("e", segment="regular"), budget("b", ChannelName.DISPLAY, 300)]
    out_a = aggregate.step(actions, 0)
    out_d = detailed.step(actions, 0)
    a, d = aggregate.totals().as_dict(), detailed.totals().as_dict()
    money = {"spend", "revenue", "organic_revenue", "gross_margin", "incident_cost", "profit"}
    assert {k: v for k, v in a.items() if k not in money} == {
        k: v for k, v in d.items() if k not in money
    }
    # Sums of the same amounts in another order may differ in the last micro-unit, no more.
    for key in money:
        assert abs(float(a[key]) - float(d[key])) <= 0.01, key
    per_customer = [o for o in out_d if o.kind is OutcomeKind.DELIVERED]
    assert all(o.count == 1 and o.customer_id for o in per_customer)
    assert len(per_customer) == count(out_a, OutcomeKind.DELIVERED)


def test_days_run_in_order() -> None:
    m = market(100)
    with pytest.raises(MarketError, match="on day 0; cannot step day 1"):
        m.step([], 1)
    m.step([], 0)
    assert m.day == 1


# -- consent ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_message_without_consent_is_an_incident_and_a_complaint(seed: int) -> None:
    m = market(3000, seed)
    refused = np.flatnonzero(~m.consented(EMAIL))[:400]
    allowed = np.flatnonzero(m.consented(EMAIL))[:400]
    ids = m.customer_ids(np.concatenate([refused, allowed]))
    out = m.step([send("blast", customers=ids)], 0)
    incidents = [o for o in out if o.kind is OutcomeKind.INCIDENT]
    assert sum(o.count for o in incidents) == 400
    assert all(o.attributes["incident"] == "compliance" for o in incidents)
    assert count(out, OutcomeKind.COMPLAINT) >= 400
    totals = m.totals()
    assert totals.compliance_incidents == 400
    assert totals.incident_cost == 400 * RETAIL.risk.compliance_incident_cost


def test_an_unsubscribe_withdraws_consent_so_the_next_message_is_an_incident() -> None:
    m = market(20_000)
    everyone = consenting(m)
    out = m.step([send("first", customers=everyone)], 0)
    assert count(out, OutcomeKind.UNSUBSCRIBE) > 0
    left = set(consenting(m))
    gone = [c for c in everyone if c not in left]
    assert len(gone) == count(out, OutcomeKind.UNSUBSCRIBE) + count(out, OutcomeKind.COMPLAINT)
    again = m.step([send("again", customers=gone)], 1)
    assert count(again, OutcomeKind.INCIDENT) == len(gone)


# -- fatigue ---------------------------------------------------------------------------------


def test_more_contacts_per_week_bring_more_unsubscribes_and_less_response() -> None:
    def week(messages: int) -> tuple[float, float]:
        m = market(30_000, 5)
        audience = consenting(m)
        unsubscribes = conversions = 0
        for day in range(7):
            actions = [send(f"m{day}", customers=audience)] if day < messages else []
            out = m.step(actions, day)
            unsubscribes += count(out, OutcomeKind.UNSUBSCRIBE, f"m{day}")
            conversions += count(out, OutcomeKind.CONVERSION, f"m{day}")
        return unsubscribes / messages, conversions / messages

    once, twice, four = week(1), week(2), week(4)
    assert once[0] < twice[0] < four[0]  # unsubscribes per message rise with frequency
    assert once[1] > twice[1] > four[1]  # and each message converts less
    assert market().totals().contacts_per_week(0.5) == 0


def test_fatigue_counts_every_channel_together() -> None:
    m = market(20_000)
    both = np.flatnonzero(m.consented(EMAIL) & m.consented(ChannelName.SMS))
    ids = m.customer_ids(both)
    m.step([send("e", customers=ids), send("s", channel=ChannelName.SMS, customers=ids)], 0)
    assert m.contacts_this_week()[both].min() == 2
    for day in range(1, 7):
        m.step([], day)
    assert m.contacts_this_week().max() == 0  # a new week starts on day 7
    assert m.totals().contacts_per_week(0.99) == 2


# -- capacity and outages --------------------------------------------------------------------


def test_a_channel_sends_no_more_than_its_daily_capacity() -> None:
    m = market(20_000)  # sms capacity 50,000 at 100,000 customers -> 10,000 here
    capacity = ground_truth(m).capacity[ChannelName.SMS]
    assert capacity == 10_000
    everyone = m.customer_ids(np.arange(m.customers))
    first = m.execute(send("s1", channel=ChannelName.SMS, customers=everyone[:6000]))
    second = m.execute(send("s2", channel=ChannelName.SMS, customers=everyone[6000:]))
    assert first.accepted == 6000
    assert second.accepted == 4000
    assert second.note is not None
    assert "capacity" in second.note


def test_an_outage_sends_nothing_and_costs_nothing() -> None:
    m = market(2000)
    for day in range(22):
        m.step([], day)
    done = m.execute(send("s", channel=ChannelName.SMS, segment="loyal"))
    assert done.accepted == 0
    assert done.outcomes == ()
    assert done.note == "sms is down on day 22"
    assert done.unavailable
    assert not m.execute(send("e", segment="loyal")).unavailable


def test_a_competitor_promotion_lowers_demand_while_it_runs() -> None:
    truth = ground_truth(market(100))
    assert truth.demand(15) == pytest.approx(RETAIL.season(15) * 0.75)
    assert truth.demand(13) == pytest.approx(RETAIL.season(13))


# -- paid media ------------------------------------------------------------------------------


def paid_conversions(daily_spend: float, days: int = 14, seed: int = 1) -> int:
    m = Market(RETAIL, seed)
    total = 0
    for day in range(days):
        actions = [budget("b", ChannelName.PAID_SOCIAL, daily_spend)] if day == 0 else []
        total += count(m.step(actions, day), OutcomeKind.CONVERSION, "b")
    return total


def test_spend_beyond_saturation_has_diminishing_returns() -> None:
    curve = ground_truth(market(100_000)).media[ChannelName.PAID_SOCIAL]
    spends = np.array([1000.0, 2000.0, 4000.0, 8000.0])
    per_dollar = curve.steady_state(spends) / spends
    assert np.all(np.diff(per_dollar) < 0)
    low, high = paid_conversions(2000), paid_conversions(8000)
    assert high > low  # more spend still buys more
    assert high < 2 * low  # but four times the spend buys less than twice the conversions


def test_adstock_carries_spend_into_later_days() -> None:
    m = Market(RETAIL, 1)
    m.step([budget("burst", ChannelName.PAID_SOCIAL, 10_000)], 0)
    after = [
        count(m.step([budget(f"off{d}", ChannelName.PAID_SOCIAL, 0)], d), OutcomeKind.CONVERSION)
        for d in range(1, 6)
    ]
    # No spend after day 0, yet conversions keep coming and fade as the adstock decays.
    assert after[0] > 20
    assert after[0] > after[2] > after[4]
    fresh = Market(RETAIL, 1)
    fresh.step([budget("off", ChannelName.PAID_SOCIAL, 0)], 0)
    assert count(fresh.step([], 1), OutcomeKind.CONVERSION, "off") == 0


def test_spend_is_capped_at_the_channels_daily_maximum() -> None:
    m = market(100_000)
    done = m.execute(budget("b", ChannelName.DISPLAY, 1_000_000))
    assert done.note == "display spends at most 8000.00 a day"
    m.advance()
    assert float(m.totals().spend) == 8000


def test_adjust_bid_scales_the_daily_spend() -> None:
    m = market(100_000)
    m.execute(budget("b", ChannelName.PAID_SEARCH, 1000))
    bid = Action(
        id="bid",
        proposal_id="bid",
        kind=ActionKind.ADJUST_BID,
        snapshot_version=1,
        channel=ChannelName.PAID_SEARCH,
        parameters={"multiplier": 1.5},
    )
    m.execute(bid)
    spend = [o for o in m.advance() if o.kind is OutcomeKind.SPEND]
    assert [(o.action_id, float(o.value.amount)) for o in spend if o.value] == [("bid", 1500.0)]


# -- content, risk, holdouts -----------------------------------------------------------------


def test_a_content_piece_costs_once_and_converts_over_its_life() -> None:
    m = Market(RETAIL, 1)
    first = m.step([publish("post")], 0)
    assert count(first, OutcomeKind.SPEND, "post") == 1
    later = sum(count(m.step([], d), OutcomeKind.CONVERSION, "post") for d in range(1, 21))
    assert later > 0
    gone = sum(count(m.step([], d), OutcomeKind.CONVERSION, "post") for d in range(21, 28))
    assert gone == 0  # a piece lives 21 days


@pytest.mark.parametrize(
    ("message", "finding"),
    [
        (content(body="Guaranteed warm, or your money back."), "banned term 'guaranteed'"),
        (content(body="Totally RISK-FREE returns."), "banned term 'risk-free'"),
        (content(claims=("warmest-jacket-ever",)), "unsubstantiated claim 'warmest-jacket-ever'"),
    ],
)
def test_banned_terms_and_unsubstantiated_claims_are_brand_incidents(
    message: object, finding: str
) -> None:
    m = market(2000)
    reachable = consenting(m)[:100]
    out = m.step([send("e", customers=reachable, message=message), publish("p", message)], 0)  # type: ignore[arg-type]
    incidents = [
        o for o in out if o.kind is OutcomeKind.INCIDENT and o.attributes["incident"] == "brand"
    ]
    assert [o.action_id for o in incidents] == ["e", "p"]
    assert finding in incidents[0].attributes["findings"]
    assert m.totals().brand_incidents == 2
    assert float(m.totals().incident_cost) == 2 * RETAIL.risk.brand_incident_cost


def test_substantiated_claims_and_clean_copy_carry_no_brand_risk() -> None:
    m = market(2000)
    clean = content(body="Guaranteedly? No: 20k waterproofing, tested.", claims=("waterproof-20k",))
    m.step([send("e", segment="loyal", message=clean), publish("p", clean)], 0)
    assert m.totals().brand_incidents == 0


def test_a_holdout_keeps_the_same_customers_out_and_reports_their_purchases() -> None:
    m = market(20_000)
    audience = consenting(m)
    positions = ground_truth(m).population.positions(audience)
    for day in range(3):
        action = send(
            f"x{day}",
            customers=audience,
            parameters={"holdout_share": 0.3, "experiment_id": "exp-1"},
        )
        done = m.execute(action)
        # Everyone treated so far has had exactly one message a day: the same people each day.
        contacted = m.contacts_this_week()[positions]
        assert set(np.unique(contacted).tolist()) == {0, day + 1}
        assert done.accepted == np.count_nonzero(contacted)
        assert done.accepted == pytest.approx(0.7 * len(audience), rel=0.05)
        out = m.advance()
        holdout = [o for o in out if o.attributes.get("arm") == "holdout"]
        assert holdout, "holdout purchases are reported"
        assert all(o.action_id == f"x{day}" for o in holdout)
        assert all(o.attributes["experiment_id"] == "exp-1" for o in holdout)
        assert all(o.attributes.get("arm") == "treatment" for o in done.outcomes)
    assert m.totals().organic_conversions >= sum(o.count for o in holdout)


# -- bad actions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (send("a", segment="vip"), "no segment or audience 'vip'"),
        (send("a", segment="loyal", message=content(offer="bogo")), "offer 'bogo'"),
        (send("a", segment="loyal", message=content(angle="fear")), "angle 'fear'"),
        (send("a", channel=ChannelName.PUSH, segment="loyal"), "no push channel"),
        (send("a", channel=ChannelName.PAID_SEARCH, segment="loyal"), "send_message needs email"),
        (budget("a", ChannelName.PAID_SEARCH, 10, currency="EUR"), "spend is in EUR"),
        (budget("a", ChannelName.EMAIL, 10), "needs a paid media channel"),
        (send("a", segment="loyal", parameters={"holdout_share": 0.95}), "holdout_share"),
        (send("a", segment="loyal", parameters={"holdout_share": "half"}), "holdout_share"),
    ],
)
def test_actions_the_market_cannot_carry_out_are_refused_with_a_reason(
    action: Action, message: str
) -> None:
    m = market(500)
    with pytest.raises(MarketError, match=message):
        m.execute(action)
    assert m.totals().spend == 0


def test_kinds_without_a_market_effect_do_nothing() -> None:
    m = market(500)
    insight = Action(id="i", proposal_id="i", kind=ActionKind.INSIGHT, snapshot_version=1)
    done = m.execute(insight)
    assert (done.accepted, done.outcomes) == (0, ())


def test_an_audience_can_be_defined_by_ids_or_positions_but_not_over_a_segment() -> None:
    m = market(500)
    m.define_audience("picked", ["C0000001", "C0000002"])
    assert m.execute(send("a", segment="picked")).accepted == 2
    m.define_audience("picked", np.array([3, 4, 5]))
    assert m.execute(send("b", segment="picked")).accepted == 3
    with pytest.raises(MarketError, match="scenario segment"):
        m.define_audience("loyal", np.array([1]))
    with pytest.raises(MarketError, match="outside the market"):
        m.define_audience("far", np.array([500]))


# -- totals ----------------------------------------------------------------------------------


def test_profit_is_margin_less_spend_less_incident_costs() -> None:
    m = market(20_000)
    m.step(
        [
            send("e", segment="regular", message=content(body="guaranteed")),
            budget("b", ChannelName.PAID_SEARCH, 800),
        ],
        0,
    )
    totals = m.totals()
    assert totals.gross_margin > 0
    assert totals.profit == totals.gross_margin - totals.spend - totals.incident_cost
    assert totals.revenue >= totals.organic_revenue > 0
    data = totals.as_dict()
    assert data["brand_incidents"] == 1
    assert data["days"] == 1


# -- regressions found in review --------------------------------------------------------------


def test_a_refused_media_action_changes_nothing() -> None:
    m = market(2000)
    bad = budget(
        "b", ChannelName.PAID_SOCIAL, 500, audience=Audience(customer_ids=("C0000001", "C9999999"))
    )
    with pytest.raises(MarketError, match="C9999999"):
        m.execute(bad)
    assert count(m.advance(), OutcomeKind.SPEND) == 0


def test_adjust_bid_needs_a_budget_to_adjust_and_a_real_multiplier() -> None:
    m = market(500)
    for multiplier in (1.5, True, "2", 11):
        bid = Action(
            id="bid",
            proposal_id="bid",
            kind=ActionKind.ADJUST_BID,
            snapshot_version=1,
            channel=ChannelName.PAID_SEARCH,
            parameters={"multiplier": multiplier},
        )
        with pytest.raises(MarketError):
            m.execute(bid)


def test_a_fraction_of_a_cent_per_message_still_adds_up() -> None:
    m = market(1000)
    ids = consenting(m)[:200]
    m.step([send(f"one-{i}", customers=[c]) for i, c in enumerate(ids)], 0)
    assert m.totals().spend == Decimal("0.4")  # 200 emails at 0.002


def test_another_action_does_not_shift_the_draws_of_a_send() -> None:
    def sms_outcomes(extra: list[Action]) -> list[tuple[str, int]]:
        m = market(20_000, 3)
        out = m.execute(send("s", channel=ChannelName.SMS, segment="loyal")).outcomes
        first = [(str(o.kind), o.count) for o in out]
        m2 = market(20_000, 3)
        for action in extra:
            m2.execute(action)
        again = m2.execute(send("s", channel=ChannelName.SMS, segment="loyal")).outcomes
        assert [(str(o.kind), o.count) for o in again] == first
        return first

    assert sms_outcomes([budget("b", ChannelName.PAID_SEARCH, 500), send("e", segment="new")])


def test_adstock_is_credited_to_the_budget_that_bought_it() -> None:
    m = Market(RETAIL, 1)
    m.step([budget("burst", ChannelName.PAID_SOCIAL, 10_000)], 0)
    m.step([budget("off", ChannelName.PAID_SOCIAL, 0)], 1)
    later = [m.step([], d) for d in range(2, 5)]
    conversions = [o for day in later for o in day if o.kind is OutcomeKind.CONVERSION]
    paid = [o for o in conversions if o.channel is ChannelName.PAID_SOCIAL]
    assert paid
    assert {o.action_id for o in paid} == {"burst"}


def test_a_segment_audience_on_paid_media_is_targeting_not_a_list_upload() -> None:
    m = market(5000)
    targeted = budget("b", ChannelName.PAID_SOCIAL, 100, audience=Audience(segment_id="loyal"))
    m.execute(targeted)
    assert m.totals().compliance_incidents == 0
    refused = np.flatnonzero(~m.consented(ChannelName.PAID_SOCIAL))[:5]
    upload = budget(
        "u",
        ChannelName.PAID_SOCIAL,
        100,
        audience=Audience(customer_ids=tuple(m.customer_ids(refused))),
    )
    m.execute(upload)
    assert m.totals().compliance_incidents == 5


def test_contacts_per_week_count_complete_weeks_only() -> None:
    m = market(1000)
    everyone = consenting(m)
    for day in range(10):
        m.step([send(f"m{day}", customers=everyone)] if day < 3 else [], day)
    # Week one: three messages to each consenting customer; days 7-9 are not a complete week.
    assert m.totals().contact_weeks.tolist()[3] == len(everyone)
    short = market(1000)
    short.execute(send("now", customers=everyone))
    assert short.totals().contacts_per_week(0.99) == 1  # a run shorter than a week counts


def test_unsubscribes_and_complaints_always_name_the_customer() -> None:
    m = market(20_000)
    out = m.step([send("e", customers=consenting(m))], 0)
    leaving = [o for o in out if o.kind in (OutcomeKind.UNSUBSCRIBE, OutcomeKind.COMPLAINT)]
    assert leaving
    assert all(o.customer_id and o.count == 1 for o in leaving)


def test_outcome_ids_never_repeat() -> None:
    m = market(3000)
    ids: list[str] = []
    for day in range(9):
        actions = [publish("post"), budget("b", ChannelName.PAID_SEARCH, 300)]
        actions.append(send("e", segment="loyal", parameters={"holdout_share": 0.2}))
        actions.append(send("e", segment="loyal", parameters={"holdout_share": 0.2}))
        ids += [o.id for o in m.step(actions, day)]
    assert len(ids) == len(set(ids))


def test_a_customer_id_with_foreign_digits_is_not_a_customer() -> None:
    m = market(100)
    with pytest.raises(MarketError, match="not in the market"):
        m.execute(send("a", customers=["C000000\u0661"]))


def test_audience_positions_must_be_integers() -> None:
    m = market(100)
    for bad in (np.array([0.5, 1.7]), np.array([True, False]), np.array([[1, 2]])):
        with pytest.raises(MarketError, match="1-d integer"):
            m.define_audience("x", bad)


def test_a_market_has_a_size_limit() -> None:
    with pytest.raises(MarketError, match="1 to 100,000,000 customers"):
        Market(RETAIL, 1, 100_000_001)


def test_saturation_stays_finite_at_extremes() -> None:
    curve = ground_truth(market(100)).media[ChannelName.PAID_SEARCH]
    extreme = replace(curve, half_saturation=1e-300, shape=10.0)
    values = extreme.conversions(np.array([0.0, 1e-200, 1.0, 1e300]))
    assert np.all(np.isfinite(values))
    assert values[0] == 0
    assert values[-1] == pytest.approx(extreme.max_conversions_per_day)
