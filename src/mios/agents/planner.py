"""The planner: every agent on one snapshot, toward one objective, stage by stage.

    plan = run_agents(agents, context)
    plan.proposals        # for the brain, in stage and agent order
    plan.runs             # per agent: what it proposed, what was refused and why, how long
    plan.handoffs         # (from, to): a brief that became copy, copy that became a send

Agents of one stage run concurrently on the same context; each stage sees what every earlier
stage proposed (``AgentContext.handoffs``). An agent that fails does not stop the others: its
run records the error and the plan goes on without it. What an agent returns is checked before
anyone else sees it: a proposal must be made by that agent on this snapshot, have evidence,
carry a fresh id, and may not ask to change the rules (policies, autonomy), which only people do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from mios.agents.protocol import Agent, AgentContext
from mios.domain.proposal import ActionKind, Proposal
from mios.errors import DomainError

#: Kinds no agent may propose: changing the rules is for people (``mios context sync``).
FORBIDDEN_KINDS = frozenset({ActionKind.CHANGE_POLICY, ActionKind.CHANGE_AUTONOMY})
#: Evidence that names an earlier proposal: ``brief:<id>`` (an insight answered) and
#: ``variant:<id>`` (copy used).
HANDOFF_PREFIXES = ("brief:", "variant:")


@dataclass(frozen=True)
class AgentRun:
    agent: str
    stage: int
    proposals: tuple[Proposal, ...]
    refused: tuple[tuple[str, str], ...]  # (proposal id, why)
    error: str | None
    seconds: float


@dataclass(frozen=True)
class Plan:
    snapshot_version: int
    proposals: tuple[Proposal, ...]
    runs: tuple[AgentRun, ...]
    handoffs: tuple[tuple[str, str], ...]

    def by_agent(self) -> dict[str, tuple[Proposal, ...]]:
        """What each agent contributed (agents that proposed nothing included)."""
        return {run.agent: run.proposals for run in self.runs}


def run_agents(
    agents: Sequence[Agent],
    context: AgentContext,
    *,
    isolate: Callable[[Agent, AgentContext], AgentContext] | None = None,
    max_workers: int | None = None,
) -> Plan:
    """Run ``agents`` on ``context`` stage by stage. ``isolate``, if given, turns the shared
    context into the one an agent sees (sprawl mode gives each its own); by default every agent
    sees the shared context and all earlier stages' proposals."""
    names = [a.name for a in agents]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise DomainError(f"agents named twice: {', '.join(duplicated)}")
    runs: list[AgentRun] = []
    proposals: list[Proposal] = []
    seen: set[str] = set()
    for stage in sorted({a.stage for a in agents}):
        members = [a for a in agents if a.stage == stage]
        shared = replace(context, handoffs=tuple(proposals))
        views = [isolate(a, shared) if isolate else shared for a in members]
        workers = max_workers or len(members)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mios-agent") as pool:
            outcomes = list(pool.map(_run_one, members, views))
        for outcome in outcomes:  # in agent order: ids are checked against earlier agents first
            kept, refused = [], list(outcome.refused)
            for proposal in outcome.proposals:
                if proposal.id in seen:
                    refused.append((proposal.id, "another proposal of this plan has this id"))
                else:
                    seen.add(proposal.id)
                    kept.append(proposal)
            runs.append(replace(outcome, proposals=tuple(kept), refused=tuple(refused)))
            proposals.extend(kept)
    ids = {p.id for p in proposals}
    handoffs = tuple(
        (ref.split(":", 1)[1], p.id)
        for p in proposals
        for ref in p.evidence
        if ref.startswith(HANDOFF_PREFIXES) and ref.split(":", 1)[1] in ids
    )
    return Plan(context.snapshot_version, tuple(proposals), tuple(runs), handoffs)


def _run_one(agent: Agent, context: AgentContext) -> AgentRun:
    started = time.perf_counter()
    try:
        returned = agent.propose(context)
    except Exception as exc:  # one agent's failure must not stop the plan; it is reported
        return AgentRun(
            agent.name, agent.stage, (), (), f"{type(exc).__name__}: {exc}", _since(started)
        )
    kept, refused = [], []
    for item in returned:
        why = _refusal(agent, context, item)
        if why is None:
            kept.append(item)
        else:
            refused.append((getattr(item, "id", "?"), why))
    return AgentRun(agent.name, agent.stage, tuple(kept), tuple(refused), None, _since(started))


def _refusal(agent: Agent, context: AgentContext, item: object) -> str | None:
    if not isinstance(item, Proposal):
        return f"not a Proposal but {type(item).__name__}"
    if item.agent_id != agent.name:
        return f"made by {item.agent_id!r}, returned by {agent.name!r}"
    if item.snapshot_version != context.snapshot_version:
        return (
            f"made on snapshot {item.snapshot_version}, the plan runs on {context.snapshot_version}"
        )
    if item.kind in FORBIDDEN_KINDS:
        return f"{item.kind} is for people, never for agents"
    if not any(e.strip() for e in item.evidence):
        return "no evidence: every proposal names what it rests on"
    return None


def _since(started: float) -> float:
    return time.perf_counter() - started
