"""An example workspace as an agent sees it, for the research, analytics and content tests:
``mios init`` (500 customers) into a temporary folder, its snapshot, its research documents, and
a small ``Forecasts`` stub (the brain's workspace forecasts are built elsewhere)."""

from __future__ import annotations

import atexit
import dataclasses
import shutil
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from tempfile import mkdtemp
from typing import Any, ClassVar

from mios.agents.documents import RESEARCH_FOLDER, read_documents
from mios.agents.protocol import AgentContext, Estimate
from mios.context.examples import AS_OF
from mios.context.memory import InMemoryContextStore
from mios.context.service import init_workspace
from mios.context.store import ContextSnapshot
from mios.domain.channel import ChannelName

NOW = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 14, 0, tzinfo=UTC)
CUSTOMERS = 500


class StubForecasts:
    """Fixed, plausible numbers: 2% response by email, less elsewhere; ROAS by channel."""

    RATES: ClassVar[dict[ChannelName, float]] = {
        ChannelName.EMAIL: 0.02,
        ChannelName.SMS: 0.03,
        ChannelName.PUSH: 0.01,
    }
    ROAS: ClassVar[dict[ChannelName, float]] = {
        ChannelName.PAID_SEARCH: 4.0,
        ChannelName.PAID_SOCIAL: 2.4,
        ChannelName.DISPLAY: 1.2,
    }

    def response_rate(
        self, segment: str, channel: ChannelName, offer: str | None, angle: str | None
    ) -> Estimate:
        rate = self.RATES.get(channel, 0.005)
        return Estimate(rate, rate * 0.6, rate * 1.5)

    def order_value(self, channel: ChannelName, offer: str | None) -> Estimate | None:
        return Estimate(110.0, 90.0, 130.0)

    def roas(self, channel: ChannelName) -> Estimate | None:
        value = self.ROAS.get(channel)
        return None if value is None else Estimate(value, value * 0.8, value * 1.2)

    def marginal_roas(self, channel: ChannelName) -> Estimate | None:
        value = self.ROAS.get(channel)
        return None if value is None else Estimate(value * 0.6, value * 0.4, value * 0.8)


@cache
def _initialised(example: str) -> tuple[Path, ContextSnapshot]:
    root = Path(mkdtemp(prefix=f"mios-agents-{example}-")) / "workspace"
    atexit.register(shutil.rmtree, root.parent, ignore_errors=True)
    result = init_workspace(
        root, lambda _: InMemoryContextStore(), actor="test", example=example, customers=CUSTOMERS
    )
    return root, result.snapshot


def workspace_root(example: str = "retail") -> Path:
    return _initialised(example)[0]


def agent_context(example: str = "retail", *, seed: int = 7, **changes: Any) -> AgentContext:
    """The example's context at version 1, as the planner would hand it to an agent."""
    root, snapshot = _initialised(example)
    ctx = AgentContext(
        snapshot_version=snapshot.version,
        workspace=snapshot.workspace,
        customers=snapshot.customers(),
        history=snapshot.history,
        ledger=snapshot.ledger,
        learnings=snapshot.learnings,
        forecasts=StubForecasts(),
        now=NOW,
        seed=seed,
        documents=read_documents(root / RESEARCH_FOLDER),
    )
    return dataclasses.replace(ctx, **changes) if changes else ctx
