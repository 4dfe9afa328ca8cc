"""The planner: every agent on one snapshot, toward one objective, stage by stage.

    plan = run_agents(agents, context)
    plan.proposals        # for the brain, in stage and agent order
    plan.runs             # per agent: what it proposed, what was refused and why, how long
    plan.handoffs         # (from, to): a brief that became copy, copy that became a send

Agents of one stage run concurrently on the same context; each stage sees what every earlier
stage proposed (``AgentContext.handoffs``). An agent that fails does not stop the others: its
run records the error and the plan goes on without it. What an agent returns is checked before
anyone else sees it: a proposal must be made by that agent on this snapshot, have evidence,
carry a fresh id of its own (``ctx.proposal_id(agent, ...)``), cite as ``brief:``/``variant:``
only proposals it was given, and may not ask to change the rules (policies, autonomy) or to
approve, bypass or override review, which only people do. Each agent is handed its own copy of
the earlier proposals, so none can edit what another proposed after it was checked.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from mios.agents.protocol import Agent, AgentContext
from mios.domain.proposal import ActionKind, Proposal
from mios.errors import DomainError

#: Kinds no agent may propose: changing the rules is for people (``mios context sync``).
FORBIDDEN_KINDS = frozenset({ActionKind.CHANGE_POLICY, ActionKind.CHANGE_AUTONOMY})
#: Evidence that names an earlier proposal: ``brief:<id>`` (an insight answered) and
#: ``variant:<id>`` (copy used).
HANDOFF_PREFIXES = ("brief:", "variant:")
#: Parameter keys that would reach for governance rather than propose work.
_GOVERNANCE_KEY = re.compile(
    r"approv|autonomy|polic(y|ies)|governance|review|execut|kill.?switch|override|bypass",
    re.IGNORECASE,
)
_APPROVAL_VALUE = re.compile(r"^\s*(auto[ _-]?)?approved?\s*$", re.IGNORECASE)


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
        views = [_own_copy(isolate(a, shared) if isolate else shared) for a in members]
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
    # Every handoff reference left names a proposal its agent was given (``_refusal``).
    handoffs = tuple(
        dict.fromkeys(
            (ref.split(":", 1)[1], p.id)
            for p in proposals
            for ref in p.evidence
            if ref.startswith(HANDOFF_PREFIXES)
        )
    )
    return Plan(context.snapshot_version, tuple(proposals), tuple(runs), handoffs)


def governance_reach(value: Any, path: str = "") -> str | None:
    """The first parameter (dotted path) that asks for approval, autonomy or policy, if any."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if _GOVERNANCE_KEY.search(str(key)):
                return repr(where)
            found = governance_reach(item, where)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = governance_reach(item, f"{path}[{i}]")
            if found:
                return found
    elif isinstance(value, str) and _APPROVAL_VALUE.match(value):
        return f"{path or 'value'}={value!r}"
    return None


def _own_copy(view: AgentContext) -> AgentContext:
    # Proposals are frozen, but their parameters are dicts: an agent given the originals could
    # edit another agent's checked proposal (or race one running beside it).
    return replace(view, handoffs=copy.deepcopy(view.handoffs))


def _run_one(agent: Agent, context: AgentContext) -> AgentRun:
    started = time.perf_counter()
    given = {p.id for p in context.handoffs}
    kept, refused = [], []
    try:
        # Reading what it returned is part of the agent's run: a generator may still fail.
        for item in agent.propose(context):
            why = _refusal(agent, context, item, given)
            if why is None:
                kept.append(item)
            else:
                refused.append((str(getattr(item, "id", "?")), why))
    except Exception as exc:  # one agent's failure must not stop the plan; it is reported
        return AgentRun(
            agent.name, agent.stage, (), (), f"{type(exc).__name__}: {exc}", _since(started)
        )
    return AgentRun(agent.name, agent.stage, tuple(kept), tuple(refused), None, _since(started))


def _refusal(agent: Agent, context: AgentContext, item: object, given: set[str]) -> str | None:
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
    reach = governance_reach(item.parameters)
    if reach:
        return f"parameter {reach} reaches for governance; agents only propose"
    if not any(e.strip() for e in item.evidence):
        return "no evidence: every proposal names what it rests on"
    for ref in item.evidence:
        if ref.startswith(HANDOFF_PREFIXES) and ref.split(":", 1)[1] not in given:
            return f"evidence {ref!r} names no proposal it was given"
    if not item.id.startswith(f"{agent.name}-"):
        # Ids are predictable; one outside the agent's own could pre-empt another agent's.
        return f"id {item.id!r} is not one of ctx.proposal_id({agent.name!r}, ...)"
    return None


def _since(started: float) -> float:
    return time.perf_counter() - started
