"""Rationales: fixed wording with the forecast, its interval, signals, rivals and constraints."""

from __future__ import annotations

from mios.brain.arbitration import Outcome
from mios.brain.decide_forecast import ProposalForecast
from mios.brain.explain import number, rationale
from mios.domain.proposal import DecisionStatus, Forecast, Interval


def forecast() -> ProposalForecast:
    return ProposalForecast(
        Forecast("conversions", 120.0, Interval(80.0, 170.0)),
        3_400.0,
        Interval(2_100.0, 4_900.0),
        0.42,
        (
            "crm's own estimate of 150 conversions, discounted to 80%",
            "audience of 12,000 customers",
            "evidence: last spring's test",
            "a fourth signal",
        ),
        "agent estimate x 0.8, interval x 1.5",
    )


def test_selected_rationale_reads_in_five_fixed_lines() -> None:
    outcome = Outcome(
        DecisionStatus.SELECTED,
        "it is in the best feasible portfolio found",
        ("the email budget of 5,000.00 EUR",),
        (3, 4),
    )
    lines = rationale(outcome, forecast(), [("p9", 120.0), ("p4", 80.5)])
    assert lines == (
        "Selected: it is in the best feasible portfolio found.",
        "Forecast: expected 120 conversions (90% interval 80 to 170); expected value 3,400 "
        "(90% interval 2,100 to 4,900); confidence 0.42 (agent estimate x 0.8, interval x 1.5).",
        "Signals: crm's own estimate of 150 conversions, discounted to 80%; audience of 12,000 "
        "customers; evidence: last spring's test.",
        "Alternatives: it beat p9 (value 120) and p4 (value 80.5).",
        "Binding constraints: the email budget of 5,000.00 EUR.",
    )


def test_deferred_without_rivals_or_forecast() -> None:
    outcome = Outcome(DecisionStatus.DEFERRED, "it would break the sms budget of 1.00 EUR")
    empty = ProposalForecast(None, 0.0, Interval(0.0, 0.0), 0.0, (), "agent estimate")
    lines = rationale(outcome, empty, [])
    assert lines[0] == "Deferred: it would break the sms budget of 1.00 EUR."
    assert lines[1] == (
        "Forecast: none, so expected value 0 (90% interval 0 to 0); confidence 0.00 "
        "(agent estimate)."
    )
    assert lines[2] == "Signals: none."
    assert lines[3] == "Alternatives: none competed for the same budget, customers or offer."
    assert lines[4] == "Binding constraints: none."


def test_lost_to_and_numbers() -> None:
    outcome = Outcome(DecisionStatus.DROPPED, "it duplicates p1", (), (1,))
    assert (
        rationale(outcome, forecast(), [("p1", 2.5)])[3]
        == "Alternatives: it lost to p1 (value 2.5)."
    )
    assert [number(x) for x in (0, 0.4123, 12.34, 99.96, 100.4, 123_456.7, -2_500)] == [
        "0",
        "0.412",
        "12.3",
        "100",
        "100",
        "123,457",
        "-2,500",
    ]
