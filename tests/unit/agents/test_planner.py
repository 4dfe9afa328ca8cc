"""The planner runs agents stage by stage on one snapshot, passes each stage's work on, checks
what agents return, survives a failing agent, and records who contributed what; sprawl mode runs
the same agents each on its own view."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from mios.agents.planner import run_agents
from mios.agents.protocol import ACT, BRIEF, READ, AgentContext
from mios.agents.sprawl import run_sprawl
from mios.context.translate import build_workspace
from mios.domain.budget import BudgetLedger
from mios.domain.channel import ChannelName
from mios.domain.customer_table import CustomerTable
from mios.domain.history import ChannelHistory
from mios.domain.objective import Kpi
from mios.domain.proposal import ActionKind, Audience, Content, Proposal
from mios.errors import DomainError
from tests.support.forecasts import FlatForecasts
from tests.support.workspaces import minimal_spec

NOW = datetime(2026, 11, 24, 9, tzinfo=UTC)


def context(seed: int = 1) -> AgentContext:
    workspace = build_workspace(minimal_spec())
    return AgentContext(
        snapshot_version=3,
        workspace=workspace,
        customers=CustomerTable.empty(),
        history=ChannelHistory(),
        ledger=BudgetLedger.for_budgets(workspace.budgets),
        learnings=(),
        forecasts=FlatForecasts(),
        now=NOW,
        seed=seed,
    )


def proposal(
    ctx: AgentContext, agent: str, kind: ActionKind, *evidence: str, **kw: object
) -> Proposal:
    fields: dict[str, object] = {"rationale": "because", "created_at": ctx.now}
    fields.update(kw)
    return Proposal(
        ctx.proposal_id(agent, kind, *evidence),
        agent,
        kind,
        ctx.snapshot_version,
        evidence=evidence or ("history",),
        **fields,  # type: ignore[arg-type]
    )


class ResearchAgent:
    name, description, stage = "research", "insights", READ

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        return [proposal(ctx, self.name, ActionKind.INSIGHT, "doc:trends.csv:3")]


class ContentAgent:
    name, description, stage = "content", "copy", BRIEF

    def __init__(self) -> None:
        self.seen: tuple[Proposal, ...] = ()
        self.objective: Kpi | None = None

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        self.seen, self.objective = ctx.handoffs, ctx.objective.primary_kpi
        briefs = ctx.handoffs_from("research", ActionKind.INSIGHT)
        evidence = [f"brief:{b.id}" for b in briefs] or ["claims library"]
        copy = Content("Warm", "Layers.")
        return [proposal(ctx, self.name, ActionKind.CREATE_CONTENT, *evidence, content=copy)]


class CrmAgent:
    name, description, stage = "crm", "sends", ACT

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        return [
            proposal(
                ctx,
                self.name,
                ActionKind.SEND_MESSAGE,
                f"variant:{v.id}",
                channel=ChannelName.EMAIL,
                audience=Audience(segment_id="all"),
                content=v.content,
            )
            for v in ctx.handoffs_from("content", ActionKind.CREATE_CONTENT)
        ]


class Broken:
    name, description, stage = "broken", "fails", ACT

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        raise RuntimeError("the model is down")


class Rogue:
    """Returns what no agent may: another agent's proposal, an old snapshot, a rule change,
    no evidence, and something that is not a proposal at all."""

    name, description, stage = "rogue", "misbehaves", ACT

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        return [
            proposal(ctx, "crm", ActionKind.INSIGHT, "x"),
            Proposal("old", self.name, ActionKind.INSIGHT, 1, "r", ctx.now, evidence=("x",)),
            proposal(ctx, self.name, ActionKind.CHANGE_POLICY, "x"),
            Proposal("bare", self.name, ActionKind.INSIGHT, 3, "r", ctx.now),
            "approve everything",  # type: ignore[list-item]
            proposal(ctx, self.name, ActionKind.INSIGHT, "fine"),
        ]


def test_each_stage_sees_the_earlier_stages_and_handoffs_are_recorded() -> None:
    ctx = context()
    content = ContentAgent()
    plan = run_agents([CrmAgent(), content, ResearchAgent()], ctx)
    kinds = [p.kind for p in plan.proposals]
    assert kinds == [ActionKind.INSIGHT, ActionKind.CREATE_CONTENT, ActionKind.SEND_MESSAGE]
    [insight, variant, send] = plan.proposals
    assert content.seen == (insight,)
    assert content.objective is Kpi.PROFIT  # the workspace's one objective
    assert plan.handoffs == ((insight.id, variant.id), (variant.id, send.id))
    assert {a: len(ps) for a, ps in plan.by_agent().items()} == {
        "research": 1,
        "content": 1,
        "crm": 1,
    }
    assert all(p.snapshot_version == 3 for p in plan.proposals)


def test_a_failing_agent_is_reported_and_the_others_go_on() -> None:
    plan = run_agents([ResearchAgent(), Broken()], context())
    broken = next(r for r in plan.runs if r.agent == "broken")
    assert broken.error == "RuntimeError: the model is down"
    assert [p.agent_id for p in plan.proposals] == ["research"]


def test_what_an_agent_may_not_return_is_refused_with_a_reason() -> None:
    plan = run_agents([Rogue()], context())
    [run] = plan.runs
    assert [p.id for p in run.proposals] == [plan.proposals[0].id]
    reasons = " | ".join(why for _, why in run.refused)
    for expected in (
        "made by 'crm'",
        "made on snapshot 1",
        "change_policy is for people",
        "no evidence",
        "not a Proposal",
    ):
        assert expected in reasons


def test_two_agents_of_one_name_are_refused() -> None:
    with pytest.raises(DomainError, match="named twice: research"):
        run_agents([ResearchAgent(), ResearchAgent()], context())


class Dice:
    """Draws from its own generator; ``pause`` makes it finish after agents listed later."""

    stage, description = READ, "rolls dice"

    def __init__(self, name: str, pause: float = 0.0) -> None:
        self.name, self.pause = name, pause

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        time.sleep(self.pause)
        rolls = ctx.rng(self.name).integers(0, 1_000_000, size=3)
        return [proposal(ctx, self.name, ActionKind.INSIGHT, f"roll:{r}") for r in rolls]


def test_the_same_seed_gives_the_same_plan_whichever_agent_finishes_first() -> None:
    def plan(seed: int, pause: float, workers: int | None = None) -> list[str]:
        agents = [Dice("slow", pause), Dice("quick"), ContentAgent(), CrmAgent()]
        done = run_agents(agents, context(seed=seed), max_workers=workers)
        return [p.id for p in done.proposals]

    first = plan(5, pause=0.05)
    assert [i.split("-")[0] for i in first[:6]] == ["slow"] * 3 + ["quick"] * 3  # agent order
    assert plan(5, pause=0.0, workers=1) == first
    assert plan(6, pause=0.0) != first
    assert context(5).rng("crm").random() == context(5).rng("crm").random()
    assert context(5).rng("crm").random() != context(5).rng("content").random()


def test_sprawl_gives_each_agent_its_own_metric_and_no_briefs() -> None:
    content = ContentAgent()
    plan = run_sprawl([ResearchAgent(), content, CrmAgent()], context())
    assert content.seen == ()  # research's insight never reaches content
    assert content.objective is Kpi.CONVERSIONS
    [variant] = [p for p in plan.proposals if p.kind is ActionKind.CREATE_CONTENT]
    assert variant.evidence == ("claims library",)
    sends = [p for p in plan.proposals if p.kind is ActionKind.SEND_MESSAGE]
    assert len(sends) == 1  # copy still reaches the agent that sends it


class ReturnsNothingUsable:
    """Returns ``None`` instead of a list: a bug in one agent, not a reason to stop the plan."""

    name, description, stage = "sloppy", "returns None", READ

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        return None  # type: ignore[return-value]


class FailsHalfway:
    name, description, stage = "halfway", "a generator that breaks", READ

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        def made() -> object:
            yield proposal(ctx, self.name, ActionKind.INSIGHT, "x")
            raise RuntimeError("ran out of data")

        return made()  # type: ignore[return-value]


class BadEvidence:
    name, description, stage = "bad-evidence", "evidence that is not text", READ

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        return [proposal(ctx, self.name, ActionKind.INSIGHT, 42)]  # type: ignore[arg-type]


def test_an_agent_whose_return_breaks_while_read_is_reported_and_the_others_go_on() -> None:
    plan = run_agents(
        [ReturnsNothingUsable(), FailsHalfway(), BadEvidence(), ResearchAgent()], context()
    )
    errors = {run.agent: run.error for run in plan.runs}
    assert errors["sloppy"] is not None
    assert errors["halfway"] == "RuntimeError: ran out of data"
    assert errors["bad-evidence"] is not None
    assert errors["research"] is None
    # A run that failed part-way proposes nothing: half an answer is not an answer.
    assert [p.agent_id for p in plan.proposals] == ["research"]


class ReachesForGovernance:
    name, description, stage = "sneaky", "asks to skip review", ACT

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        return [
            proposal(ctx, self.name, ActionKind.INSIGHT, "a", parameters={"approved": True}),
            proposal(ctx, self.name, ActionKind.INSIGHT, "b", parameters={"skip_review": 1}),
            proposal(
                ctx, self.name, ActionKind.INSIGHT, "c", parameters={"x": {"status": "approved"}}
            ),
            proposal(ctx, self.name, ActionKind.INSIGHT, "e", parameters={"needs_review": False}),
            proposal(ctx, self.name, ActionKind.INSIGHT, "f", parameters={"governance": "off"}),
            proposal(ctx, self.name, ActionKind.INSIGHT, "g", parameters={"execute_now": True}),
            proposal(ctx, self.name, ActionKind.INSIGHT, "d", parameters={"finding": "fine"}),
        ]


def test_parameters_that_approve_or_bypass_review_are_refused() -> None:
    plan = run_agents([ReachesForGovernance()], context())
    [run] = plan.runs
    assert [p.parameters for p in run.proposals] == [{"finding": "fine"}]
    assert len(run.refused) == 6
    assert all("reaches for governance" in why for _, why in run.refused)


class Squatter:
    """Takes the id content will use for its variant, so that content's own is refused."""

    name, description, stage = "squatter", "squats ids", READ

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        taken = ctx.proposal_id("content", ActionKind.CREATE_CONTENT, "claims library")
        return [Proposal(taken, self.name, ActionKind.INSIGHT, 3, "r", ctx.now, evidence=("x",))]


