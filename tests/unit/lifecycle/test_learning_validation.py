"""The check that validates or refutes a cell learning by what a later cycle measured: its
statistics (a beta-binomial predictive interval), and the learning it returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from mios.domain.outcome import Learning, LearningStatus, rejection_id
from mios.lifecycle.cycle_store import CellCount
from mios.lifecycle.validation import (
    MIN_TRIALS,
    Claim,
    cell_of,
    claim_of,
    claim_text,
    predictive_check,
    review,
    review_cells,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=7)
KEY = ("eu", "email", "welcome-10", "value")
HALF = 1000  # as learning._HALF_CONFIDENCE_SENDS


def cell(successes: int, trials: int, revenue: str = "0") -> CellCount:
    return CellCount(*KEY, trials, successes, Decimal(revenue))


def cell_learning(successes: int, trials: int, cycle: str = "c-1") -> Learning:
    """A learning as ``learning._cell_learning`` writes it."""
    claim = Claim(successes, trials, Decimal(30 * successes))
    return Learning(
        id=f"{cycle}:cell:{'/'.join(KEY)}",
        insight=f"email to eu (offer welcome-10, angle value): {claim_text(claim)}",
        evidence=(f"action:{cycle}-a",),
        confidence=trials / (trials + HALF),
        created_at=T0,
        cycle_id=cycle,
    )


def check(learning: Learning, measured: CellCount, cycle: str = "c-2") -> Learning | None:
    return review(learning, measured, (f"action:{cycle}-a",), cycle, LATER, HALF)


def test_the_same_rate_again_is_consistent_and_a_far_one_is_not() -> None:
    claim = Claim(100, 1000, Decimal(0))

    same = predictive_check(claim, 10, 100)
    higher = predictive_check(claim, 30, 100)
    lower = predictive_check(claim, 0, 200)

    assert same is not None
    assert higher is not None
    assert lower is not None
    assert same.consistent
    assert same.low < 10 < same.high
    assert same.p_value > 0.5
    assert not higher.consistent
    assert higher.successes > higher.high
    assert higher.p_value < 0.001
    assert not lower.consistent
    assert lower.successes < lower.low


def test_the_interval_holds_95_percent_of_what_the_claim_predicts() -> None:
    """Drawn the way the check assumes (a rate from the claim's posterior, then conversions of
    the new messages), counts fall inside the interval at least 95% of the time, and not
    much more (the interval is not padded)."""
    claim = Claim(40, 500, Decimal(0))
    found = predictive_check(claim, 0, 300)
    assert found is not None
    rng = np.random.default_rng(7)
    rates = rng.beta(1 + claim.successes, 1 + claim.trials - claim.successes, 40_000)
    draws = rng.binomial(300, rates)

    inside = np.mean((draws >= found.low) & (draws <= found.high))

    assert 0.95 - 0.005 <= inside <= 0.975


def test_a_wider_claim_gives_a_wider_interval() -> None:
    small = predictive_check(Claim(10, MIN_TRIALS, Decimal(0)), 10, 100)
    large = predictive_check(Claim(1000, 100 * MIN_TRIALS, Decimal(0)), 10, 100)
    assert small is not None
    assert large is not None
    assert small.high - small.low > large.high - large.low


@pytest.mark.parametrize(("claimed", "new"), [(MIN_TRIALS - 1, 1000), (1000, MIN_TRIALS - 1)])
def test_fewer_messages_than_the_minimum_on_either_side_decide_nothing(
    claimed: int, new: int
) -> None:
    # Even a rate of 0 against one of 100% is no verdict on so few messages.
    assert predictive_check(Claim(0, claimed, Decimal(0)), new, new) is None
    assert check(cell_learning(0, claimed), cell(new, new)) is None


def test_a_consistent_cycle_validates_the_learning_with_the_pooled_count() -> None:
    earlier = cell_learning(100, 1000)

    found = check(earlier, cell(55, 500, "1650"))

    assert found is not None
    assert found.status is LearningStatus.VALIDATED
    assert found.reviewed_at == LATER
    assert found.evidence == ("action:c-1-a", "cycle:c-2", "action:c-2-a")
    assert claim_of(found.insight) == Claim(155, 1500, Decimal("4650"))
    assert found.confidence == pytest.approx(1500 / 2500)
    assert found.insight.startswith("email to eu (offer welcome-10, angle value): 155 conv")
    assert "validated by c-2: 55 of 500 converted (11.00%), inside the 95%" in found.insight
    assert found.insight.endswith("pooled over 2 cycles")
    assert (found.id, found.cycle_id, found.created_at) == (earlier.id, "c-1", T0)


def test_a_validated_learning_is_checked_against_its_pooled_claim_by_the_next_cycle() -> None:
    second = check(cell_learning(100, 1000), cell(50, 500))
    assert second is not None

    third = check(second, cell(30, 300), cycle="c-3")

    assert third is not None
    assert third.status is LearningStatus.VALIDATED
    assert claim_of(third.insight) == Claim(180, 1800, Decimal(3000))
    assert third.insight.count("validated by") == 1
    assert "validated by c-3" in third.insight
    assert third.insight.endswith("pooled over 3 cycles")
    assert third.evidence[-2:] == ("cycle:c-3", "action:c-3-a")


def test_a_different_rate_refutes_the_learning_and_keeps_its_claim() -> None:
    earlier = cell_learning(100, 1000)

    found = check(earlier, cell(30, 100))

    assert found is not None
    assert found.status is LearningStatus.REFUTED
    assert claim_of(found.insight) == claim_of(earlier.insight)
    assert "refuted by c-2: 30 of 100 converted (30.00%), outside the 95%" in found.insight
    assert found.confidence < 0.05  # the check's p-value
    assert found.evidence == ("action:c-1-a", "cycle:c-2", "action:c-2-a")


def test_a_validated_learning_can_still_be_refuted_but_a_refuted_one_is_final() -> None:
    validated = check(cell_learning(100, 1000), cell(10, 100))
    assert validated is not None

    refuted = check(validated, cell(1, 200), cycle="c-3")
    assert refuted is not None
    assert refuted.status is LearningStatus.REFUTED
    assert "validated by" not in refuted.insight
    assert claim_of(refuted.insight) == Claim(110, 1100, Decimal(3000))

    assert check(refuted, cell(110, 1100), cycle="c-4") is None


def test_a_cycle_reviews_a_learning_once() -> None:
    found = check(cell_learning(100, 1000), cell(10, 100))
    assert found is not None
    assert check(found, cell(10, 100)) is None


def test_an_insight_without_a_claim_is_left_alone() -> None:
    plain = Learning("c-1:cell:eu/email/-/value", "email works", ("x",), 0.5, T0, cycle_id="c-1")
    assert claim_of(plain.insight) is None
    assert check(plain, cell(10, 100)) is None


def test_only_learnings_of_the_measured_cells_from_other_cycles_are_reviewed() -> None:
    earlier = cell_learning(100, 1000)
    own = cell_learning(10, 100, cycle="c-2")
    other_cell = Learning(
        "c-1:cell:us/email/-/value", earlier.insight, earlier.evidence, 0.5, T0, cycle_id="c-1"
    )
    rejected = Learning(
        rejection_id("send_message", "email", "eu", "welcome-10"),
        "People rejected 2 sends",
        ("action:x",),
        0.5,
        T0,
        cycle_id="c-1",
    )
    measured = [cell(10, 100)]

    found = review_cells(
        [earlier, own, other_cell, rejected], measured, {KEY: ["action:c-2-a"]}, "c-2", LATER, HALF
    )

    assert [lr.id for lr in found] == [earlier.id]
    assert cell_of(earlier.id) == "eu/email/welcome-10/value"
    assert cell_of(rejected.id) is None
