"""Parts for lifecycle tests: a small workspace with a playbook, scripted agents, and in-memory
fakes of every port a cycle uses (receipts, outcomes, a market whose days pass)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from mios.agents.protocol import AgentContext
from mios.channels.memory import RecordingChannel
from mios.channels.port import Receipt
from mios.context.memory import InMemoryContextStore
from mios.context.spec import PlaybookSpec, WorkspaceFileSpec, WorkspaceSpec
from mios.context.store import ContextChange, ContextSnapshot
from mios.domain.channel import ChannelName
from mios.domain.governance import Role
from mios.domain.money import Money
from mios.domain.outcome import Outcome, OutcomeKind
from mios.domain.proposal import ActionKind, Audience, Content, Forecast, Interval, Proposal
from mios.governance.audit import InMemoryAuditLog
from mios.governance.command import HumanCommand
from mios.governance.store import InMemoryGovernanceStore
from mios.lifecycle.cycle_store import InMemoryCycleStore
from mios.lifecycle.services import CycleServices
from tests.support.forecasts import FlatForecasts
from tests.support.workspaces import MINIMAL_CONFIG, random_customers

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PLAYBOOK = "weekly"


class Clock:
    """Moves a second on every reading, so times are distinct and ordered."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def spec(
    *,
    autonomy: dict[str, Any] | None = None,
    overrides: dict[str, str] | None = None,
    window: int = 2,
    objective: str | None = None,
    governance: dict[str, Any] | None = None,
) -> WorkspaceSpec:
    """The minimal workspace, sends allowed alone at low risk (unless ``autonomy``), and one
    playbook ``weekly`` of the scripted agent ``scripted``; ``governance`` is its guardrails
    (``governance:`` in ``mios.yaml``) when given."""
    config = {
        **MINIMAL_CONFIG,
        **({"governance": governance} if governance is not None else {}),
        "autonomy": autonomy
        or {
            "default": "approve",
            "rules": [
                {"kind": "send_message", "risk": "low", "mode": "auto"},
                {"kind": "insight", "mode": "auto"},
            ],
        },
    }
    book = PlaybookSpec.model_validate(
        {
            "name": PLAYBOOK,
            "agents": ["scripted"],
            "cadence": "0 7 * * 1",
            "autonomy_overrides": overrides or {},
            "measurement_window_days": window,
            "objective": objective,
        }
    )
    return WorkspaceSpec(
        config=WorkspaceFileSpec.model_validate(config), playbooks={PLAYBOOK: book}
    )


def send(
    ctx: AgentContext,
    key: str,
    segment: str | None,
    *,
    offer: str | None = None,
    customers: tuple[str, ...] = (),
    agent: str = "scripted",
) -> Proposal:
    return Proposal(
        id=ctx.proposal_id(agent, key),
        agent_id=agent,
        kind=ActionKind.SEND_MESSAGE,
        snapshot_version=ctx.snapshot_version,
        rationale=f"send to {segment}",
        created_at=ctx.now,
        channel=ChannelName.EMAIL,
        audience=Audience(segment_id=segment, customer_ids=customers),
        content=Content("Warm", f"Layers for {segment}.", angle="value", offer_id=offer),
        expected_effect=Forecast("profit", 50.0, Interval(10.0, 90.0, 0.9)),
        evidence=("history:email",),
    )


def insight(ctx: AgentContext, key: str) -> Proposal:
    return Proposal(
        id=ctx.proposal_id("scripted", key),
        agent_id="scripted",
        kind=ActionKind.INSIGHT,
        snapshot_version=ctx.snapshot_version,
        rationale="email works",
        created_at=ctx.now,
        expected_effect=Forecast("profit", 5.0, Interval(1.0, 9.0, 0.9)),
        evidence=("history:email",),
    )


def two_sends_and_an_insight(ctx: AgentContext) -> list[Proposal]:
    """A send to the EU segment, one to five customers outside it (no one gets two), and an
    insight."""
    ids = ctx.customers.ids[~ctx.customers.region.eq("EU")][:5]
    outside = send(ctx, "us", None, customers=tuple(str(i) for i in ids))
    return [send(ctx, "eu", "eu"), outside, insight(ctx, "i")]


@dataclass
class ScriptedAgent:
    script: Callable[[AgentContext], list[Proposal]]
    name: str = "scripted"
    description: str = "proposes what the test scripted"
    stage: int = 2
    calls: int = 0

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        self.calls += 1
        return self.script(ctx)


def nothing(ctx: AgentContext) -> list[Proposal]:
    return []


