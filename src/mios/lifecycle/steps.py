"""The first three stages of a cycle as plain functions over ``CycleServices``: plan, decide,
review. Each is safe to run again after a crash: it finds what an earlier run wrote (the cycle
record, actions already through the gate) and does not write it twice.

    plan     opt-outs written into consent; newest snapshot -> the playbook's agents -> proposals
    decide   audiences resolved to customer rows, a forecaster, budgets, contact caps and
             what earlier cycles sent (``contacts``) -> one decision per proposal
    review   each selected proposal -> an action (a message to an addressed audience holding
             out the playbook's ``experiments.holdout``) -> the reviewer -> Human Command
             (allowed, awaiting approval, or blocked)

``durable`` runs each as a DBOS step; tests call them directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

import numpy as np

from mios.agents.planner import run_agents
from mios.brain.arbitration_model import BudgetLimits, ContactCaps
from mios.brain.decide import decide as brain_decide
from mios.context.store import ContextSnapshot
from mios.domain.action import Action, ActionState
from mios.domain.channel import ChannelName
from mios.domain.cycle import Cycle, CycleStage, Playbook
from mios.domain.holdout import EXPERIMENT_ID, HOLDOUT_SHARE
from mios.domain.money import Money
from mios.domain.policy import AutonomyMatrix, stricter
from mios.domain.proposal import ActionKind, Decision, DecisionStatus, Proposal, RiskTier
from mios.domain.workspace import Workspace
from mios.errors import DomainError
from mios.governance.audience import segment_mask
from mios.governance.review import Reviewer
from mios.governance.review_context import ReviewContext
from mios.lifecycle.commitments import replaceable
from mios.lifecycle.contacts import contact_denials, contact_history, reachable, with_denied
from mios.lifecycle.forecasting import forecaster_for
from mios.lifecycle.opt_outs import record_opt_outs
from mios.lifecycle.services import CycleServices
from mios.types import IntArray

#: Kinds that change something outside mios; the rest (insights, content drafts, segments,
#: experiment designs) are executed inside it and reach no channel.
CHANNEL_KINDS = frozenset(
    {
        ActionKind.SEND_MESSAGE,
        ActionKind.PUBLISH_CONTENT,
        ActionKind.SET_BUDGET,
        ActionKind.ADJUST_BID,
    }
)


def cycle_id(playbook: str, number: int) -> str:
    return f"cycle-{playbook}-{number}"


def action_id(cycle: str, proposal_id: str) -> str:
    """Deterministic, so a review that runs again finds the action it submitted."""
    return f"{cycle}-{proposal_id}"


def playbook_named(workspace: Workspace, name: str) -> Playbook:
    found = next((p for p in workspace.playbooks if p.name == name), None)
    if found is None:
        known = ", ".join(p.name for p in workspace.playbooks) or "none"
        raise DomainError(f"no playbook named {name!r}; playbooks: {known}")
    return found


@dataclass(frozen=True)
class ActionRef:
    """An action as a cycle knows it after review: enough to start its execution."""

    id: str
    version: int
    state: ActionState
    channel: str | None  # whose queue runs it; None when it reaches no channel


@dataclass(frozen=True)
class PlanResult:
    snapshot_version: int
    proposals: tuple[Proposal, ...]
    agent_errors: tuple[tuple[str, str], ...]  # (agent, error)


def advance(services: CycleServices, cycle: Cycle, to: CycleStage, **summary: object) -> Cycle:
    """Move ``cycle`` to ``to`` unless a run before a crash already did; save it either way."""
    if cycle.stage.order < to.order:
        cycle.advance(to, max(services.clock(), cycle.started_at))
    services.cycles.save(cycle, summary or None)
    return cycle


def open_cycle(services: CycleServices, playbook: str, number: int) -> Cycle:
    """The cycle record, made on the newest snapshot, or the one an earlier run made."""
    name = cycle_id(playbook, number)
    found = services.cycles.get(name)
    if found is not None:
        return found
    # Who opted out since the last cycle must not be messaged again: the snapshot knows first.
    record_opt_outs(services)
    snapshot = services.context.snapshot()
    playbook_named(snapshot.workspace, playbook)
    cycle = Cycle(name, playbook, number, snapshot.version, services.clock())
    services.cycles.save(cycle, {"playbook": playbook})
    return cycle


def plan(services: CycleServices, cycle: Cycle) -> PlanResult:
    """The playbook's agents on the cycle's snapshot. Proposal ids are stable per snapshot, so
    a plan that runs again proposes the same ids."""
    snapshot = services.context.snapshot(cycle.snapshot_version)
    book = playbook_named(snapshot.workspace, cycle.playbook)
    agents = [services.agents.create(name) for name in book.agents]
    context = services.agent_context(snapshot, services.clock(), services.seed + cycle.number)
    workspace = context.workspace
    context = replace(
        context, workspace=replace(workspace, objective=book.serving(workspace.objective))
    )
    result = run_agents(agents, context)
    errors = tuple((r.agent, r.error) for r in result.runs if r.error is not None)
    cycle.proposal_ids = [p.id for p in result.proposals]
    advance(
        services,
        cycle,
        CycleStage.DECIDE,
        proposals=len(result.proposals),
        agent_errors=[list(e) for e in errors],
    )
    return PlanResult(snapshot.version, result.proposals, errors)


def decide(
    services: CycleServices, cycle: Cycle, proposals: Sequence[Proposal]
) -> tuple[Decision, ...]:
    """The brain's decisions on the cycle's proposals, within the money the ledger has left
    and the workspace's contact caps. A message the contact policy would deny on what earlier
    cycles sent (``contacts.contact_history``) is dropped before the brain, with the policy's
    findings as its reasons, once the customers it lists whom the policy would deny are left
    out (``contacts.reachable_now``); ``review`` leaves out the same."""
    snapshot = services.context.snapshot(cycle.snapshot_version)
    workspace = snapshot.workspace
    customers = snapshot.customers()
    now = services.clock()
    objective = playbook_named(workspace, cycle.playbook).serving(workspace.objective)
    # Messages the contact policy would deny on what earlier cycles sent never reach the
    # brain: it selects a message whole, and its caps count one cycle only. Listed customers
    # it would deny are left out first, so the brain sizes the message that will be reviewed.
    history = contact_history(services, snapshot, now)
    contacts = ReviewContext(workspace, customers, snapshot.ledger, now, history)
    proposals = reachable(proposals, contacts, services.checkers)
    denied = contact_denials(proposals, contacts, services.checkers)
    audiences = resolve_audiences(proposals, workspace, snapshot)
    decided = brain_decide(
        [p for p in proposals if p.id not in denied],
        forecaster=forecaster_for(
            snapshot,
            services.cycles.cells(),
            seed=services.seed,
            objective=objective.primary_kpi,
        ),
        audiences={k: rows for k, rows in audiences.items() if k not in denied},
        population=len(customers),
        budget=budget_limits(snapshot, now),
        caps=contact_caps(workspace),
        now=now,
    )
    decisions = with_denied(proposals, decided, denied, audiences, now)
    selected = sum(d.status is DecisionStatus.SELECTED for d in decisions)
    advance(
        services,
        cycle,
        CycleStage.REVIEW,
        decisions={str(s): sum(d.status is s for d in decisions) for s in DecisionStatus},
        selected=selected,
    )
    return tuple(decisions)


def review(
    services: CycleServices,
    cycle: Cycle,
    proposals: Sequence[Proposal],
    decisions: Sequence[Decision],
) -> tuple[ActionRef, ...]:
    """Each selected proposal through the gate, once: an action already submitted (by a run
    before a crash) is taken as it is stored. Messages carry the playbook's holdout before the
    gate sees them, so what people approve says who it keeps out."""
    snapshot = services.context.snapshot(cycle.snapshot_version)
    book = playbook_named(snapshot.workspace, cycle.playbook)
    workspace = governed_workspace(snapshot.workspace, book)
    reviewer = Reviewer(workspace, services.checkers)
    now = services.clock()
    context = ReviewContext(
        workspace,
        snapshot.customers(),
        snapshot.ledger,
        now,
        contacts=contact_history(services, snapshot, now),
    )
    by_id = {p.id: p for p in proposals}
    store = services.command.store
    refs = []
    for decision in decisions:
        if decision.status is not DecisionStatus.SELECTED:
            continue
        proposal = by_id[decision.proposal_id]
        made = action_id(cycle.id, proposal.id)
        action = store.action(made)
        if action is None:
            # As in decide: the action people approve leaves out whom the policy would deny.
            (proposal,) = reachable((proposal,), context, services.checkers)
            # The experiment is the action: one holdout per message, named by its id.
            action = Action.from_proposal(
                holding_out(proposal, made, book.experiment_holdout), made
            )
            verdict = reviewer.review(action, context, decision.risk)
            action = services.command.submit(action, verdict, proposal.agent_id).action
        refs.append(ActionRef(action.id, action.version, action.state, queue_channel(action)))
    cycle.action_ids = [r.id for r in refs]
    advance(
        services,
        cycle,
        CycleStage.EXECUTE,
        actions=state_counts(refs),
    )
    return tuple(refs)


def holding_out(proposal: Proposal, experiment_id: str, share: float) -> Proposal:
    """``proposal`` with a holdout of ``share`` as experiment ``experiment_id``, when it is a
    message to an addressed audience and ``share`` > 0; otherwise as it is. A proposal that
    set its own ``holdout_share`` (an agent's experiment) keeps it.

    The action's spend and audience stay the whole audience's: governance reviews, and the
    ledger commits, at most what the send can cost and whom it can reach; the channel sends
    to, and the market charges for, only those not held out, and measurement books that."""
    audience = proposal.audience
    if (
        share <= 0
        or proposal.kind is not ActionKind.SEND_MESSAGE
        or audience is None
        or not audience.is_addressed
        or HOLDOUT_SHARE in proposal.parameters
    ):
        return proposal
    parameters = {**proposal.parameters, HOLDOUT_SHARE: share, EXPERIMENT_ID: experiment_id}
    return replace(proposal, parameters=parameters)


def queue_channel(action: Action) -> str | None:
    """The channel whose queue runs the action: ``None`` for what reaches no channel."""
    if action.channel is None or action.kind not in CHANNEL_KINDS:
        return None
    return str(action.channel)


def governed_workspace(workspace: Workspace, playbook: Playbook) -> Workspace:
    """The workspace with the playbook's autonomy overrides applied, where they are stricter.

    A playbook is not governed the way the autonomy matrix is (changing the matrix needs an
    admin; a playbook file does not), so an override may tighten the matrix and never loosen
    it; the floor holds as well."""
    overrides = playbook.autonomy()
    if not overrides:
        return workspace
    matrix = workspace.autonomy
    entries = dict(matrix.entries)
    for kind, mode in overrides.items():
        for risk in RiskTier:
            entries[(kind, risk)] = stricter(matrix.mode(kind, risk), mode)
    return replace(workspace, autonomy=AutonomyMatrix(entries, matrix.default))


def resolve_audiences(
    proposals: Sequence[Proposal], workspace: Workspace, snapshot: ContextSnapshot
) -> dict[str, IntArray]:
    """Customer rows of each message's addressed audience; one array per segment, shared."""
    customers = snapshot.customers()
    segments = {s.id: s for s in workspace.segments}
    by_segment: dict[str, IntArray] = {}
    out: dict[str, IntArray] = {}
    for p in proposals:
        audience = p.audience
        if p.kind is not ActionKind.SEND_MESSAGE or audience is None or not audience.is_addressed:
            continue
        parts: list[IntArray] = []
        if audience.segment_id is not None:
            rows = by_segment.get(audience.segment_id)
            if rows is None:
                segment = segments.get(audience.segment_id)
                # An unknown segment reaches nobody here; the review denies it by name.
                rows = (
                    np.empty(0, np.int64)
                    if segment is None
                    else np.flatnonzero(segment_mask(segment, customers)).astype(np.int64)
                )
                by_segment[audience.segment_id] = rows
            parts.append(rows)
        if audience.customer_ids:
            found = customers.positions(list(audience.customer_ids))
            parts.append(found[found >= 0].astype(np.int64))
        if len(parts) == 1 and audience.segment_id is not None:
            out[p.id] = parts[0]
        else:
            out[p.id] = np.unique(np.concatenate(parts)).astype(np.int64)
    return out


def budget_limits(snapshot: ContextSnapshot, now: datetime) -> BudgetLimits:
    """What the ledger has left per channel this budget period (never below zero), counting as
    left what a running budget holds: a new ``set_budget`` there replaces it, and without this
    a budget once running would leave no room to change it until the period ends."""
    ledger = snapshot.ledger
    available: dict[ChannelName, Money] = {}
    for channel in ledger.budgets:
        left = ledger.position(channel, now).available + replaceable(snapshot, channel, now)
        available[channel] = left if not left.is_negative() else Money(Decimal(0), left.currency)
    return BudgetLimits(per_channel=available)


def contact_caps(workspace: Workspace) -> ContactCaps:
    """Messages per customer in one cycle: a cycle's sends go out on one day, so the daily
    caps of the contact policy apply (the weekly ones where no daily cap is set)."""
    policy = workspace.guardrails.contact
    per_channel = {
        channel: cap
        for channel, caps in policy.per_channel.items()
        if (cap := caps.day if caps.day is not None else caps.week) is not None
    }
    overall = policy.all_channels
    total = overall.day if overall.day is not None else overall.week
    return ContactCaps(per_channel, total)


def state_counts(refs: Sequence[ActionRef]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ref in refs:
        counts[str(ref.state)] = counts.get(str(ref.state), 0) + 1
    return counts
