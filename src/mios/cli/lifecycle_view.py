"""How the lifecycle commands show cycles, actions and learnings: JSON for scripts, Rich for
people. A cycle is shown from what its stages stored, so ``mios run`` and ``mios cycles show``
print the same counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from mios.cli.output import stdout

if TYPE_CHECKING:
    from mios.domain.action import Action
    from mios.domain.cycle import Cycle
    from mios.domain.outcome import Learning

#: The state an action is left in by each verdict of the review.
VERDICT_OF_STATE = {"approved": "allow", "awaiting_approval": "approve", "blocked": "deny"}
_EXECUTED = ("executed", "measured")


def agent_of(proposal_id: str) -> str:
    """Proposal ids are ``<agent>-<hash>`` (``AgentContext.proposal_id``)."""
    return proposal_id.rpartition("-")[0] or proposal_id


def cycle_json(
    cycle: Cycle,
    summary: dict[str, Any],
    actions: Sequence[Action],
    executions: dict[str, int] | None = None,
) -> dict[str, Any]:
    """One cycle's counts per stage. ``executions``: the run's own results (``mios run``);
    otherwise counted from the actions' current states."""
    at_review = summary.get("actions") or {}
    states = Counter(str(a.state) for a in actions)
    if executions is None:
        executions = {
            "executed": sum(states[s] for s in _EXECUTED),
            "failed": states["failed"],
        }
    return {
        "id": cycle.id,
        "playbook": cycle.playbook,
        "number": cycle.number,
        "stage": str(cycle.stage),
        "snapshot_version": cycle.snapshot_version,
        "started_at": cycle.started_at.isoformat(),
        "finished_at": None if cycle.finished_at is None else cycle.finished_at.isoformat(),
        "proposals": {
            "total": len(cycle.proposal_ids),
            "by_agent": dict(sorted(Counter(agent_of(p) for p in cycle.proposal_ids).items())),
            "agent_errors": summary.get("agent_errors") or [],
        },
        "decisions": {
            s: int((summary.get("decisions") or {}).get(s, 0))
            for s in ("selected", "deferred", "dropped")
        },
        "verdicts": {v: int(at_review.get(s, 0)) for s, v in VERDICT_OF_STATE.items()},
        "approvals_waiting": sorted(a.id for a in actions if str(a.state) == "awaiting_approval"),
        "executions": executions,
        "outcomes": {
            "ingested": int(summary.get("outcomes_ingested", 0)),
            "actions_measured": int(summary.get("measured", 0)),
            "conversions": int(summary.get("conversions", 0)),
            "revenue": summary.get("revenue", "0"),
        },
        # Per message with a holdout: what it added over the customers it kept out.
        "incrementality": dict(summary.get("incrementality") or {}),
        "learnings": list(summary.get("learnings") or []),
        "actions": dict(sorted(states.items())),
    }


def render_cycle(shown: dict[str, Any]) -> None:
    by_agent = ", ".join(f"{a} {n}" for a, n in shown["proposals"]["by_agent"].items())
    decisions, verdicts = shown["decisions"], shown["verdicts"]
    executions = ", ".join(f"{k} {v}" for k, v in shown["executions"].items() if v) or "none"
    outcomes = shown["outcomes"]
    stdout.print(
        Text(
            f"{shown['id']} ({shown['stage']}, context version {shown['snapshot_version']})",
            style="bold",
        )
    )
    lines = [
        ("plan", f"{shown['proposals']['total']} proposals ({by_agent or 'none'})"),
        (
            "decide",
            f"{decisions['selected']} selected, {decisions['deferred']} deferred, "
            f"{decisions['dropped']} dropped",
        ),
        (
            "review",
            f"{verdicts['allow']} allowed, {verdicts['approve']} to approve, "
            f"{verdicts['deny']} denied; {len(shown['approvals_waiting'])} approvals waiting",
        ),
        ("execute", executions),
        (
            "measure",
            f"{outcomes['ingested']} outcomes in, {outcomes['actions_measured']} actions "
            f"measured, {outcomes['conversions']} conversions, revenue {outcomes['revenue']}",
        ),
        ("learn", f"{len(shown['learnings'])} learnings"),
    ]
    lifts = shown["incrementality"]
    if lifts:
        added = sum(float(i["incremental_conversions"]) for i in lifts.values())
        lines.insert(
            -1,
            (
                "lift",
                f"{len(lifts)} message(s) against their holdouts: {added:,.1f} incremental "
                "conversions in all",
            ),
        )
    for stage, line in lines:
        stdout.print(Text(f"  {stage:<8} {line}"))
    for agent, error in shown["proposals"]["agent_errors"]:
        stdout.print(Text(f"  agent {agent} failed: {error}", style="red"))


def render_cycles(rows: Sequence[dict[str, Any]]) -> None:
    table = Table("cycle", "stage", "started", "proposals", "selected", "waiting", "executed")
    for row in rows:
        table.add_row(
            Text(row["id"]),
            row["stage"],
            row["started_at"][:16].replace("T", " "),
            str(row["proposals"]["total"]),
            str(row["decisions"]["selected"]),
            str(len(row["approvals_waiting"])),
            str(row["executions"].get("executed", 0)),
        )
    stdout.print(table)


def action_row(action: Action, cycle_id: str | None) -> dict[str, Any]:
    last = action.history[-1] if action.history else None
    return {
        "id": action.id,
        "cycle": cycle_id,
        "version": action.version,
        "kind": str(action.kind),
        "channel": None if action.channel is None else str(action.channel),
        "state": str(action.state),
        "idempotency_key": action.idempotency_key,
        "updated_at": None if last is None else last.at.isoformat(),
    }


def render_actions(rows: Sequence[dict[str, Any]]) -> None:
    table = Table("action", "kind", "channel", "state", "updated")
    for row in rows:
        table.add_row(
            Text(row["id"]),
            row["kind"],
            row["channel"] or "-",
            row["state"],
            (row["updated_at"] or "-")[:16].replace("T", " "),
        )
    stdout.print(table)


def history_json(action: Action) -> list[dict[str, Any]]:
    return [
        {
            "from": str(t.from_state),
            "to": str(t.to_state),
            "at": t.at.isoformat(),
            "actor": t.actor,
            "reason": t.reason,
        }
        for t in action.history
    ]


def learning_json(learning: Learning) -> dict[str, Any]:
    return {
        "id": learning.id,
        "insight": learning.insight,
        "confidence": round(learning.confidence, 4),
        "status": str(learning.status),
        "cycle": learning.cycle_id,
        "evidence": list(learning.evidence),
        "model_updates": list(learning.model_updates),
        "created_at": learning.created_at.isoformat(),
        "reviewed_at": learning.reviewed_at.isoformat() if learning.reviewed_at else None,
    }


def render_learnings(learnings: Sequence[Learning]) -> None:
    table = Table("learning", "status", "confidence", "insight")
    for learning in learnings:
        table.add_row(
            Text(learning.id),
            str(learning.status),
            f"{learning.confidence:.2f}",
            Text(learning.insight),
        )
    stdout.print(table)
