"""What a cycle needs, as small ports, and the bundle that carries them (``CycleServices``).

Ports that colleagues are building elsewhere are declared here by shape only, so the lifecycle
depends on no adapter and their implementations plug in as they are:

- ``ReceiptLog`` has the shape of ``mios.channels.receipts.ReceiptLog`` (``SqlReceiptLog`` in
  ``mios.persistence.receipt_log`` is the durable one);
- ``OutcomeSink`` is the part of ``mios.measure.outcomes.OutcomeStore`` the cycle uses
  (``SqlOutcomeStore`` in ``mios.persistence.outcome_store``);
- ``OutcomeSource`` is what the simulator channel offers (``advance_day``, ``take_outcomes``):
  a market whose days pass while the cycle measures. Real channels report outcomes through
  ingestion instead, and a cycle over them has no source.

``mios.bootstrap.open_lifecycle`` wires the real parts; tests pass fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from mios.agents.protocol import Agent, AgentContext
from mios.channels.port import Channel, Receipt
from mios.context.store import ContextSnapshot, ContextStore
from mios.domain.channel import ChannelName
from mios.domain.outcome import Outcome
from mios.errors import DomainError
from mios.governance.command import HumanCommand
from mios.governance.review_context import Checker
from mios.lifecycle.cycle_store import CycleStore

#: The actor the lifecycle writes into action histories, audit records and context changes.
LIFECYCLE = "lifecycle"


class AgentFactory(Protocol):
    """``mios.agents.registry.AgentRegistry`` is one."""

    def create(self, name: str) -> Agent: ...


class ReceiptLog(Protocol):
    def get(self, key: str, /) -> Receipt | None: ...

    def put(self, receipt: Receipt, at: datetime) -> None: ...


class OutcomeSink(Protocol):
    def add(self, outcomes: Iterable[Outcome]) -> int:
        """Keep every outcome whose id is new; return how many were new."""
        ...

    def query(self, *, action_ids: Collection[str] | None = None) -> list[Outcome]: ...


class OutcomeSource(Protocol):
    @property
    def day(self) -> int:
        """Days closed so far: a measure step that runs again sees how far its window got."""
        ...

    def advance_day(self) -> None: ...

    def take_outcomes(self) -> list[Outcome]: ...


#: Builds what the agents read from a snapshot (``mios.bootstrap.agent_context``, bound to the
#: workspace folder): ``(snapshot, now, seed) -> AgentContext``.
ContextForAgents = Callable[[ContextSnapshot, datetime, int], AgentContext]


@dataclass(frozen=True)
class QueueSettings:
    """One DBOS queue of execution workflows: how many run at once in one worker process, and
    at most ``limit`` starts per ``period`` seconds (``None``: no rate limit)."""

    worker_concurrency: int = 4
    limit: int | None = None
    period: float = 1.0

    def __post_init__(self) -> None:
        if self.worker_concurrency < 1:
            raise DomainError("a queue needs worker_concurrency >= 1")
        if self.limit is not None and (self.limit < 1 or self.period <= 0):
            raise DomainError("a queue's rate limit needs limit >= 1 and period > 0")


@dataclass
class CycleServices:
    """Everything a cycle touches. ``channels`` maps each channel name to the ``Channel`` that
    serves it (one object may serve several)."""

    context: ContextStore
    agents: AgentFactory
    agent_context: ContextForAgents
    command: HumanCommand
    checkers: tuple[Checker, ...]
    channels: Mapping[ChannelName, Channel]
    receipts: ReceiptLog
    outcomes: OutcomeSink
    cycles: CycleStore
    clock: Callable[[], datetime]
    source: OutcomeSource | None = None
    seed: int = 0
    queues: Mapping[ChannelName, QueueSettings] = field(default_factory=dict)

    def channel(self, name: ChannelName) -> Channel | None:
        return self.channels.get(name)
