"""``mios measure``: outcomes and experiments."""

from __future__ import annotations

import typer

from mios.cli.measure_experiment import experiment
from mios.cli.measure_outcomes import import_outcomes, kpis

measure_app = typer.Typer(
    help=(
        "Measure what happened: import outcomes, read experiments out.\n\nExample:\n\n"
        "    mios measure experiment results.csv"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
measure_app.command("experiment")(experiment)
measure_app.command("import")(import_outcomes)
measure_app.command("kpis")(kpis)
