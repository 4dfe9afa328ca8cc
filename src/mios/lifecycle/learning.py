"""The last two stages of a cycle: measure what its actions did, and learn from it.

    measure   let the market's days pass (a simulator source, for the playbook's measurement
              window), keep every outcome it reported (``OutcomeSink``, once per outcome id),
              attribute outcomes to the cycle's actions by action id, mark them ``measured``
              (with the actions of earlier cycles that people approved after those measured:
              they ran in this cycle's window); a message whose channel held out part of its
              audience is set against that holdout (``incrementality``, its holdout's
              purchases kept out of the message's own counts)
    learn     the response model's counts per cell (messages, conversions, revenue), kept per
              cycle for the next cycle's forecaster; a learning per cell measured; earlier
              learnings of those cells validated or refuted by what this cycle measured
              (``mios.lifecycle.validation``); and a learning per kind of proposal people
              rejected (kind, segment, offer, with their reasons), so agents reading
              ``ctx.learnings`` can propose less of it

Both may run again after a crash: cells are replaced per cycle, outcomes are kept once, a
learning already in the context unchanged is not written again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from statistics import NormalDist

from mios.brain.decide_response import UNNAMED
from mios.context.store import ContextChange, ContextSnapshot
from mios.domain.action import Action, ActionState
from mios.domain.budget import EntryKind, LedgerEntry
from mios.domain.cycle import Cycle, CycleStage
from mios.domain.holdout import holdout_of
from mios.domain.outcome import Learning, LearningStatus, Outcome, OutcomeKind, rejection_id
from mios.domain.proposal import ActionKind, segment_of
from mios.lifecycle.commitments import book
from mios.lifecycle.cycle_store import CellCount
from mios.lifecycle.services import LIFECYCLE, CycleServices
from mios.lifecycle.steps import advance, playbook_named
from mios.lifecycle.validation import review_cells
from mios.measure.attribution import HOLDOUT_ARM, Incrementality, incrementality, is_holdout

#: Outcome kinds whose money is revenue (a conversion carries its order's value).
_VALUED = frozenset({OutcomeKind.CONVERSION, OutcomeKind.REVENUE})
#: How many messages make a cell's rate worth half confidence.
_HALF_CONFIDENCE_SENDS = 1000


@dataclass(frozen=True)
class ActionMeasure:
    """What one action of the cycle produced, from its receipt and its outcomes."""

    action_id: str
    kind: ActionKind
    cell: tuple[str, str, str, str] | None  # messages only
    sent: int
    conversions: int
    revenue: Decimal
    counts: dict[str, int]  # every outcome kind seen, summed (the holdout's purchases aside)
    held_out: int = 0  # audience members its channel kept out
    # Set against its holdout: messages with an experiment whose channel held some out.
    incrementality: Incrementality | None = None


@dataclass(frozen=True)
class Measured:
    ingested: int  # outcomes new to the sink
    actions: tuple[ActionMeasure, ...]


def cell_of(action: Action) -> tuple[str, str, str, str]:
    """The response-model cell of a message (as ``decide_response.cell_of`` for proposals)."""
    content = action.content
    return (
        segment_of(action.audience, action.parameters) or UNNAMED,
        str(action.channel) if action.channel else UNNAMED,
        (content.offer_id if content else None) or UNNAMED,
        (content.angle if content else None) or UNNAMED,
    )


def measure(services: CycleServices, cycle: Cycle) -> Measured:
    advance(services, cycle, CycleStage.MEASURE)
    snapshot = services.context.snapshot(cycle.snapshot_version)
    book = playbook_named(snapshot.workspace, cycle.playbook)
    ingested = 0
    source = services.source
    if source is not None:
        # The window's end is fixed the first time: a measure step run again (its market still
        # running) closes only the days the first run did not, so no day passes twice.
        until = services.cycles.summary(cycle.id).get("window_until_day")
        if until is None:
            until = source.day + book.measurement_window_days
            services.cycles.save(cycle, {"window_until_day": until})
        while source.day < until:
            source.advance_day()
        taken = source.take_outcomes()
        ingested = services.outcomes.add(taken)
        book_spend(services, taken, cycle.id)
    store = services.command.store
    measures = []
    measurer = f"{LIFECYCLE}:{cycle.id}"
    for action_id in _to_measure(services, cycle, measurer):
        action = store.action(action_id)
        if action is None or action.state not in (ActionState.EXECUTED, ActionState.MEASURED):
            continue
        counts: dict[str, int] = defaultdict(int)
        revenue = Decimal(0)
        outcomes = services.outcomes.query(action_ids=[action_id])
        for outcome in outcomes:
            if is_holdout(outcome):
                continue  # bought without the message: the holdout's, not the action's
            counts[str(outcome.kind)] += outcome.count
            if outcome.kind in _VALUED and outcome.value is not None:
                revenue += outcome.value.amount
        receipt = services.receipts.get(action.idempotency_key)
        # Messages sent: the channel's count, or what was reported delivered if more (a
        # channel that takes an action whole reports one unit).
        accepted = receipt.accepted if receipt is not None else 0
        sent = max(accepted, counts[OutcomeKind.DELIVERED])
        is_message = action.kind is ActionKind.SEND_MESSAGE
        held_out = receipt.held_out if receipt is not None else 0
        measures.append(
            ActionMeasure(
                action.id,
                action.kind,
                cell_of(action) if is_message else None,
                sent,
                counts[OutcomeKind.CONVERSION],
                revenue,
                dict(counts),
                held_out,
                _against_holdout(action, outcomes, sent, held_out) if is_message else None,
            )
        )
        if action.state is ActionState.EXECUTED:
            action.measure(services.clock(), measurer)
            services.command.record_transition(action, measurer, "action.measured", dict(counts))
    advance(
        services,
        cycle,
        CycleStage.OPTIMIZE,
        measured=len(measures),
        outcomes_ingested=ingested,
        conversions=sum(m.conversions for m in measures),
        revenue=str(sum((m.revenue for m in measures), Decimal(0))),
        incrementality={
            m.action_id: _summary(m.incrementality)
            for m in measures
            if m.incrementality is not None
        },
    )
    return Measured(ingested, tuple(measures))


def _against_holdout(
    action: Action, outcomes: Sequence[Outcome], sent: int, held_out: int
) -> Incrementality | None:
    """The message's conversions set against its holdout's: ``None`` without an experiment,
    or when its channel sent nothing or held nobody out (a connector that leaves the holdout
    to another system and never learns its size).

    Every conversion credited to the message is the treated arm's, marked or not (a purchase
    tracked back to an email knows nothing of the experiment); the holdout's are those reported
    under the action with ``arm: holdout``."""
    holdout = holdout_of(action.id, action.parameters)
    if holdout is None or sent < 1 or held_out < 1:
        return None
    experiment = holdout.experiment_id
    arms = [
        replace(
            o,
            attributes={
                **o.attributes,
                "experiment_id": experiment,
                "arm": HOLDOUT_ARM if is_holdout(o) else "treatment",
            },
        )
        for o in outcomes
        if o.kind is OutcomeKind.CONVERSION
        and o.attributes.get("experiment_id", experiment) == experiment
    ]
    return incrementality(arms, experiment, treated_size=sent, holdout_size=held_out)


def incrementality_learnings(
    cycle: Cycle, measures: Sequence[ActionMeasure], now: datetime
) -> list[Learning]:
    """One learning per message set against its holdout, with the action and its experiment
    as evidence. Its id names the cycle and the action, so a learn step run again writes the
    same learning and ``_write_new`` keeps it once.

    Its confidence is how sure the holdout makes it that the message's effect has the sign
    measured: under the interval's normal approximation (centre and standard error read off
    the interval), the probability that the true incremental conversions lie on the side of
    zero the estimate is on. It is 0.5 when the interval is centred on zero (the holdout says
    nothing either way) and nears 1 as the interval moves off zero; a share of the interval
    above zero would instead call a clear loss a learning held with no confidence."""
    learnings = []
    for m in measures:
        found = m.incrementality
        if found is None or m.cell is None:
            continue
        segment, channel, offer, _angle = m.cell
        whom = "listed customers" if segment == UNNAMED else f"segment {segment}"
        what = "no offer" if offer == UNNAMED else f"offer {offer}"
        low, high = found.interval
        relative = "" if found.relative_lift is None else f", {found.relative_lift:+.0%} relative"
        learnings.append(
            Learning(
                id=f"{cycle.id}:incrementality:{m.action_id}",
                insight=(
                    f"{channel} to {whom}, {what}: incremental conversions "
                    f"{found.incremental_conversions:.1f} ({found.confidence:.0%} interval "
                    f"{low:.1f}..{high:.1f}), lift {found.lift * 100:+.2f} points vs holdout "
                    f"({found.treated_rate:.2%} of {found.treated_size} sent, "
                    f"{found.holdout_rate:.2%} of {found.holdout_size} held out{relative})"
                ),
                evidence=(f"action:{m.action_id}", f"experiment:{found.experiment_id}"),
                confidence=sign_confidence(found),
                created_at=now,
                cycle_id=cycle.id,
            )
        )
    return learnings


def sign_confidence(found: Incrementality) -> float:
    """The probability that the true effect has the sign of the interval's centre (see
    ``incrementality_learnings``), in [0.5, 1]."""
    low, high = found.interval
    z = NormalDist().inv_cdf(0.5 + found.confidence / 2)
    se = (high - low) / (2 * z)
    if se <= 0:
        return 1.0
    return NormalDist().cdf(abs(low + high) / 2 / se)


def _summary(found: Incrementality) -> dict[str, object]:
    """What the cycle's summary keeps of one action's incrementality (JSON values)."""
    low, high = found.interval
    return {
        "experiment_id": found.experiment_id,
        "treated": found.treated_size,
        "held_out": found.holdout_size,
        "treated_conversions": found.treated_conversions,
        "holdout_conversions": found.holdout_conversions,
        "incremental_conversions": round(found.incremental_conversions, 2),
        "interval": [round(low, 2), round(high, 2)],
        "confidence": found.confidence,
        "lift": round(found.lift, 6),
        "relative_lift": None if found.relative_lift is None else round(found.relative_lift, 4),
        "incremental_revenue": (
            None if found.incremental_revenue is None else str(found.incremental_revenue.amount)
        ),
    }


def _to_measure(services: CycleServices, cycle: Cycle, measurer: str) -> list[str]:
    """The cycle's actions, then those of earlier cycles of its playbook that people approved
    after their cycle had measured (they ran during this cycle's window): executed and not yet
    measured, or measured by this cycle before a crash (so a measure run again counts them)."""
    ids = list(cycle.action_ids)
    store = services.command.store
    for earlier in services.cycles.cycles(cycle.playbook):
        if earlier.number >= cycle.number:
            continue
        for action_id in earlier.action_ids:
            action = store.action(action_id)
            if action is None:
                continue
            if action.state is ActionState.EXECUTED or (
                action.state is ActionState.MEASURED and action.history[-1].actor == measurer
            ):
                ids.append(action_id)
    return ids


def book_spend(services: CycleServices, outcomes: Sequence[Outcome], cycle_id: str) -> None:
    """Book what the channels spent into the budget ledger, so the next decision and review see
    what is left. One entry per spend outcome, named by it: a measure step that runs again after
    a crash books nothing twice. What an action spent is no longer held for it: as much of its
    commitment is released with the spend (``commitments.with_releases``). Spend on a channel
    without a budget, or in another currency, is not the ledger's to hold (measurement still
    has it)."""

    def unbooked(head: ContextSnapshot) -> tuple[LedgerEntry, ...]:
        ledger = head.ledger
        booked = {e.note for e in head.ledger_entries}
        return tuple(
            LedgerEntry(o.channel, EntryKind.SPEND, o.value, o.at, o.action_id, f"outcome:{o.id}")
            for o in outcomes
            if o.kind is OutcomeKind.SPEND
            and o.channel is not None
            and o.value is not None
            and o.value.amount > 0
            and o.channel in ledger.budgets
            and o.value.currency == ledger.budget(o.channel).amount.currency
            and f"outcome:{o.id}" not in booked
        )

    book(services, unbooked, f"{cycle_id}: spend measured on the channels")


def record_rejections(services: CycleServices, playbook: str) -> None:
    """Write what people rejected since the last cycle of ``playbook`` into the context, before
    a new cycle takes its snapshot: approvals are answered between cycles, and the agents of
    the next one should already know."""
    previous = [c for c in services.cycles.cycles(playbook) if c.is_done]
    if not previous:
        return
    last = max(previous, key=lambda c: c.number)
    _write_new(services, rejection_learnings(services, last, services.clock()), last.id)


def _write_new(services: CycleServices, learnings: Sequence[Learning], cycle_id: str) -> None:
    head = services.context.snapshot()
    known = {lr.id: lr for lr in head.learnings}
    new = tuple(lr for lr in learnings if _says_more(known.get(lr.id), lr))
    if new:
        services.context.write(
            ContextChange(learnings=new),
            actor=LIFECYCLE,
            reason=f"{cycle_id}: what was measured and what people rejected",
        )


def _says_more(known: Learning | None, learning: Learning) -> bool:
    """Whether ``learning`` says what the context does not hold yet. A review is never undone
    by writing the unreviewed learning again (a learn step run again after a crash, when a
    later cycle has reviewed its learnings meanwhile)."""
    if known is None:
        return True
    if known.status is not LearningStatus.PROPOSED and learning.status is LearningStatus.PROPOSED:
        return False
    said = (known.insight, known.evidence, known.status)
    return said != (learning.insight, learning.evidence, learning.status)


def _reviews(
    services: CycleServices,
    cycle: Cycle,
    cells: Sequence[CellCount],
    measured: Measured,
    now: datetime,
) -> list[Learning]:
    """The learnings the cycle's snapshot held about the cells it measured, as they stand now,
    validated or refuted by what it measured (``mios.lifecycle.validation``). Those of its
    snapshot, not the newest: only what the cycle could not have shaped is put to its test,
    and a learn step run again checks the same ones."""
    earlier = {lr.id for lr in services.context.snapshot(cycle.snapshot_version).learnings}
    evidence = {
        cell.key: [f"action:{m.action_id}" for m in measured.actions if m.cell == cell.key]
        for cell in cells
    }
    return review_cells(
        (lr for lr in services.context.snapshot().learnings if lr.id in earlier),
        cells,
        evidence,
        cycle.id,
        now,
        _HALF_CONFIDENCE_SENDS,
    )


def learn(services: CycleServices, cycle: Cycle, measured: Measured) -> tuple[str, ...]:
    """Counts per cell for the response model, learnings into the context; ends the cycle."""
    now = services.clock()
    cells = cell_counts(measured.actions)
    services.cycles.save_cells(cycle.id, cells)
    learnings = [_cell_learning(cycle, cell, measured.actions, now) for cell in cells]
    learnings += rejection_learnings(services, cycle, now)
    learnings += incrementality_learnings(cycle, measured.actions, now)
    _write_new(services, [*learnings, *_reviews(services, cycle, cells, measured, now)], cycle.id)
    ids = tuple(lr.id for lr in learnings)
    if cycle.stage is not CycleStage.DONE:
        cycle.finish(max(now, cycle.started_at))
    services.cycles.save(cycle, {"learnings": list(ids), "cells": len(cells)})
    return ids


def cell_counts(measures: Sequence[ActionMeasure]) -> list[CellCount]:
    trials: dict[tuple[str, str, str, str], int] = defaultdict(int)
    successes: dict[tuple[str, str, str, str], int] = defaultdict(int)
    revenue: dict[tuple[str, str, str, str], Decimal] = defaultdict(Decimal)
    for m in measures:
        if m.cell is None or m.sent <= 0:
            continue
        trials[m.cell] += m.sent
        successes[m.cell] += min(m.conversions, m.sent)
        revenue[m.cell] += m.revenue
    return [CellCount(*key, trials[key], successes[key], revenue[key]) for key in sorted(trials)]


def _cell_learning(
    cycle: Cycle, cell: CellCount, measures: Sequence[ActionMeasure], now: datetime
) -> Learning:
    rate = cell.successes / cell.trials
    evidence = tuple(f"action:{m.action_id}" for m in measures if m.cell == cell.key)
    return Learning(
        id=f"{cycle.id}:cell:{'/'.join(cell.key)}",
        insight=(
            f"{cell.channel} to {cell.segment} (offer {cell.offer}, angle {cell.angle}): "
            f"{cell.successes} conversions from {cell.trials} messages ({rate:.2%}), "
            f"revenue {cell.revenue:.2f}"
        ),
        evidence=evidence,
        confidence=cell.trials / (cell.trials + _HALF_CONFIDENCE_SENDS),
        created_at=now,
        cycle_id=cycle.id,
        model_updates=(f"response-model:{'/'.join(cell.key)}",),
    )


def rejection_learnings(services: CycleServices, cycle: Cycle, now: datetime) -> list[Learning]:
    """One learning per (kind, channel, segment, offer) people rejected in any cycle of the
    playbook so far, with every rejected action as evidence and the reasons people gave (the
    agents read them: ``mios.agents.rejections``)."""
    store = services.command.store
    groups: dict[tuple[str, str, str, str], list[tuple[str, str]]] = defaultdict(list)
    for each in services.cycles.cycles(cycle.playbook):
        ids = cycle.action_ids if each.id == cycle.id else each.action_ids
        for action_id in ids:
            action = store.action(action_id)
            if action is None or action.state is not ActionState.BLOCKED:
                continue
            block = action.history[-1]
            if not (block.reason or "").startswith("rejected by"):
                continue  # blocked by a rule or an expiry, not by a person
            content = action.content
            key = (
                str(action.kind),
                str(action.channel) if action.channel else UNNAMED,
                segment_of(action.audience, action.parameters) or UNNAMED,
                (content.offer_id if content else None) or UNNAMED,
            )
            groups[key].append((action.id, block.reason or ""))
    learnings = []
    for (kind, channel, segment, offer), rejected in sorted(groups.items()):
        reasons = "; ".join(sorted({r for _, r in rejected}))
        learnings.append(
            Learning(
                id=rejection_id(kind, channel, segment, offer),
                insight=(
                    f"People rejected {len(rejected)} {kind} proposal(s) on {channel} for "
                    f"segment {segment} with offer {offer}: {reasons}"
                ),
                evidence=tuple(f"action:{a}" for a, _ in rejected),
                confidence=len(rejected) / (len(rejected) + 1),
                created_at=now,
                cycle_id=cycle.id,
            )
        )
    return learnings
