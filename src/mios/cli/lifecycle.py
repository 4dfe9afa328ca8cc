"""``mios run``, ``mios cycles``, ``mios actions``, ``mios learnings`` and ``mios worker``: the
Plan → Execute → Measure → Optimize cycle from the command line (docs/playbooks.md)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from mios.cli.output import handles_errors, print_json, state, stderr, stdout
from mios.domain.action import ActionState
from mios.domain.outcome import LearningStatus

if TYPE_CHECKING:
    from mios.bootstrap import Lifecycle
    from mios.context.store import ContextSnapshot
    from mios.domain.cycle import Cycle
    from mios.governance.store import GovernanceStore
    from mios.lifecycle.cycle_store import CycleStore
    from mios.lifecycle.durable import CycleReport
    from mios.lifecycle.services import ReceiptLog

lifecycle_app = typer.Typer(rich_markup_mode=None)
cycles_app = typer.Typer(
    help="The cycles that ran: what each stage produced.\n\n"
    "Example:\n\n    mios -w shop cycles show cycle-weekly-growth-1",
    no_args_is_help=True,
    rich_markup_mode=None,
)
actions_app = typer.Typer(
    help="The actions cycles made, and where each one is in its life.\n\n"
    "Example:\n\n    mios -w shop actions list --state awaiting_approval",
    no_args_is_help=True,
    rich_markup_mode=None,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


# -- running cycles ---------------------------------------------------------------------------


@lifecycle_app.command("run")
@handles_errors
def run(
    ctx: typer.Context,
    playbook: Annotated[str, typer.Argument(help="The playbook's name (playbooks/*.yaml).")],
    cycles: Annotated[
        int, typer.Option("--cycles", min=1, help="How many cycles, one after another.")
    ] = 1,
    json_output: JsonOption = False,
) -> None:
    """Run cycles of a playbook now, durably: plan, decide, review, execute, measure, learn.

    Actions awaiting approval are recorded and not waited for; approving one later
    (mios approvals approve) executes it. Channels come from mios.yaml: connector simulator
    writes to the outbox (<workspace>/.mios/outbox) outside mios demo; nothing reaches a
    network. An invalid file, an unknown playbook, agent or connector: exit 2, nothing starts.

    Example: mios -w shop run weekly-growth --cycles 3
    """
    from mios.bootstrap import settings_from_environment
    from mios.cli.context import _store
    from mios.cli.lifecycle_open import check_playbook, open_workspace_lifecycle
    from mios.cli.lifecycle_open import workspace_channels as wire
    from mios.cli.lifecycle_view import render_cycle

    as_json = json_output or state(ctx).json
    workspace = state(ctx).workspace
    store = _store(ctx, reading=True)
    try:
        snapshot = store.snapshot()
        check_playbook(workspace, snapshot, playbook)
        wiring = wire(workspace, snapshot.workspace)
    finally:
        store.close()
    if not as_json:
        by_place: dict[str, list[str]] = {}
        for channel, where in sorted(wiring.where.items()):
            by_place.setdefault(where, []).append(channel)
        for where, channels in by_place.items():
            stdout.print(Text(f"{', '.join(channels)}: {where}", style="dim"))
    lifecycle, _ = open_workspace_lifecycle(workspace, settings_from_environment(), wiring=wiring)
    shown = []
    with lifecycle:
        for index in range(cycles):
            began = time.monotonic()
            workflow = lifecycle.durable.start_cycle(playbook)
            report = _wait_cycle(lifecycle, workflow, f"{index + 1}/{cycles}", show=not as_json)
            executions = Counter(str(e.status) for e in report.executions)
            row = _cycle_row(lifecycle.services.cycles, lifecycle.services.command.store, report)
            row["executions"] = dict(sorted(executions.items()))
            row["seconds"] = round(time.monotonic() - began, 2)
            shown.append(row)
            if not as_json:
                render_cycle(row)
    if as_json:
        print_json({"playbook": playbook, "channels": wiring.where, "cycles": shown})


def _wait_cycle(lifecycle: Lifecycle, workflow: str, counter: str, *, show: bool) -> CycleReport:
    """Wait for the cycle's workflow, showing its stage on a terminal."""
    from dbos import DBOS

    from mios.cli.lifecycle_open import _FINISHED

    if show and stderr.is_terminal:
        with stderr.status(f"cycle {counter}: starting") as status:
            while True:
                found = DBOS.get_workflow_status(workflow)
                if found is not None and found.status in _FINISHED:
                    break
                cycle = lifecycle.services.cycles.get(workflow)
                if cycle is not None:
                    status.update(f"cycle {counter} ({workflow}): {cycle.stage}")
                time.sleep(0.2)
    report: CycleReport = lifecycle.durable.wait(workflow)
    return report


