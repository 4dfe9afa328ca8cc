"""``mios brain mmm``: fit media response curves from spend and outcome history, and allocate."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from mios.cli.output import handles_errors, print_json, state, stdout

if TYPE_CHECKING:
    from mios.brain.allocation import Allocation
    from mios.brain.mmm_report import Estimate, FitReport

mmm_app = typer.Typer(
    help="Media mix models: adstock and Hill response curves per paid channel, ROAS with "
    "intervals, lift-test calibration and budget allocation.\n\nExample:\n\n"
    "    mios brain mmm fit sales.csv --date-col week --target revenue --channels search,social",
    no_args_is_help=True,
    rich_markup_mode=None,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


class AllocationObjective(StrEnum):
    """The objectives of ``mios.brain.allocation.allocate``."""

    OUTCOME = "outcome"
    PROFIT = "profit"


def _names(text: str | None) -> list[str]:
    if not text:
        return []
    return [name.strip() for name in text.split(",") if name.strip()]


@mmm_app.command("fit")
@handles_errors
def fit(
    ctx: typer.Context,
    data: Annotated[
        Path,
        typer.Argument(help="One period per row: a date, the outcome, spend per channel."),
    ],
    date_col: Annotated[str, typer.Option("--date-col", help="The date column (YYYY-MM-DD).")],
    target: Annotated[str, typer.Option("--target", help="The outcome column (sales, ...).")],
    channels: Annotated[
        str, typer.Option("--channels", help="Spend columns of the paid channels, a,b,c.")
    ],
    controls: Annotated[
        str | None,
        typer.Option("--controls", help="Control columns (price, events ...), comma-separated."),
    ] = None,
    lift_tests: Annotated[
        Path | None,
        typer.Option(
            "--lift-tests",
            help="Lift tests CSV: channel, start, end, spend_delta, lift, lift_se.",
        ),
    ] = None,
    allocate: Annotated[
        float | None,
        typer.Option("--allocate", min=0.0, help="Also allocate this budget per period."),
    ] = None,
    objective: Annotated[
        AllocationObjective,
        typer.Option("--objective", help="outcome: spend all; profit: value x outcome - spend."),
    ] = AllocationObjective.OUTCOME,
    value: Annotated[
        float, typer.Option("--value", min=0.0, help="Value of one unit of outcome (profit).")
    ] = 1.0,
    max_change: Annotated[
        float | None,
        typer.Option(
            "--max-change",
            min=0.0,
            help="Most any channel may move from its mean spend per period, a share (0.2).",
        ),
    ] = None,
    max_lag: Annotated[
        int, typer.Option("--max-lag", min=1, max=104, help="Periods of carry-over.")
    ] = 8,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=0, max=5000, help="Refits for the intervals.")
    ] = 200,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the fit.")] = 0,
    json_output: JsonOption = False,
) -> None:
    """Fit per channel ROAS, contribution share, adstock and saturation, each with a 90%
    interval, and print the fit's R^2 and MAPE.

    Example: mios brain mmm fit sales.csv --date-col week --target revenue
    --channels search,social --controls price --lift-tests lifts.csv --allocate 50000
    """
    from mios.brain.allocation import BudgetConstraints
    from mios.brain.allocation import allocate as allocate_budget
    from mios.brain.mmm import MediaMixModel
    from mios.brain.mmm_data import read_lift_tests, read_media_csv
    from mios.errors import ModelInputError

    read = read_media_csv(
        data,
        date_col=date_col,
        target=target,
        channels=_names(channels),
        controls=_names(controls),
    )
    tests = read_lift_tests(lift_tests) if lift_tests is not None else []
    model = MediaMixModel(max_lag=max_lag, n_bootstrap=bootstrap, random_state=seed)
    try:
        model.fit(
            read.spend,
            read.target,
            dates=read.dates,
            controls=read.controls,
            lift_tests=tests,
            channel_names=read.channels,
            control_names=read.control_names,
        )
    except ModelInputError as exc:
        # A lift test's error already names its file and line; anything else is the data's.
        about_lifts = lift_tests is not None and str(exc).startswith(f"{lift_tests}:")
        raise ModelInputError(str(exc) if about_lifts else f"{data}: {exc}") from exc
    report = model.report()
    allocation = None
    if allocate is not None:
        current = dict(zip(read.channels, read.spend.mean(axis=0).tolist(), strict=True))
        rules = BudgetConstraints(
            current=current if max_change is not None else {}, max_change=max_change
        )
        allocation = allocate_budget(
            model.response_curves(),
            allocate,
            constraints=rules,
            objective=objective.value,
            value_per_outcome=value,
        )
    if json_output or state(ctx).json:
        out: dict[str, Any] = {"data": str(data), "fit": report.as_dict()}
        if allocation is not None:
            out["allocation"] = allocation.as_dict()
        print_json(out)
        return
    _render_fit(report, str(data))
    if allocation is not None:
        _render_allocation(allocation, read.spend.mean(axis=0).tolist())


def _interval(estimate: Estimate, digits: int = 2, percent: bool = False) -> str:
    if percent:
        return f"{estimate.value:.1%} [{estimate.low:.1%}, {estimate.high:.1%}]"
    return f"{estimate.value:,.{digits}f} [{estimate.low:,.{digits}f}, {estimate.high:,.{digits}f}]"


def _render_fit(report: FitReport, name: str) -> None:
    level = f"{report.interval:.0%}"
    table = Table(
        title=Text(f"{name}: media mix model, {report.periods} periods ({level} intervals)"),
        title_justify="left",
    )
    for column in ("channel", "ROAS", "contribution share", "decay", "half saturation", "shape"):
        table.add_column(column, justify="left" if column == "channel" else "right")
    for channel in report.channels:
        table.add_row(
            Text(channel.name),
            _interval(channel.roas),
            _interval(channel.contribution_share, percent=True),
            _interval(channel.decay),
            _interval(channel.half_saturation),
            _interval(channel.shape),
        )
    stdout.print(table)
    mape = "n/a (the outcome has a zero)" if report.mape is None else f"{report.mape:.1%}"
    stdout.print(
        f"fit: R^2 {report.r2:.3f}, MAPE {mape}, {report.bootstrap_draws} bootstrap refits, "
        f"{report.lift_tests} lift tests; solver: {report.message}",
        markup=False,
    )


def _render_allocation(allocation: Allocation, current: list[float]) -> None:
    table = Table(
        title=Text(
            f"Allocation of {allocation.spend.sum():,.2f} per period ({allocation.objective})"
        ),
        title_justify="left",
    )
    for column in ("channel", "mean spend now", "allocated", "outcome", "marginal ROAS"):
        table.add_column(column, justify="left" if column == "channel" else "right")
    for k, channel in enumerate(allocation.channels):
        bound = " (at a bound)" if channel in allocation.at_bound else ""
        table.add_row(
            Text(channel),
            f"{current[k]:,.2f}",
            f"{allocation.spend[k]:,.2f}{bound}",
            f"{allocation.outcome_by_channel[k]:,.2f}",
            f"{allocation.marginal_roas[k]:,.3f}",
        )
    stdout.print(table)
    stdout.print(
        f"expected media outcome per period: {_interval(allocation.outcome)}; "
        f"solver status {allocation.status}: {allocation.message}",
        markup=False,
    )
