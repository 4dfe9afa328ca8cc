"""``mios brain``: fit and query the decision layer's models from files."""

from __future__ import annotations

import typer

brain_app = typer.Typer(
    help=(
        "Fit and query the brain's models: media mix, customer value, off-policy evaluation, "
        "next-best action.\n\nExample:\n\n    mios brain ope logged.csv --policy greedy"
    ),
    no_args_is_help=True,
)