def _cycle_row(cycles: CycleStore, store: GovernanceStore, report: CycleReport) -> dict[str, Any]:
    from mios.cli.lifecycle_view import cycle_json

    cycle = cycles.get(report.cycle_id)
    assert cycle is not None, "a finished cycle is stored"
    return cycle_json(cycle, cycles.summary(cycle.id), _actions(store, cycle))


def _actions(store: GovernanceStore, cycle: Cycle) -> list[Any]:
    return [a for a in (store.action(i) for i in cycle.action_ids) if a is not None]


@lifecycle_app.command("worker")
@handles_errors
def worker(
    ctx: typer.Context,
    executor_id: Annotated[
        str | None,
        typer.Option(
            "--executor-id",
            help="This worker's name among several (default: host, process and a random "
            "part). Give a restarted worker its old name and it resumes what it held.",
        ),
    ] = None,
    grace: Annotated[
        int, typer.Option("--grace", min=0, help="Seconds to let running work finish on stop.")
    ] = 30,
    schedule: Annotated[
        bool,
        typer.Option(
            "--schedule/--no-schedule",
            help="Start cycles at their playbooks' cadences (UTC); --no-schedule only runs "
            "queued work.",
        ),
    ] = True,
    tick: Annotated[
        int,
        typer.Option("--tick", min=1, help="Seconds between two looks at the cadences."),
    ] = 30,
    json_output: JsonOption = False,
) -> None:
    """Take queued work (cycles, executions) and run it until SIGINT or SIGTERM, then stop
    cleanly: no new work is taken and what runs finishes. Several workers share the queues
    when MIOS_DATABASE_URL names a PostgreSQL database.

    Every --tick seconds the worker also starts the next cycle of each playbook whose cadence
    fired (once per fire, however many workers run; one catch-up cycle after a stop; skipped
    while the playbook's latest cycle has not finished). See: mios cycles next.

    Example: MIOS_DATABASE_URL=postgresql+psycopg://mios@db/mios mios -w shop worker
    """
    from mios.bootstrap import settings_from_environment
    from mios.cli.context import _store
    from mios.cli.lifecycle_open import (
        default_executor_id,
        next_fire_rows,
        open_workspace_lifecycle,
        serve,
    )
    from mios.lifecycle.schedule import Fired, Scheduler

    _store(ctx, reading=True).close()  # refuses a folder that is not a loaded workspace
    name = executor_id or default_executor_id()
    lifecycle, wiring = open_workspace_lifecycle(
        state(ctx).workspace, settings_from_environment(), executor_id=name
    )
    began = time.monotonic()

    def scheduled(fire: Fired) -> None:
        stderr.print(Text(f"schedule: {fire.describe()}"))

    scheduler = Scheduler(lifecycle.durable, report=scheduled) if schedule else None

    def ready() -> None:
        # Approved actions that never started (a hook that failed, a crash before enqueueing)
        # are queued now; one already queued or running is not queued twice.
        requeued = lifecycle.durable.requeue_approved()
        again = f"{len(requeued)} approved action(s) queued again; " if requeued else ""
        channels = ", ".join(sorted(wiring.where))
        line = f"worker {name} is taking work ({channels}); {again}SIGINT or SIGTERM stops it."
        stderr.print(Text(line))
        if scheduler is None:
            stderr.print(Text("schedule: off (--no-schedule)"))
            return
        now = lifecycle.services.clock()
        for row in next_fire_rows(scheduler.playbooks(), now):
            when = f"{row['next'][:16].replace('T', ' ')} UTC" if row["next"] else row["problem"]
            stderr.print(Text(f"schedule: {row['playbook']} ({row['cadence']}) next {when}"))

    signal_name = serve(lifecycle, grace=grace, on_ready=ready, scheduler=scheduler, tick=tick)
    seconds = round(time.monotonic() - began, 1)
    if json_output or state(ctx).json:
        print_json({"executor_id": name, "stopped_by": signal_name, "seconds": seconds})
    else:
        stdout.print(Text(f"worker {name} stopped ({signal_name}) after {seconds} s."))


# -- reading what ran -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stores:
    cycles: CycleStore
    actions: GovernanceStore
    receipts: ReceiptLog
    snapshot: ContextSnapshot


