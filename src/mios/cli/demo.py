"""``mios demo``: the whole loop, several cycles, on a simulated market, in a temporary folder."""

from __future__ import annotations

import shutil
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from mios.cli.output import handles_errors, print_json, state, stdout

if TYPE_CHECKING:
    from mios.demo.run import DemoResult


@handles_errors
def demo(
    ctx: typer.Context,
    scenario: Annotated[
        str, typer.Option("--scenario", help="A shipped market (see: mios sim scenarios).")
    ] = "retail-holiday",
    customers: Annotated[
        int, typer.Option("--customers", min=1_000, max=1_000_000, help="Market size.")
    ] = 20_000,
    cycles: Annotated[int, typer.Option("--cycles", min=1, max=12, help="Weekly cycles.")] = 3,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of market and agents.")] = 7,
    keep: Annotated[
        Path | None,
        typer.Option("--keep", help="Write the demo workspace here (a new folder) and keep it."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Run mios end to end on a simulated market: agents propose, the brain decides,
    governance reviews (a scripted reviewer stands in for people, and says so), actions
    execute durably, outcomes are measured and learned from, cycle after cycle; then profit
    is compared with the simulator's static and oracle policies and with sprawl mode.

    Example: mios demo --cycles 3 --customers 20000
    """
    from mios.demo.run import SCRIPTED, run_demo

    as_json = json_output or state(ctx).json
    folder = Path(tempfile.mkdtemp(prefix="mios-demo-")) if keep is None else keep
    root = folder / "market" if keep is None else folder
    say = (lambda _line: None) if as_json else (lambda line: stdout.print(Text(line)))
    try:
        result = run_demo(
            root, scenario=scenario, customers=customers, cycles=cycles, seed=seed, say=say
        )
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    if as_json:
        print_json(_json(result))
        return
    _render(result, SCRIPTED, kept=keep)


def _json(result: DemoResult) -> dict[str, Any]:
    return {
        "scenario": result.scenario,
        "customers": result.customers,
        "days": result.days,
        "cycles": [
            {
                **{k: v for k, v in vars(line).items() if k not in ("learnings", "profit_so_far")},
                "learnings": list(line.learnings),
                "profit_so_far": str(line.profit_so_far),
            }
            for line in result.cycles
        ],
        "profit": {name: str(value) for name, value in result.profit.items()},
    }


def _render(result: DemoResult, scripted: str, *, kept: Path | None) -> None:
    stdout.print(
        Text(
            f"\n{result.scenario}: {result.customers:,} customers, {result.days} days. Approvals "
            f"were given by a {scripted}: it approves what governance asks people to approve, "
            "except display advertising, which it rejects."
        )
    )
    table = Table(
        "cycle",
        "proposed",
        "selected/deferred/dropped",
        "allowed/awaiting/blocked",
        "script approved/rejected",
        "executed",
        "outcomes",
        "learned",
        "profit so far",
    )
    for line in result.cycles:
        table.add_row(
            str(line.number),
            str(line.proposals),
            f"{line.selected} / {line.deferred} / {line.dropped}",
            f"{line.allowed} / {line.awaiting} / {line.blocked}",
            f"{line.approved_by_script} / {line.rejected_by_script}",
            str(line.executed),
            str(line.outcomes),
            str(len(line.learnings)),
            _money(line.profit_so_far),
        )
    stdout.print(table)
    for line in result.cycles:
        if line.learnings:
            shown = ", ".join(line.learnings[:4]) + (" ..." if len(line.learnings) > 4 else "")
            stdout.print(Text(f"cycle {line.number} learned: {shown}"))
    profit = result.profit
    mios = profit["mios"]
    comparison = Table("policy", "profit", "mios minus it", title="Profit over the same days")
    for name, label in (
        ("mios", "mios (agents + brain + governance)"),
        ("static", "simulator static policy"),
        ("oracle", "simulator oracle (knows the truth)"),
        ("sprawl", "sprawl mode (same agents, uncoordinated)"),
    ):
        value = profit[name]
        comparison.add_row(label, _money(value), "-" if name == "mios" else _money(mios - value))
    stdout.print(comparison)
    if kept is not None:
        stdout.print(Text(f"The workspace is kept in {kept} (try: mios -w {kept} cycles list)."))


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"
