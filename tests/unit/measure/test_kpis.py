"""KPI roll-ups: the documented formulas, targets pro-rated to the window, guardrail breaches,
and agreement with the simulator's own books."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from mios.channels.simulator import SimulatorChannel
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.objective import Guardrail, Kpi, Objective
from mios.domain.outcome import Outcome, OutcomeKind
from mios.errors import DomainError
from mios.measure.kpis import UNATTRIBUTED, Economics, Window, kpi_report
from mios.measure.outcomes import InMemoryOutcomeStore
from mios.sim.market import Market
from mios.sim.scenario import load_scenario
from tests.support.market import budget, send

T0 = datetime(2026, 11, 2, tzinfo=UTC)
WEEK = Window(T0, T0 + timedelta(days=7))
ECONOMICS = Economics(
    currency="USD", margins={"winter": Decimal("0.4")}, default_margin=Decimal("0.5"), customers=100
)
OBJECTIVE = Objective(Kpi.PROFIT, target=3000.0, horizon_days=30)
_serial = iter(range(1_000_000))


def event(kind: OutcomeKind, count: int = 1, value: str | None = None, **more: Any) -> Outcome:
    money = None if value is None else Money(Decimal(value), more.pop("currency", "USD"))
    fields: dict[str, Any] = {"channel": ChannelName.EMAIL, "at": T0 + timedelta(hours=1), **more}
    return Outcome(id=f"o{next(_serial)}", kind=kind, count=count, value=money, **fields)


def week_of_email() -> list[Outcome]:
    return [
        event(OutcomeKind.DELIVERED, 1000),
        event(OutcomeKind.OPEN, 300),
        event(OutcomeKind.CLICK, 40),
        event(OutcomeKind.CONVERSION, 10, "1000", attributes={"offer": "winter"}),
        event(OutcomeKind.CONVERSION, 5, "200"),  # no offer: the default margin
        event(OutcomeKind.REVENUE, 1, "-50", attributes={"offer": "winter"}),  # a refund
        event(OutcomeKind.SPEND, 1, "100"),
        event(OutcomeKind.UNSUBSCRIBE, 4),
        event(OutcomeKind.COMPLAINT, 1),
        event(OutcomeKind.INCIDENT, 2, attributes={"incident": "brand", "cost": "25.50"}),
    ]


def test_the_documented_formulas() -> None:
    report = kpi_report(week_of_email(), OBJECTIVE, WEEK, ECONOMICS)
    totals = report.totals
    assert totals.revenue == Decimal("1150")
    assert totals.gross_margin == Decimal("1000") * Decimal("0.4") + Decimal("100") - Decimal(20)
    assert totals.incident_cost == Decimal("51.00")
    assert totals.profit == Decimal("480") - Decimal("100") - Decimal("51.00")
    kpis = report.kpis
    assert kpis[Kpi.PROFIT] == pytest.approx(329.0)
    assert kpis[Kpi.REVENUE] == pytest.approx(1150.0)
    assert kpis[Kpi.CONVERSIONS] == 15
    assert kpis[Kpi.ROAS] == pytest.approx(11.5)
    assert kpis[Kpi.CAC] == pytest.approx(100 / 15)
    assert kpis[Kpi.UNSUBSCRIBE_RATE] == pytest.approx(0.004)
    assert kpis[Kpi.COMPLAINT_RATE] == pytest.approx(0.001)
    assert kpis[Kpi.CONTACTS_PER_CUSTOMER_WEEK] == pytest.approx(10.0)  # 1000 / 100 / 1 week


def test_ratios_without_a_denominator_are_none() -> None:
    report = kpi_report([event(OutcomeKind.CLICK)], OBJECTIVE, WEEK, ECONOMICS)
    assert report.kpis[Kpi.ROAS] is None
    assert report.kpis[Kpi.CAC] is None
    assert report.kpis[Kpi.UNSUBSCRIBE_RATE] is None
    no_customers = Economics(currency="USD")
    assert (
        kpi_report([], OBJECTIVE, WEEK, no_customers).kpis[Kpi.CONTACTS_PER_CUSTOMER_WEEK] is None
    )


def test_outcomes_outside_the_window_and_in_other_currencies_are_left_out() -> None:
    outcomes = [
        event(OutcomeKind.CONVERSION, 1, "10"),
        event(OutcomeKind.CONVERSION, 1, "99", at=T0 - timedelta(seconds=1)),
        event(OutcomeKind.CONVERSION, 1, "99", at=WEEK.end),  # the end is not in the window
        event(OutcomeKind.CONVERSION, 1, "77", currency="EUR"),
    ]
    report = kpi_report(outcomes, OBJECTIVE, WEEK, ECONOMICS)
    assert report.totals.revenue == Decimal(10)
    assert report.totals.conversions == 2  # the EUR sale still converted
    assert report.totals.foreign_currency == 1


def test_the_target_is_pro_rated_to_the_window_when_the_kpi_adds_up() -> None:
    report = kpi_report(week_of_email(), OBJECTIVE, WEEK, ECONOMICS)
    assert report.target.prorated
    assert report.target.target == pytest.approx(700.0)  # 3000 x 7 / 30
    assert report.target.attainment == pytest.approx(329.0 / 700.0)
    assert report.target.on_track is False
    ratio = Objective(Kpi.CAC, target=10.0, horizon_days=30)
    cac = kpi_report(week_of_email(), ratio, WEEK, ECONOMICS).target
    assert not cac.prorated
    assert cac.target == 10.0
    assert cac.on_track is True  # 6.67 <= 10: lower is better
    empty = kpi_report([], ratio, WEEK, ECONOMICS).target
    assert (empty.actual, empty.on_track, empty.attainment) == (None, None, None)


def test_guardrail_breaches_are_reported_overall_and_per_channel() -> None:
    objective = Objective(
        Kpi.PROFIT,
        target=1.0,
        horizon_days=7,
        guardrails=(Guardrail(Kpi.UNSUBSCRIBE_RATE, max=0.003), Guardrail(Kpi.ROAS, min=2.0)),
    )
    outcomes = [
        *week_of_email(),
        event(OutcomeKind.SPEND, 1, "500", channel=ChannelName.PAID_SEARCH),
        event(OutcomeKind.CONVERSION, 2, "300", channel=ChannelName.PAID_SEARCH),
        event(OutcomeKind.CONVERSION, 3, "90", channel=None),  # organic
    ]
    report = kpi_report(outcomes, objective, WEEK, ECONOMICS)
    found = {(str(b.guardrail.kpi), b.channel) for b in report.breaches}
    expected = {("unsubscribe_rate", None), ("unsubscribe_rate", "email")}
    assert found == {*expected, ("roas", "paid_search")}
    assert list(report.by_channel) == ["email", "paid_search", UNATTRIBUTED]
    assert report.by_channel[UNATTRIBUTED][Kpi.CONVERSIONS] == 3
    message = next(str(b) for b in report.breaches if b.channel == "paid_search")
    assert message == "roas 0.6 breaks its min 2.0 on paid_search"
    as_json = report.as_dict()
    assert as_json["by_channel"]["paid_search"]["totals"]["spend"] == "500.00"
    assert {b["kpi"] for b in as_json["breaches"]} == {"unsubscribe_rate", "roas"}


def test_a_window_must_run_forward_in_aware_time() -> None:
    with pytest.raises(DomainError, match="at or before"):
        Window(T0, T0)
    with pytest.raises(DomainError, match="aware"):
        Window(datetime(2026, 1, 1), T0)
    assert Window.ending(T0, 2.5).days == pytest.approx(2.5)


def test_profit_from_simulator_outcomes_matches_the_markets_own_books() -> None:
    market = Market(load_scenario("retail-holiday"), seed=3, customers=5_000)
    channel = SimulatorChannel(market)
    store = InMemoryOutcomeStore()
    actions = [
        send("s1", segment="regular"),
        budget("b1", ChannelName.PAID_SEARCH, 400.0),
        send("s2", segment="lapsed", parameters={"holdout_share": 0.2}),
    ]
    for action in actions:
        action.decide(T0)
        action.approve(T0, by="test:approver")
        action.start(T0)
    for day in range(3):
        for action in actions if day == 0 else actions[1:2]:
            channel.execute(action)
        channel.advance_day()
        taken = channel.take_outcomes()
        assert store.add(taken) == len(taken)
        assert store.add(taken) == 0  # ingested twice, counted once
    books = market.totals()
    economics = Economics(currency=books.currency, margins=books.margins, customers=5_000)
    everything = Window(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    report = kpi_report(store.query(), OBJECTIVE, everything, economics)
    assert report.totals.revenue == books.revenue
    assert report.totals.spend == books.spend
    assert report.totals.incident_cost == books.incident_cost
    assert report.totals.profit == books.profit
    assert report.totals.conversions == books.conversions
    assert report.totals.unsubscribes == books.unsubscribes
