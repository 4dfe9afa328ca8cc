"""``mios agents``: list the agents, and run them on the current context to see what they would
propose. Nothing is executed: proposals go to the brain and to governance in a cycle."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from mios.cli.output import handles_errors, print_json, state, stdout

if TYPE_CHECKING:
    from mios.agents.planner import Plan
    from mios.agents.protocol import Agent
    from mios.domain.proposal import Proposal

agents_app = typer.Typer(
    help="The specialist agents: what they are and what they would propose now.\n\n"
    "Example:\n\n    mios -w shop agents run --agent crm",
    no_args_is_help=True,
    rich_markup_mode=None,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@agents_app.command("list")
@handles_errors
def list_agents(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List the built-in agents and any installed plug-ins (entry points "mios.agents").

    Example: mios agents list --json
    """
    from mios.agents.registry import available

    specs = available()
    if json_output or state(ctx).json:
        print_json(
            [
                {"name": s.name, "description": s.description, "stage": s.stage, "origin": s.origin}
                for s in specs
            ]
        )
        return
    table = Table("agent", "stage", "origin", "what it proposes")
    for s in specs:
        table.add_row(s.name, str(s.stage), s.origin, Text(s.description))
    stdout.print(table)


@agents_app.command("run")
@handles_errors
def run(
    ctx: typer.Context,
    agent: Annotated[
        list[str] | None,
        typer.Option(
            "--agent",
            help="Show only this agent's proposals (repeat for several); the agents of earlier "
            "stages still run, since their work is its input.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed for the agents.")] = 7,
    sprawl: Annotated[
        bool,
        typer.Option(
            "--sprawl",
            help="Run the agents uncoordinated (each its own metric, no briefs), to compare.",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Run the agents on the newest context and print their proposals with rationale and
    evidence. Nothing is executed. With MIOS_LLM_MODEL set, the built-in agents run on that
    model (needs: pip install 'mios[llm]'). Exits 1 when any agent failed (the plan is still
    printed), 2 on bad input.

    Example: mios -w shop agents run --agent content --agent crm
    """
    from mios.agents.planner import run_agents
    from mios.agents.registry import AgentRegistry
    from mios.agents.sprawl import run_sprawl
    from mios.bootstrap import agent_context, settings_from_environment, utc_now
    from mios.cli.context import _store
    from mios.errors import AgentError, InputError

    settings = settings_from_environment()
    chosen = list(dict.fromkeys(agent or []))
    registry = AgentRegistry.discover()
    for name in chosen:
        registry.create(name)  # an unknown name is an input error naming the known ones
    everyone = sorted(registry.create_all(), key=lambda a: a.stage)
    wanted = [a for a in everyone if a.name in chosen] if chosen else everyone
    if not wanted:
        raise InputError.at("no agent to run", field="--agent")
    last_stage = max(a.stage for a in wanted)
    agents = [a for a in everyone if a.stage < last_stage or a in wanted]
    if settings.llm_model:
        agents = _on_model(agents, settings.llm_model)
    store = _store(ctx, reading=True)
    try:
        snapshot = store.snapshot()
        context = agent_context(snapshot, state(ctx).workspace, now=utc_now(), seed=seed)
        plan = (run_sprawl if sprawl else run_agents)(agents, context)
    finally:
        store.close()
    shown = {a.name for a in wanted}
    if json_output or state(ctx).json:
        print_json(_plan_json(plan, shown, sprawl, settings.llm_model))
    else:
        _render(plan, shown, sprawl, settings.llm_model)
    failed = [f"{r.agent} ({r.error})" for r in plan.runs if r.error]
    if failed:  # the plan is printed, but a script must not take a partial plan for a whole one
        raise AgentError(f"{len(failed)} agent(s) failed: {'; '.join(failed)}")


def _on_model(agents: list[Agent], model: str) -> list[Agent]:
    from mios.agents.llm import llm_agent

    return [llm_agent(a, model) for a in agents]


def _proposal_json(p: Proposal) -> dict[str, Any]:
    effect = p.expected_effect
    return {
        "id": p.id,
        "agent": p.agent_id,
        "kind": str(p.kind),
        "channel": None if p.channel is None else str(p.channel),
        "audience": None
        if p.audience is None
        else {
            "segment_id": p.audience.segment_id,
            "customers": len(p.audience.customer_ids),
            "estimated_size": p.audience.estimated_size,
        },
        "content": None
        if p.content is None
        else {
            "subject": p.content.subject,
            "headline": p.content.headline,
            "body": p.content.body,
            "claims": list(p.content.claims),
            "offer_id": p.content.offer_id,
            "angle": p.content.angle,
        },
        "spend": None if p.spend is None else str(p.spend),
        "expected_effect": None
        if effect is None
        else {
            "kpi": effect.kpi,
            "mean": effect.mean,
            "low": effect.interval.low,
            "high": effect.interval.high,
        },
        "rationale": p.rationale,
        "evidence": list(p.evidence),
        "parameters": dict(p.parameters),
        "snapshot_version": p.snapshot_version,
    }


def _plan_json(plan: Plan, shown: set[str], sprawl: bool, model: str | None) -> dict[str, Any]:
    return {
        "snapshot_version": plan.snapshot_version,
        "mode": "sprawl" if sprawl else "coordinated",
        "model": model,
        "executed": 0,
        "agents": [
            {
                "agent": run.agent,
                "stage": run.stage,
                "proposals": len(run.proposals),
                "refused": [{"id": i, "why": why} for i, why in run.refused],
                "error": run.error,
                "seconds": round(run.seconds, 3),
            }
            for run in plan.runs
        ],
        "proposals": [_proposal_json(p) for p in plan.proposals if p.agent_id in shown],
        "handoffs": [{"from": a, "to": b} for a, b in plan.handoffs],
    }


def _render(plan: Plan, shown: set[str], sprawl: bool, model: str | None) -> None:
    mode = "sprawl mode (uncoordinated)" if sprawl else "one shared context, one objective"
    where = f"on model {model}" if model else "offline"
    stdout.print(Text(f"Context version {plan.snapshot_version}; {mode}; agents {where}."))
    for run in plan.runs:
        if run.agent not in shown:
            continue
        line = f"\n{run.agent}: {len(run.proposals)} proposal(s) in {run.seconds:.2f} s"
        stdout.print(Text(line, style="bold"))
        if run.error:
            stdout.print(Text(f"  failed: {run.error}", style="red"))
        for pid, why in run.refused:
            stdout.print(Text(f"  refused {pid}: {why}", style="yellow"))
        for p in run.proposals:
            stdout.print(Text(f"  {p.id}  {_headline(p)}"))
            stdout.print(Text(f"    why: {p.rationale}"))
            if p.evidence:
                stdout.print(Text(f"    evidence: {'; '.join(p.evidence[:4])}"))
    if plan.handoffs:
        stdout.print(Text(f"\n{len(plan.handoffs)} handoff(s) between agents."))
    stdout.print("\nNothing was executed; a cycle sends proposals to the brain and governance.")


def _headline(p: Proposal) -> str:
    parts = [str(p.kind)]
    if p.channel is not None:
        parts.append(f"on {p.channel}")
    if p.audience is not None:
        who = p.audience.segment_id or f"{p.audience.size or 0:,} people"
        parts.append(f"to {who}")
    if p.spend is not None:
        parts.append(f"spend {p.spend}")
    if p.content is not None and (p.content.subject or p.content.headline):
        parts.append(f'"{p.content.subject or p.content.headline}"')
    effect = p.expected_effect
    if effect is not None:
        parts.append(
            f"expects {effect.mean:,.4g} {effect.kpi} "
            f"({effect.interval.low:,.4g} to {effect.interval.high:,.4g})"
        )
    return " ".join(parts)
