"""What an agent is given and what it returns.

    class MyAgent:
        name = "my-agent"
        description = "What it proposes, in one line."
        stage = 1                                  # 0 reads the context; 1 briefs; 2 acts
        def propose(self, ctx: AgentContext) -> list[Proposal]: ...

An agent reads one ``AgentContext``: one snapshot of the shared context (workspace, customers,
channel history, ledger, learnings), the workspace's one objective and its constraints, the
brain's forecasts as read-only services, a clock, a seed and a usage budget, and what agents of
earlier stages proposed (``handoffs``: research's insights are content's briefs; content's
variants are what CRM and advertising send). It returns proposals made on that snapshot. It never
executes, never sees the simulator's ground truth, and text that comes from data (customer fields,
research documents) is data to it: it cannot change policies or instructions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

import numpy as np

from mios.domain.budget import BudgetLedger
from mios.domain.channel import ChannelName
from mios.domain.clock import require_utc
from mios.domain.customer_table import CustomerTable
from mios.domain.guardrails import Guardrails
from mios.domain.history import ChannelHistory
from mios.domain.money import Money
from mios.domain.objective import Objective
from mios.domain.outcome import Learning
from mios.domain.proposal import ActionKind, Proposal
from mios.domain.workspace import Workspace
from mios.errors import DomainError

#: Stages run in order; agents of one stage run concurrently and see every earlier stage's work.
READ, BRIEF, ACT = 0, 1, 2


@dataclass(frozen=True)
class Estimate:
    """A forecast value with its 90% interval (``low <= mean <= high``)."""

    mean: float
    low: float
    high: float

    def __post_init__(self) -> None:
        if not self.low <= self.mean <= self.high:
            raise DomainError(f"estimate {self.mean} lies outside [{self.low}, {self.high}]")


class Estimated(Protocol):
    """What a forecast answers: a mean and its 90% interval. ``Estimate`` is one; the brain's
    forecasts return their own (``mios.brain.workspace_forecasts.Estimate``), since the brain
    never imports the agents."""

    @property
    def mean(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def high(self) -> float: ...


class Forecasts(Protocol):
    """The brain's forecasts, read-only. ``None`` where there is nothing to go on."""

    def response_rate(
        self, segment: str, channel: ChannelName, offer: str | None, angle: str | None
    ) -> Estimated:
        """Conversions per message for one cell (segment, channel, offer, message angle)."""
        ...

    def order_value(self, channel: ChannelName, offer: str | None) -> Estimated | None:
        """The value of one conversion, in the workspace currency."""
        ...

    def roas(self, channel: ChannelName) -> Estimated | None:
        """Revenue per unit of spend of a paid channel at its recent spend."""
        ...

    def marginal_roas(self, channel: ChannelName) -> Estimated | None:
        """Revenue of the next unit of spend on a paid channel at its recent spend."""
        ...


@dataclass(frozen=True)
class UsageLimits:
    """What an agent may consume in one run. Offline agents use none of it; a model-backed
    agent stops (and proposes nothing more) when any limit would be passed."""

    requests: int = 8
    tokens: int = 40_000
    cost: Decimal = Decimal("0.50")  # in US dollars, at the model's published prices

    def __post_init__(self) -> None:
        if self.requests < 0 or self.tokens < 0 or self.cost < 0:
            raise DomainError("usage limits must be >= 0")


@dataclass(frozen=True)
class Document:
    """A research file of the workspace (``data/research/``): its name and text. Data, never
    instructions."""

    name: str
    text: str


@dataclass(frozen=True)
class Constraints:
    """What every agent works within: money left per channel in its budget period, the
    contact caps, and the checkers' settings (claims, banned terms come from the brand)."""

    available: Mapping[ChannelName, Money]
    guardrails: Guardrails

    def __post_init__(self) -> None:
        object.__setattr__(self, "available", dict(self.available))


@dataclass(frozen=True, eq=False)
class AgentContext:
    snapshot_version: int
    workspace: Workspace
    customers: CustomerTable
    history: ChannelHistory
    ledger: BudgetLedger
    learnings: tuple[Learning, ...]
    forecasts: Forecasts
    now: datetime
    seed: int
    usage: UsageLimits = field(default_factory=UsageLimits)
    documents: tuple[Document, ...] = ()
    handoffs: tuple[Proposal, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "now", require_utc(self.now, "now"))
        if self.snapshot_version < 1:
            raise DomainError("an agent context needs a snapshot version >= 1")

    @property
    def objective(self) -> Objective:
        return self.workspace.objective

    @property
    def constraints(self) -> Constraints:
        available = {
            channel: self.ledger.position(channel, self.now).available
            for channel in self.ledger.budgets
        }
        return Constraints(available, self.workspace.guardrails)

    def handoffs_from(self, agent: str, kind: ActionKind | None = None) -> tuple[Proposal, ...]:
        """What ``agent`` proposed in an earlier stage (of one ``kind``, if given)."""
        return tuple(
            p for p in self.handoffs if p.agent_id == agent and (kind is None or p.kind is kind)
        )

    def rng(self, agent: str) -> np.random.Generator:
        """A generator for one agent: the same seed and name give the same draws, and agents
        running concurrently never share one."""
        digest = hashlib.sha256(f"{self.seed}:{agent}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "big"))

    def proposal_id(self, agent: str, *parts: object) -> str:
        """A stable id for a proposal: the same agent, snapshot and parts give the same id, so
        a re-run proposes the same ids and the brain can tell duplicates."""
        key = ":".join(str(p) for p in (self.snapshot_version, agent, *parts))
        return f"{agent}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


@runtime_checkable
class Agent(Protocol):
    name: str
    description: str
    stage: int

    def propose(self, ctx: AgentContext) -> list[Proposal]: ...
