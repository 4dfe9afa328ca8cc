"""``mios measure``: outcomes and experiments."""

from __future__ import annotations

import typer

measure_app = typer.Typer(
    help=(
        "Measure what happened: import outcomes, read experiments out.\n\nExample:\n\n"
        "    mios measure experiment results.csv"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
