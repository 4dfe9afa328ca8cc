"""``mios measure import`` and ``mios measure kpis``: outcomes in, KPIs and pacing out."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from mios.cli.output import handles_errors, print_json, state, stdout, utc_option

if TYPE_CHECKING:
    from mios.context.store import ContextSnapshot
    from mios.governance.store import GovernanceStore

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


class _KnownActions:
    """Action ids the governance store has, looked up once each."""

    def __init__(self, store: GovernanceStore) -> None:
        self._store = store
        self._seen: dict[str, bool] = {}

    def __contains__(self, action_id: object) -> bool:
        if not isinstance(action_id, str):
            return False
        if action_id not in self._seen:
            self._seen[action_id] = self._store.action(action_id) is not None
        return self._seen[action_id]


def _snapshot(workspace: Path) -> ContextSnapshot:
    """The newest context of ``workspace``; a clear error when there is none."""
    from mios.bootstrap import open_context_store, settings_from_environment
    from mios.config import DATA_DIR, DATABASE_FILE
    from mios.errors import WorkspaceError

    settings = settings_from_environment()
    if settings.uses_workspace_file():
        if not (workspace / "mios.yaml").is_file():
            raise WorkspaceError.at(
                f"no workspace here (no mios.yaml); create one with: mios init {workspace}",
                file=str(workspace),
            )
        if not (workspace / DATA_DIR / DATABASE_FILE).is_file():
            raise WorkspaceError.at(
                f"this workspace has no context yet; load it with: mios -w {workspace} "
                "context sync",
                file=str(workspace),
            )
    store = open_context_store(workspace, settings)
    try:
        return store.snapshot()
    finally:
        store.close()


@handles_errors
def import_outcomes(
    ctx: typer.Context,
    outcomes_csv: Annotated[
        Path,
        typer.Argument(
            help="Columns: id, kind, at, and optionally action_id, customer_id, channel, value, "
            "currency, count, tracking_id, attributes (docs/measurement.md).",
        ),
    ],
    json_output: JsonOption = False,
) -> None:
    """Import measured outcomes from a CSV file, once each.

    Every row is checked first (an outcome for an action this workspace never ran is refused);
    one bad row imports nothing and exits 2. An outcome id already stored is skipped, so
    importing the same file twice adds nothing the second time.

    Example: mios -w shop measure import outcomes.csv --json
    """
    from mios.bootstrap import open_governance, open_outcomes, settings_from_environment
    from mios.measure.outcomes_csv import read_outcomes_csv

    workspace = state(ctx).workspace
    snapshot = _snapshot(workspace)
    settings = settings_from_environment()
    governance = open_governance(workspace, settings)
    try:
        read = read_outcomes_csv(
            outcomes_csv,
            default_currency=snapshot.workspace.currency,
            known_actions=_KnownActions(governance.store),
        )
    finally:
        governance.close()
    store = open_outcomes(workspace, settings)
    try:
        added = store.add(read.outcomes)
    finally:
        store.close()
    result = {
        "file": str(outcomes_csv),
        "rows": read.rows,
        "outcomes": len(read.outcomes),
        "repeated_in_file": read.repeated_ids,
        "new": added,
        "already_stored": len(read.outcomes) - added,
    }
    if json_output or state(ctx).json:
        print_json(result)
        return
    stdout.print(
        f"Imported {outcomes_csv}: {read.rows:,} rows, {added:,} new outcomes, "
        f"{result['already_stored']:,} already stored"
        + (f", {read.repeated_ids:,} repeated ids in the file" if read.repeated_ids else "")
        + ".",
        markup=False,
    )


@handles_errors
def kpis(
    ctx: typer.Context,
    days: Annotated[
        float,
        typer.Option("--days", min=0.001, help="The window: this many days up to --until."),
    ] = 7.0,
    until: Annotated[
        str | None,
        typer.Option("--until", help="End of the window, ISO 8601 with offset (default: now)."),
    ] = None,
    margin: Annotated[
        float | None,
        typer.Option(
            "--margin",
            min=-1.0,
            max=1.0,
            help="Margin of revenue naming no known offer (default: the first offer's, else 1).",
        ),
    ] = None,
    tolerance: Annotated[
        float,
        typer.Option(
            "--tolerance",
            min=0.0,
            max=0.99,
            help="Pacing: within this share of the budget of plan counts as on pace.",
        ),
    ] = 0.10,
    json_output: JsonOption = False,
) -> None:
    """Roll stored outcomes up into KPIs against the objective, and pace each budget.

    Prints the KPIs of the window overall and per channel, the primary KPI against its target
    pro-rated to the window, every guardrail breached, and each budget's spend so far against
    plan (on pace, behind or ahead). Formulas in docs/measurement.md.

    Example: mios -w shop measure kpis --days 7 --json
    """
    from mios.bootstrap import open_outcomes, settings_from_environment, utc_now
    from mios.measure.kpis import Economics, Window, kpi_report
    from mios.measure.pacing import pacing, spend_in_period

    workspace = state(ctx).workspace
    end = utc_option(until, "--until") if until else utc_now()
    window = Window.ending(end, days)
    snapshot = _snapshot(workspace)
    shop = snapshot.workspace
    margins = {o.id: Decimal(repr(o.margin)) for o in shop.offers}
    default = Decimal(1) if not shop.offers else margins[shop.offers[0].id]
    economics = Economics(
        currency=shop.currency,
        margins=margins,
        default_margin=default if margin is None else Decimal(repr(margin)),
        customers=snapshot.customer_count,
    )
    periods = [b.period.bounds(end.date())[0] for b in shop.budgets]
    earliest = min([window.start, *(_midnight(d) for d in periods)])
    store = open_outcomes(workspace, settings_from_environment())
    try:
        outcomes = store.query(since=earliest, until=end)
    finally:
        store.close()
    report = kpi_report(outcomes, shop.objective, window, economics)
    spent = spend_in_period(shop.budgets, end, ledger=snapshot.ledger, outcomes=outcomes)
    paces = pacing(shop.budgets, end, spent, tolerance=tolerance)
    result = {**report.as_dict(), "pacing": [p.as_dict() for p in paces]}
    if json_output or state(ctx).json:
        print_json(result)
    else:
        _render(result)


def _midnight(day: Any) -> datetime:
    from datetime import UTC, time

    return datetime.combine(day, time(), UTC)


def _number(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    if abs(value) < 1 and value != 0:
        return f"{value:.4f}"
    return f"{value:,.{digits}f}"


def _render(result: dict[str, Any]) -> None:
    window, target = result["window"], result["target"]
    stdout.print(
        Text.assemble(
            ("KPIs", "bold"),
            f"  {window['start']} to {window['end']} ({window['days']:g} days), "
            f"{result['currency']}",
        ),
        highlight=False,
    )
    channels = result["by_channel"]
    table = Table(show_edge=False)
    table.add_column("KPI", no_wrap=True)
    table.add_column("all", justify="right", no_wrap=True)
    for name in channels:
        table.add_column(name, justify="right", no_wrap=True)
    for kpi, value in result["kpis"].items():
        table.add_row(kpi, _number(value), *(_number(c["kpis"][kpi]) for c in channels.values()))
    stdout.print(table)
    mark = {True: "on track", False: "behind target", None: "no data"}[target["on_track"]]
    scope = " (pro-rated to the window)" if target["prorated"] else ""
    stdout.print(
        f"Target: {target['kpi']} {_number(target['actual'])} against "
        f"{_number(target['target'])}{scope}: {mark}.",
        markup=False,
    )
    if result["breaches"]:
        stdout.print(Text("Guardrails breached:", style="bold red"))
        for breach in result["breaches"]:
            stdout.print(f"  - {breach['message']}", markup=False)
    else:
        stdout.print("No guardrail breached.")
    if result["pacing"]:
        pace = Table(title="Budget pacing", show_edge=False)
        for column in ("channel", "period, elapsed", "budget", "spent", "planned", "pace"):
            left = column in ("channel", "period, elapsed")
            pace.add_column(column, justify="left" if left else "right", no_wrap=True)
        pace.add_column("status", no_wrap=True)
        for p in result["pacing"]:
            pct = "-" if p["pace_pct"] is None else f"{p['pace_pct']:.0f}%"
            pace.add_row(
                p["channel"],
                f"{p['period']}, {p['elapsed_pct']:.0f}%",
                p["budget"],
                p["spent"],
                p["planned"],
                pct,
                p["status"] + (" (over budget)" if p["over_budget"] else ""),
            )
        stdout.print(pace)
