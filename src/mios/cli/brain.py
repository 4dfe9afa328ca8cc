"""``mios brain``: fit and query the decision layer's models from files."""

from __future__ import annotations

import typer

from mios.cli.brain_clv import clv_app
from mios.cli.brain_mmm import mmm_app
from mios.cli.brain_nba import nba
from mios.cli.brain_ope import ope

brain_app = typer.Typer(
    help=(
        "Fit and query the brain's models: media mix, customer value, off-policy evaluation, "
        "next-best action.\n\nExample:\n\n    mios brain ope logged.csv --policy greedy"
    ),
    no_args_is_help=True,
)
brain_app.command("nba")(nba)
brain_app.command("ope")(ope)
brain_app.add_typer(clv_app, name="clv")
brain_app.add_typer(mmm_app, name="mmm")