@dataclass
class Agents:
    """The scripted agent under its name; any other agent a playbook names proposes nothing."""

    agent: ScriptedAgent

    def create(self, name: str) -> ScriptedAgent:
        if name == self.agent.name:
            return self.agent
        return ScriptedAgent(nothing, name=name)


def context_for(snapshot: ContextSnapshot, now: datetime, seed: int) -> AgentContext:
    return AgentContext(
        snapshot_version=snapshot.version,
        workspace=snapshot.workspace,
        customers=snapshot.customers(),
        history=snapshot.history,
        ledger=snapshot.ledger,
        learnings=snapshot.learnings,
        forecasts=FlatForecasts(),
        now=now,
        seed=seed,
    )


class MemoryReceipts:
    def __init__(self) -> None:
        self.receipts: dict[str, Receipt] = {}

    def get(self, key: str, /) -> Receipt | None:
        return self.receipts.get(key)

    def put(self, receipt: Receipt, at: datetime) -> None:
        assert receipt.idempotency_key not in self.receipts, "a receipt is written once"
        self.receipts[receipt.idempotency_key] = receipt


class MemoryOutcomes:
    def __init__(self) -> None:
        self.kept: dict[str, Outcome] = {}

    def add(self, outcomes: Iterable[Outcome]) -> int:
        before = len(self.kept)
        for outcome in outcomes:
            self.kept.setdefault(outcome.id, outcome)
        return len(self.kept) - before

    def query(self, *, action_ids: Collection[str] | None = None) -> list[Outcome]:
        return [o for o in self.kept.values() if action_ids is None or o.action_id in action_ids]


@dataclass
class Market:
    """A market for the ``RecordingChannel``: every message it carried converts 10 of 100,
    each order worth 30, and cost 20 to send, reported when a day passes."""

    channel: RecordingChannel
    days: int = 0
    reported: set[str] = field(default_factory=set)
    pending: list[Outcome] = field(default_factory=list)

    @property
    def day(self) -> int:
        return self.days

    def advance_day(self) -> None:
        self.days += 1
        at = T0 + timedelta(days=self.days)
        for action in self.channel.executed:
            if action.id in self.reported or action.kind is not ActionKind.SEND_MESSAGE:
                continue
            self.reported.add(action.id)
            self.pending += [
                Outcome(f"{action.id}:d", OutcomeKind.DELIVERED, at, action.id, count=100),
                Outcome(
                    f"{action.id}:c",
                    OutcomeKind.CONVERSION,
                    at,
                    action.id,
                    value=Money(Decimal(300), "USD"),
                    count=10,
                ),
                Outcome(
                    f"{action.id}:s",
                    OutcomeKind.SPEND,
                    at,
                    action.id,
                    channel=ChannelName.EMAIL,
                    value=Money(Decimal(20), "USD"),
                ),
            ]

    def take_outcomes(self) -> list[Outcome]:
        taken, self.pending = self.pending, []
        return taken


@dataclass
class Setup:
    services: CycleServices
    agent: ScriptedAgent
    channel: RecordingChannel
    receipts: MemoryReceipts
    outcomes: MemoryOutcomes
    market: Market
    command: HumanCommand
    tokens: dict[str, str]


def setup(
    script: Callable[[AgentContext], list[Proposal]] = two_sends_and_an_insight,
    workspace: WorkspaceSpec | None = None,
    customers: int = 300,
) -> Setup:
    clock = Clock()
    context = InMemoryContextStore(clock=clock)
    context.write(
        ContextChange(workspace=workspace or spec(), customers=random_customers(customers)),
        actor="test",
        reason="setup",
    )
    command = HumanCommand(InMemoryGovernanceStore(), InMemoryAuditLog(), clock)
    command.add_user(None, "ada", "Ada Admin", frozenset({Role.ADMIN}))
    tokens = {"ada": command.issue_token(None, "ada").token}
    command.add_user(tokens["ada"], "sam", "Sam", frozenset({Role.STRATEGIST}))
    tokens["sam"] = command.issue_token(tokens["ada"], "sam").token
    channel = RecordingChannel([ChannelName.EMAIL])
    receipts, outcomes, market = MemoryReceipts(), MemoryOutcomes(), Market(channel)
    agent = ScriptedAgent(script)
    services = CycleServices(
        context=context,
        agents=Agents(agent),
        agent_context=context_for,
        command=command,
        checkers=(),
        channels={ChannelName.EMAIL: channel},
        receipts=receipts,
        outcomes=outcomes,
        cycles=InMemoryCycleStore(),
        clock=clock,
        source=market,
    )
    return Setup(services, agent, channel, receipts, outcomes, market, command, tokens)
