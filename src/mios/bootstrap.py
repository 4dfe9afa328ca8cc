"""The composition root: the only place that builds engines and stores. The CLI, the API and
tests get their parts from here, and override any of them by passing their own."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from mios.config import DATA_DIR, Settings
from mios.errors import WorkspaceError
from mios.persistence.audit_log import SqlAuditLog
from mios.persistence.context_store import SqlContextStore
from mios.persistence.engine import create_database_engine, migrate
from mios.persistence.governance_store import SqlGovernanceStore
from mios.persistence.outcome_store import SqlOutcomeStore
from mios.persistence.shared_transaction import SharedTransaction

if TYPE_CHECKING:
    from mios.agents.protocol import AgentContext
    from mios.channels.port import Channel
    from mios.context.store import ContextSnapshot
    from mios.domain.channel import ChannelName
    from mios.domain.guardrails import Guardrails
    from mios.governance.command import HumanCommand
    from mios.lifecycle.cycle_store import CellCount
    from mios.lifecycle.durable import DurableLifecycle
    from mios.lifecycle.services import CycleServices, OutcomeSource, QueueSettings

#: Where a person's API token is read from. Never a command-line option: those end up in
#: shell history and in the process list, where anyone on the machine can read them.
TOKEN_VARIABLE = "MIOS_TOKEN"


def settings_from_environment(environ: Mapping[str, str] | None = None) -> Settings:
    return Settings.from_mapping(os.environ if environ is None else environ)  # noqa: TID251


def token_from_environment(environ: Mapping[str, str] | None = None) -> str | None:
    """The caller's API token (``MIOS_TOKEN``), or ``None`` when it is not set."""
    values = os.environ if environ is None else environ  # noqa: TID251
    return values.get(TOKEN_VARIABLE, "").strip() or None


def utc_now() -> datetime:
    return datetime.now(UTC)


