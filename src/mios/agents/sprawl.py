"""Sprawl mode: the same agents, the uncoordinated way, to measure what coordination is worth.

Each agent works for its own local metric instead of the workspace's objective (content and CRM
for conversions, advertising for ROAS, research and analytics for revenue), with no guardrails
of the objective, and sees only its own context: no research briefs reach content, and every
agent sees the whole of every budget as its own and the contact caps as if it alone sent. Copy
still reaches the agents that send it (otherwise they would have nothing to send), but nothing
arbitrates between them: what they propose goes out as proposed. It exists only for the
orchestration gap the demo shows; never run it on a real market.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from mios.agents.planner import Plan, run_agents
from mios.agents.protocol import Agent, AgentContext
from mios.domain.objective import Kpi, Objective
from mios.domain.proposal import ActionKind

#: The metric each built-in agent optimises when left alone; others default to revenue.
LOCAL_METRICS: Mapping[str, Kpi] = {
    "content": Kpi.CONVERSIONS,
    "crm": Kpi.CONVERSIONS,
    "advertising": Kpi.ROAS,
    "research": Kpi.REVENUE,
    "analytics": Kpi.REVENUE,
}
#: What a sprawl agent still receives from others: only copy, never briefs or insights.
_PASSED_ON = frozenset({ActionKind.CREATE_CONTENT})


def run_sprawl(agents: Sequence[Agent], context: AgentContext) -> Plan:
    """Every agent on its own view: local metric, no briefs, no shared constraints."""
    return run_agents(agents, context, isolate=_alone)


def _alone(agent: Agent, shared: AgentContext) -> AgentContext:
    objective = shared.workspace.objective
    local = Objective(
        LOCAL_METRICS.get(agent.name, Kpi.REVENUE), objective.target, objective.horizon_days
    )
    workspace = replace(shared.workspace, objective=local)
    handoffs = tuple(p for p in shared.handoffs if p.kind in _PASSED_ON)
    return replace(shared, workspace=workspace, handoffs=handoffs)
