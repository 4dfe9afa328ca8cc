"""Plain-language rationales: every decision says what was forecast, on what signals, what it
was weighed against and which constraints bound it. The wording is fixed, so the same decision
always reads the same (tests check the content).

A rationale is five lines, in this order:

    Selected: it is in the best feasible portfolio found.
    Forecast: expected 120 conversions (90% interval 80 to 170); expected value 3,400
      (90% interval 2,100 to 4,900); confidence 0.42 (agent estimate x 0.8, interval x 1.5).
    Signals: crm's own estimate of 150 conversions, discounted to 80%; audience of 12,000 ...
    Alternatives: it beat p9 (value 120) and p4 (value 80).
    Binding constraints: the email budget of 5,000.00 EUR.
"""

from __future__ import annotations

from collections.abc import Sequence

from mios.brain.arbitration import Outcome
from mios.brain.decide_forecast import ProposalForecast
from mios.domain.proposal import DecisionStatus, Interval

MAX_SIGNALS = 3


def number(x: float) -> str:
    """Three significant figures below 100, whole numbers with thousands separators above."""
    if abs(x) >= 100:
        return f"{round(x):,}"
    if x == 0:
        return "0"
    return f"{x:.3g}"


def interval(iv: Interval) -> str:
    return f"{iv.level:.0%} interval {number(iv.low)} to {number(iv.high)}"


def forecast_line(fc: ProposalForecast) -> str:
    value = f"expected value {number(fc.value)} ({interval(fc.value_interval)})"
    confidence = f"confidence {fc.confidence:.2f} ({fc.method})"
    if fc.forecast is None:
        return f"Forecast: none, so {value}; {confidence}."
    kpi = fc.forecast
    return (
        f"Forecast: expected {number(kpi.mean)} {kpi.kpi} ({interval(kpi.interval)}); "
        f"{value}; {confidence}."
    )


def _listing(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def alternatives_line(status: DecisionStatus, rivals: Sequence[tuple[str, float]]) -> str:
    if not rivals:
        return "Alternatives: none competed for the same budget, customers or offer."
    named = _listing([f"{pid} (value {number(v)})" for pid, v in rivals])
    verb = "it beat" if status is DecisionStatus.SELECTED else "it lost to"
    return f"Alternatives: {verb} {named}."


def rationale(
    outcome: Outcome,
    fc: ProposalForecast,
    rivals: Sequence[tuple[str, float]],
) -> tuple[str, ...]:
    """The five lines for one decision; ``rivals`` are (proposal id, expected value) pairs in
    the order ``outcome.rivals`` gives them."""
    status = outcome.status
    signals = "; ".join(fc.signals[:MAX_SIGNALS]) or "none"
    binding = "; ".join(outcome.binding) or "none"
    return (
        f"{status.value.capitalize()}: {outcome.reason}.",
        forecast_line(fc),
        f"Signals: {signals}.",
        alternatives_line(status, rivals),
        f"Binding constraints: {binding}.",
    )
