"""A whole cycle in one call, without DBOS: the same steps in the same order, for tests,
benchmarks and callers that need no durability. ``durable.cycle_workflow`` is the durable one.
"""

from __future__ import annotations

from dataclasses import dataclass

from mios.domain.action import ActionState
from mios.domain.proposal import Decision
from mios.lifecycle import learning, steps
from mios.lifecycle.execution import ExecutionResult, execute_action
from mios.lifecycle.learning import Measured, record_rejections
from mios.lifecycle.services import LIFECYCLE, CycleServices
from mios.lifecycle.steps import ActionRef


@dataclass(frozen=True)
class InlineReport:
    cycle_id: str
    proposals: int
    decisions: tuple[Decision, ...]
    actions: tuple[ActionRef, ...]
    executions: tuple[ExecutionResult, ...]
    measured: Measured
    learnings: tuple[str, ...]


def run_cycle_inline(services: CycleServices, playbook: str, number: int) -> InlineReport:
    if services.cycles.get(steps.cycle_id(playbook, number)) is None:
        record_rejections(services, playbook)
    cycle = steps.open_cycle(services, playbook, number)
    planned = steps.plan(services, cycle)
    decisions = steps.decide(services, cycle, planned.proposals)
    refs = steps.review(services, cycle, planned.proposals, decisions)
    executions = tuple(
        execute_action(services, ref.id, ref.version, f"{LIFECYCLE}:inline:{ref.id}")
        for ref in refs
        if ref.state is ActionState.APPROVED
    )
    measured = learning.measure(services, cycle)
    learned = learning.learn(services, cycle, measured)
    return InlineReport(
        cycle.id, len(planned.proposals), decisions, refs, executions, measured, learned
    )