def open_context_store(
    workspace: Path,
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> SqlContextStore:
    """The workspace's context store, migrated to the newest schema. SQLite lives in
    ``<workspace>/.mios/``; a configured database URL wins."""
    return SqlContextStore(_migrated_engine(workspace, settings), clock=clock)


@dataclass(frozen=True)
class Governance:
    """The workspace's governance store and audit log, on one engine; ``close`` when done."""

    store: SqlGovernanceStore
    audit: SqlAuditLog
    engine: Engine
    transaction: SharedTransaction  # a change and its audit records commit together

    def close(self) -> None:
        self.engine.dispose()


def open_governance(workspace: Path, settings: Settings) -> Governance:
    """Governance in the same database as the workspace's context store, migrated."""
    engine = _migrated_engine(workspace, settings)
    shared = SharedTransaction(engine)
    return Governance(
        SqlGovernanceStore(engine, shared), SqlAuditLog(engine, shared=shared), engine, shared
    )


def open_outcomes(workspace: Path, settings: Settings) -> SqlOutcomeStore:
    """The workspace's outcome store, in the same database as its context, migrated; ``close``
    it when done (that disposes its engine)."""
    return SqlOutcomeStore(_migrated_engine(workspace, settings))


def human_command(
    governance: Governance,
    guardrails: Guardrails,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> HumanCommand:
    """Human Command over ``governance``, with the workspace's approval rules (TTL, escalation)."""
    # Imported here: it loads the CEL runtime (half a second), which most commands never need.
    from mios.governance.command import HumanCommand  # noqa: PLC0415

    return HumanCommand(
        governance.store,
        governance.audit,
        clock,
        guardrails.approvals,
        transaction=governance.transaction,
    )


def _migrated_engine(workspace: Path, settings: Settings) -> Engine:
    if settings.uses_workspace_file():
        data = workspace / DATA_DIR
        try:
            data.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError.at(
                f"cannot keep the context database here: {exc.strerror or exc}", file=str(data)
            ) from exc
    engine = create_database_engine(settings.database_url_for(workspace))
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def agent_context(
    snapshot: ContextSnapshot,
    workspace: Path,
    *,
    now: datetime,
    seed: int,
    measured: Sequence[CellCount] = (),
) -> AgentContext:
    """What the agents read: one snapshot, the brain's forecasts fitted on its channel history
    and on the cells earlier cycles ``measured``, and the workspace's research files
    (``data/research``)."""
    # Imported here: the brain loads SciPy, which most commands never need.
    from mios.agents.documents import read_documents  # noqa: PLC0415
    from mios.agents.protocol import AgentContext  # noqa: PLC0415
    from mios.brain.workspace_forecasts import HistoryForecasts, MeasuredCell  # noqa: PLC0415

    cells = [MeasuredCell(*c.key, c.trials, c.successes, float(c.revenue)) for c in measured]

    shop = snapshot.workspace
    return AgentContext(
        snapshot_version=snapshot.version,
        workspace=shop,
        customers=snapshot.customers(),
        history=snapshot.history,
        ledger=snapshot.ledger,
        learnings=snapshot.learnings,
        forecasts=HistoryForecasts.from_history(shop, snapshot.history, seed=seed, measured=cells),
        now=now,
        seed=seed,
        documents=read_documents(workspace / "data" / "research"),
    )


#: Where DBOS keeps its checkpoints for a workspace on SQLite.
DBOS_FILE = "dbos.db"


@dataclass
class Lifecycle:
    """The durable lifecycle of one workspace and what it opened; ``launch`` to run cycles
    (DBOS is one per process), ``close`` when done (it also stops DBOS)."""

    durable: DurableLifecycle
    services: CycleServices
    closers: tuple[Callable[[], None], ...]

    def launch(self) -> Lifecycle:
        self.durable.launch()
        return self

    def close(self) -> None:
        if self.durable.launched:
            self.durable.destroy()
        for close in self.closers:
            close()

    def __enter__(self) -> Lifecycle:
        return self.launch()

    def __exit__(self, *exc: object) -> None:
        self.close()


def dbos_database_url(workspace: Path, settings: Settings) -> str:
    """DBOS's system database: the configured PostgreSQL database (DBOS keeps to its own
    schema there), or a SQLite file beside the workspace's own."""
    if settings.database_url:
        return settings.database_url
    return f"sqlite:///{(workspace / DATA_DIR / DBOS_FILE).resolve()}"


def open_lifecycle(
    workspace: Path,
    settings: Settings,
    *,
    channels: Mapping[ChannelName, Channel],
    source: OutcomeSource | None = None,
    clock: Callable[[], datetime] = utc_now,
    seed: int = 0,
    queues: Mapping[ChannelName, QueueSettings] | None = None,
    polling_interval: float = 1.0,
    executor_id: str | None = None,
) -> Lifecycle:
    """The real parts of a cycle, wired: the context store, Human Command with the built-in
    checkers, the installed agents, durable receipts and outcomes, the cycle store, and the
    given channel connectors (``source``: the simulator channel, whose days pass while a cycle
    measures). Each channel's queue is limited to its ``daily_capacity`` actions a day unless
    ``queues`` says otherwise. Not launched yet."""
    # Imported here: DBOS, SciPy and the CEL runtime take seconds, and most commands never run
    # a cycle.
    from mios.agents.registry import AgentRegistry  # noqa: PLC0415
    from mios.governance.checkers import built_in_checkers  # noqa: PLC0415
    from mios.lifecycle.durable import DurableConfig, DurableLifecycle  # noqa: PLC0415
    from mios.lifecycle.services import CycleServices, QueueSettings  # noqa: PLC0415
    from mios.persistence.cycle_store import SqlCycleStore  # noqa: PLC0415
    from mios.persistence.outcome_store import SqlOutcomeStore  # noqa: PLC0415
    from mios.persistence.receipt_log import SqlReceiptLog  # noqa: PLC0415

    context = open_context_store(workspace, settings, clock=clock)
    governance = open_governance(workspace, settings)
    try:
        shop = context.snapshot().workspace
        limits = {
            c.name: QueueSettings(limit=c.daily_capacity, period=86_400.0)
            for c in shop.channels
            if c.daily_capacity
        }
        cycles = SqlCycleStore(governance.engine)
        services = CycleServices(
            context=context,
            agents=AgentRegistry.discover(),
            # The agents forecast from what earlier cycles measured, as the brain does.
            agent_context=lambda snapshot, now, seed: agent_context(
                snapshot, workspace, now=now, seed=seed, measured=cycles.cells()
            ),
            command=human_command(governance, shop.guardrails, clock=clock),
            checkers=built_in_checkers(),
            channels=dict(channels),
            receipts=SqlReceiptLog(governance.engine),
            outcomes=SqlOutcomeStore(governance.engine),
            cycles=cycles,
            clock=clock,
            source=source,
            seed=seed,
            queues={**limits, **(queues or {})},
        )
    except BaseException:
        context.close()
        governance.close()
        raise
    config = DurableConfig(
        dbos_database_url(workspace, settings),
        executor_id=executor_id,
        polling_interval=polling_interval,
    )
    return Lifecycle(
        DurableLifecycle(services, config), services, (context.close, governance.close)
    )