@contextmanager
def _stores(ctx: typer.Context) -> Iterator[_Stores]:
    from mios.bootstrap import open_governance, settings_from_environment
    from mios.cli.context import _store
    from mios.persistence.cycle_store import SqlCycleStore
    from mios.persistence.receipt_log import SqlReceiptLog

    store = _store(ctx, reading=True)
    try:
        snapshot = store.snapshot()
        governance = open_governance(state(ctx).workspace, settings_from_environment())
        try:
            engine = governance.engine
            yield _Stores(SqlCycleStore(engine), governance.store, SqlReceiptLog(engine), snapshot)
        finally:
            governance.close()
    finally:
        store.close()


def _cycle(stores: _Stores, cycle_id: str, option: str) -> Cycle:
    from mios.errors import InputError

    found = stores.cycles.get(cycle_id)
    if found is None:
        raise InputError.at(f"no cycle {cycle_id!r} (see: mios cycles list)", field=option)
    return found


@cycles_app.command("list")
@handles_errors
def list_cycles(
    ctx: typer.Context,
    playbook: Annotated[
        str | None, typer.Option("--playbook", help="Only this playbook's cycles.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """List the cycles, by playbook then number, with their counts.

    Example: mios -w shop cycles list --playbook weekly-growth --json
    """
    from mios.cli.lifecycle_view import cycle_json, render_cycles

    with _stores(ctx) as stores:
        rows = [
            cycle_json(c, stores.cycles.summary(c.id), _actions(stores.actions, c))
            for c in stores.cycles.cycles(playbook)
        ]
    if json_output or state(ctx).json:
        print_json(rows)
    elif not rows:
        stdout.print("No cycles yet; run one with: mios run PLAYBOOK")
    else:
        render_cycles(rows)


@cycles_app.command("next")
@handles_errors
def next_cycles(
    ctx: typer.Context,
    after: Annotated[
        str | None,
        typer.Option("--after", help="From this ISO time with offset (default: now)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """When each playbook's cadence fires next (UTC), and its latest cycle. mios worker starts
    a cycle at each fire, unless the latest cycle has not finished (docs/playbooks.md).

    Example: mios -w shop cycles next --after 2025-01-06T06:00Z --json
    """
    from rich.table import Table

    from mios.bootstrap import utc_now
    from mios.cli.lifecycle_open import next_fire_rows
    from mios.cli.output import utc_option

    since = utc_now() if after is None else utc_option(after, "--after")
    with _stores(ctx) as stores:
        rows = next_fire_rows(stores.snapshot.workspace.playbooks, since)
        for row in rows:
            ran = stores.cycles.cycles(row["playbook"])
            latest = ran[-1] if ran else None
            row["latest_cycle"] = None if latest is None else latest.id
            row["latest_stage"] = None if latest is None else str(latest.stage)
    if json_output or state(ctx).json:
        print_json({"after": since.isoformat(), "playbooks": rows})
        return
    if not rows:
        stdout.print("No playbooks; add one in playbooks/ and run: mios context sync")
        return
    table = Table("playbook", "cadence", "next fire (UTC)", "latest cycle", box=None)
    for row in rows:
        when = row["next"][:16].replace("T", " ") if row["next"] else f"never: {row['problem']}"
        cycle = row["latest_cycle"] or "-"
        if row["latest_stage"] is not None:
            cycle += f" ({row['latest_stage']})"
        table.add_row(row["playbook"], row["cadence"], when, cycle)
    stdout.print(table)


@cycles_app.command("show")
@handles_errors
def show_cycle(
    ctx: typer.Context,
    cycle_id: Annotated[str, typer.Argument(help="The cycle's id (see: cycles list).")],
    json_output: JsonOption = False,
) -> None:
    """Show one cycle: what each stage produced, and its actions.

    Example: mios -w shop cycles show cycle-weekly-growth-1 --json
    """
    from mios.cli.lifecycle_view import action_row, cycle_json, render_actions, render_cycle

    with _stores(ctx) as stores:
        cycle = _cycle(stores, cycle_id, "CYCLE_ID")
        actions = _actions(stores.actions, cycle)
        shown = cycle_json(cycle, stores.cycles.summary(cycle.id), actions)
    shown["action_list"] = [action_row(a, cycle.id) for a in actions]
    if json_output or state(ctx).json:
        print_json(shown)
        return
    render_cycle(shown)
    if actions:
        render_actions(shown["action_list"])


@actions_app.command("list")
@handles_errors
def list_actions(
    ctx: typer.Context,
    state_filter: Annotated[
        ActionState | None, typer.Option("--state", help="Only actions in this state.")
    ] = None,
    cycle_id: Annotated[str | None, typer.Option("--cycle", help="Only this cycle's.")] = None,
    json_output: JsonOption = False,
) -> None:
    """List the actions of cycles, cycle by cycle.

    Example: mios -w shop actions list --state approved --cycle cycle-weekly-growth-1
    """
    from mios.cli.lifecycle_view import action_row, render_actions

    with _stores(ctx) as stores:
        cycles = (
            [_cycle(stores, cycle_id, "--cycle")]
            if cycle_id is not None
            else stores.cycles.cycles()
        )
        rows = [
            action_row(a, c.id)
            for c in cycles
            for a in _actions(stores.actions, c)
            if state_filter is None or a.state is state_filter
        ]
    if json_output or state(ctx).json:
        print_json(rows)
    elif not rows:
        stdout.print("No actions match.")
    else:
        render_actions(rows)


@actions_app.command("show")
@handles_errors
def show_action(
    ctx: typer.Context,
    action_id: Annotated[str, typer.Argument(help="The action's id (see: actions list).")],
    json_output: JsonOption = False,
) -> None:
    """Show one action: its content, its state and history, and its receipt.

    Example: mios -w shop actions show cycle-weekly-growth-1-crm-0a1b2c3d4e5f
    """
    from mios.cli.approvals_view import action_json
    from mios.cli.lifecycle_view import history_json
    from mios.errors import InputError

    with _stores(ctx) as stores:
        action = stores.actions.action(action_id)
        if action is None:
            raise InputError.at(f"no action {action_id!r} (see: mios actions list)", field="ID")
        cycle = next((c.id for c in stores.cycles.cycles() if action_id in c.action_ids), None)
        receipt = stores.receipts.get(action.idempotency_key)
    shown = {
        **action_json(action),
        "cycle": cycle,
        "history": history_json(action),
        "receipt": None
        if receipt is None
        else {
            "channel": str(receipt.channel),
            "accepted": receipt.accepted,
            "external_id": receipt.external_id,
            "note": receipt.note,
        },
    }
    if json_output or state(ctx).json:
        print_json(shown)
        return
    stdout.print(Text(f"{action.id} v{action.version}: {action.kind}, {action.state}", "bold"))
    stdout.print(Text(f"  cycle {cycle or '-'}; channel {action.channel or '-'}"))
    stdout.print(Text(f"  idempotency key {action.idempotency_key}"))
    if action.content is not None:
        stdout.print(Text(f"  subject: {action.content.subject or action.content.headline}"))
    for step in shown["history"]:
        why = f" ({step['reason']})" if step["reason"] else ""
        stdout.print(
            Text(f"  {step['at'][:19]} {step['from']} -> {step['to']} by {step['actor']}{why}")
        )
    if receipt is not None:
        stdout.print(Text(f"  receipt: {receipt.accepted} accepted, {receipt.external_id}"))


@lifecycle_app.command("learnings")
@handles_errors
def learnings(
    ctx: typer.Context,
    cycle_id: Annotated[str | None, typer.Option("--cycle", help="Only this cycle's.")] = None,
    status: Annotated[
        LearningStatus | None,
        typer.Option("--status", help="Only learnings with this status."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """List what cycles learned (insight, evidence, confidence, status), newest first.

    A learning is proposed when a cycle measures it, and validated or refuted when a later
    cycle measures the same cell (docs/lifecycle.md).

    Example: mios -w shop learnings --status validated --json
    """
    from mios.cli.context import _store
    from mios.cli.lifecycle_view import learning_json, render_learnings

    store = _store(ctx, reading=True)
    try:
        found = store.snapshot().learnings
    finally:
        store.close()
    chosen = sorted(
        (lr for lr in found if cycle_id in (None, lr.cycle_id) and status in (None, lr.status)),
        key=lambda lr: (lr.created_at, lr.id),
        reverse=True,
    )
    if json_output or state(ctx).json:
        print_json([learning_json(lr) for lr in chosen])
    elif not chosen and found:
        stdout.print("No learnings match --cycle and --status.")
    elif not chosen:
        stdout.print("No learnings yet; they come from measured cycles (mios run PLAYBOOK).")
    else:
        render_learnings(chosen)