def test_an_agent_cannot_take_the_ids_of_another() -> None:
    plan = run_agents([Squatter(), ContentAgent()], context())
    squatter, content = plan.runs
    assert squatter.proposals == ()
    assert "ctx.proposal_id('squatter'" in squatter.refused[0][1]
    assert len(content.proposals) == 1


class Forger:
    """Cites a research brief it was never given (ids are predictable), in sprawl mode."""

    name, description, stage = "content", "forges briefs", BRIEF

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        forged = ctx.proposal_id("research", ActionKind.INSIGHT, "doc:trends.csv:3")
        copy = Content("Warm", "Layers.")
        return [
            proposal(ctx, self.name, ActionKind.CREATE_CONTENT, f"brief:{forged}", content=copy)
        ]


def test_only_handoffs_an_agent_was_given_count_as_its_evidence() -> None:
    plan = run_sprawl([ResearchAgent(), Forger()], context())
    forger = next(r for r in plan.runs if r.agent == "content")
    assert forger.proposals == ()
    assert "names no proposal it was given" in forger.refused[0][1]
    assert plan.handoffs == ()


class Tamperer:
    """Edits the proposals it was handed, after the planner checked them."""

    name, description, stage = "tamperer", "edits handoffs", ACT

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        for p in ctx.handoffs:
            p.parameters["approved"] = True  # type: ignore[index]
        return []


def test_an_agent_cannot_change_what_an_earlier_agent_proposed() -> None:
    plan = run_agents([ResearchAgent(), Tamperer(), CrmAgent()], context())
    [insight] = plan.proposals
    assert "approved" not in insight.parameters
