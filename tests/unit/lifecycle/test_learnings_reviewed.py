"""A later cycle that measures the same cells validates or refutes what an earlier one learned,
and a learn step run again (after a crash) writes nothing new and undoes no review."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from mios.domain.outcome import Learning, LearningStatus, Outcome, OutcomeKind
from mios.lifecycle import learning
from mios.lifecycle.inline import InlineReport, run_cycle_inline
from mios.lifecycle.validation import MIN_TRIALS, Claim, cell_of, claim_of
from tests.support.lifecycle import PLAYBOOK, Market, Setup, setup


@dataclass
class TunedMarket(Market):
    """The test market, reporting ``converted`` conversions of ``delivered`` messages per send
    (``Market`` reports 10 of 100; each conversion report is still worth 300)."""

    converted: int = 10
    delivered: int = 100

    def take_outcomes(self) -> list[Outcome]:
        counts = {OutcomeKind.CONVERSION: self.converted, OutcomeKind.DELIVERED: self.delivered}
        return [
            replace(o, count=counts[o.kind]) if o.kind in counts else o
            for o in super().take_outcomes()
        ]


def convert(s: Setup, converted: int, delivered: int = 100) -> None:
    """From now on the market converts ``converted`` of ``delivered`` messages per send."""
    s.market = TunedMarket(s.channel, s.market.days, s.market.reported, [], converted, delivered)
    s.services = replace(s.services, source=s.market)


def learned(s: Setup, report: InlineReport) -> list[Learning]:
    """The newest state of the cell learnings ``report``'s cycle wrote."""
    newest = {lr.id: lr for lr in s.services.context.snapshot().learnings}
    return [newest[i] for i in report.learnings if cell_of(i) is not None]


def actions_in(report: InlineReport, lr: Learning) -> list[str]:
    key = tuple((cell_of(lr.id) or "").split("/"))
    return [f"action:{m.action_id}" for m in report.measured.actions if m.cell == key]


def learn_again(s: Setup, report: InlineReport) -> None:
    cycle = s.services.cycles.get(report.cycle_id)
    assert cycle is not None
    learning.learn(s.services, cycle, report.measured)


def test_a_second_cycle_at_the_same_rate_validates_the_first_ones_learnings() -> None:
    s = setup()
    first = run_cycle_inline(s.services, PLAYBOOK, 1)
    proposed = {lr.id: lr for lr in learned(s, first)}
    second = run_cycle_inline(s.services, PLAYBOOK, 2)

    validated = learned(s, first)
    assert len(validated) == 2  # the EU segment, and the audience listed by id
    for lr in validated:
        assert lr.status is LearningStatus.VALIDATED
        own = actions_in(second, lr)
        assert len(own) == 1
        assert lr.evidence == (*proposed[lr.id].evidence, "cycle:cycle-weekly-2", *own)
        assert claim_of(lr.insight) == Claim(20, 200, Decimal(600))  # both cycles pooled
        assert lr.confidence == 200 / (200 + 1000)
        assert "validated by cycle-weekly-2: 10 of 100 converted (10.00%)" in lr.insight
    assert {lr.status for lr in learned(s, second)} == {LearningStatus.PROPOSED}
    assert not set(second.learnings) & set(proposed)  # a cycle reports its own learnings


def test_a_second_cycle_at_another_rate_refutes_them_and_a_third_validates_its_own() -> None:
    s = setup()
    first = run_cycle_inline(s.services, PLAYBOOK, 1)
    convert(s, 30)
    second = run_cycle_inline(s.services, PLAYBOOK, 2)

    refuted = learned(s, first)
    assert {lr.status for lr in refuted} == {LearningStatus.REFUTED}
    for lr in refuted:
        assert claim_of(lr.insight) == Claim(10, 100, Decimal(300))  # the claim it made
        assert "refuted by cycle-weekly-2: 30 of 100 converted (30.00%), outside" in lr.insight
        assert lr.confidence < 0.05
        assert lr.evidence[-2:] == ("cycle:cycle-weekly-2", *actions_in(second, lr))

    run_cycle_inline(s.services, PLAYBOOK, 3)

    assert learned(s, first) == refuted  # refuted is final
    assert {lr.status for lr in learned(s, second)} == {LearningStatus.VALIDATED}


def test_learn_run_again_after_a_crash_writes_nothing_new() -> None:
    s = setup()
    run_cycle_inline(s.services, PLAYBOOK, 1)
    second = run_cycle_inline(s.services, PLAYBOOK, 2)
    head = s.services.context.head()
    before = s.services.context.snapshot().learnings

    learn_again(s, second)
    learn_again(s, second)

    assert s.services.context.head() == head
    assert s.services.context.snapshot().learnings == before


def test_the_first_cycle_learning_again_does_not_undo_the_second_ones_review() -> None:
    """The first cycle's learn step runs again (its process died after writing) once the second
    cycle has validated what it learned: the proposed learnings are not written over."""
    s = setup()
    first = run_cycle_inline(s.services, PLAYBOOK, 1)
    run_cycle_inline(s.services, PLAYBOOK, 2)
    head = s.services.context.head()

    learn_again(s, first)

    assert s.services.context.head() == head
    assert {lr.status for lr in learned(s, first)} == {LearningStatus.VALIDATED}


def test_a_cycle_with_too_few_messages_leaves_the_learnings_proposed() -> None:
    s = setup()
    first = run_cycle_inline(s.services, PLAYBOOK, 1)
    convert(s, 5, delivered=MIN_TRIALS // 2)  # the same rate, on half the minimum

    second = run_cycle_inline(s.services, PLAYBOOK, 2)

    assert {c.trials for c in s.services.cycles.cells()} == {100, MIN_TRIALS // 2}
    assert {lr.status for lr in learned(s, first)} == {LearningStatus.PROPOSED}
    assert all("cycle:" not in " ".join(lr.evidence) for lr in learned(s, first))
    assert len(learned(s, second)) == 2
