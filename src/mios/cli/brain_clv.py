"""``mios brain clv``: customer value from a transaction log (BG/NBD + Gamma-Gamma)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from mios.cli.output import handles_errors, print_json, state, stderr, stdout

if TYPE_CHECKING:
    from mios.brain.clv import CustomerValueFit
    from mios.brain.tables import Table as DataTable
    from mios.types import FloatArray

clv_app = typer.Typer(
    help="Customer value: BG/NBD repeat purchases and Gamma-Gamma spend, from transactions.\n\n"
    "Example:\n\n    mios brain clv fit orders.csv --customer-col customer_id --date-col day "
    "--amount-col amount",
    no_args_is_help=True,
    rich_markup_mode=None,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


class TimeUnitName(StrEnum):
    DAY = "day"
    WEEK = "week"


@clv_app.command("fit")
@handles_errors
def fit(
    ctx: typer.Context,
    transactions: Annotated[
        Path, typer.Argument(help="Transactions, CSV: one row per purchase, with a header.")
    ],
    customer_col: Annotated[str, typer.Option("--customer-col", help="The customer id column.")],
    date_col: Annotated[
        str, typer.Option("--date-col", help="The purchase date column (YYYY-MM-DD or YYYYMMDD).")
    ],
    amount_col: Annotated[
        str, typer.Option("--amount-col", help="The amount column (a number >= 0).")
    ],
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="End of the observation period, YYYY-MM-DD (default: the last date in the "
            "file); later transactions are ignored.",
        ),
    ] = None,
    time_unit: Annotated[
        TimeUnitName, typer.Option("--time-unit", help="Unit of recency, T and the horizon.")
    ] = TimeUnitName.WEEK,
    horizon: Annotated[
        float | None,
        typer.Option(
            "--horizon", help="Time units ahead to value (default: a year, 52 weeks or 365 days)."
        ),
    ] = None,
    discount_rate: Annotated[
        float, typer.Option("--discount-rate", help="Yearly discount rate of future value.")
    ] = 0.10,
    top: Annotated[int, typer.Option("--top", min=0, help="How many top customers to list.")] = 10,
    json_output: JsonOption = False,
) -> None:
    """Fit BG/NBD and Gamma-Gamma on a transaction log and value every customer.

    Purchases on one day by one customer count once (their amounts add up); a customer's first
    purchase is their birth. Prints the fitted parameters with standard errors, the customers
    and repeat customers, the expected purchases and value over the horizon, and the top
    customers. See docs/brain/clv.md.

    Example: mios brain clv fit cdnow.csv --customer-col id --date-col date --amount-col
    amount --until 1997-09-30 --time-unit week
    """
    import numpy as np

    from mios.brain.clv import fit_customer_value
    from mios.brain.clv_data import summarize
    from mios.brain.tables import parse_days, read_table
    from mios.errors import ModelInputError

    table = read_table(transactions)
    customer = table.column(customer_col)
    for row, text in enumerate(customer):
        if not text.strip():
            raise table.error("an empty customer id", row=row, column=customer_col)
    days = table.dates(date_col)
    amounts = _amounts(table, amount_col)
    end = None
    if until is not None:
        end = parse_days(
            [until.strip()],
            lambda _row, message: ModelInputError(f"--until: {message}"),
        )[0]
    try:
        summary = summarize(
            np.array([text.strip() for text in customer]),
            days,
            amounts,
            until=end,
            time_unit=time_unit.value,
        )
        result = fit_customer_value(summary, horizon=horizon, discount_rate=discount_rate)
    except ModelInputError as exc:
        raise ModelInputError.at(str(exc), file=str(transactions)) from None
    if json_output or state(ctx).json:
        print_json({"file": str(transactions), **result.as_dict(top=top)})
        return
    _render(result, transactions, top)


def _amounts(table: DataTable, column: str) -> FloatArray:
    values = table.floats(column)
    negative = (values < 0).nonzero()[0]
    if negative.size:
        row = int(negative[0])
        raise table.error(
            f"{values[row]:g} is a negative amount ({negative.size} such rows); leave refunds "
            "out of the log",
            row=row,
            column=column,
        )
    return values


def _render(result: CustomerValueFit, path: Path, top: int) -> None:
    described = result.as_dict(top=top)
    seen = described["observation"]
    unit = seen["time_unit"]
    stdout.print(
        Text(
            f"{path.name}: {seen['transactions']:,} transactions of {seen['customers']:,} "
            f"customers ({seen['repeat_customers']:,} repeat), first purchase "
            f"{seen['first_purchase']}, observed until {seen['until']}, times in {unit}s"
        )
    )
    params = Table(title="Fitted parameters", title_justify="left")
    params.add_column("model")
    params.add_column("parameter")
    params.add_column("value", justify="right")
    params.add_column("std error", justify="right")
    for label, key in (("BG/NBD", "bgnbd"), ("Gamma-Gamma", "gamma_gamma")):
        model = described[key]
        for name, value in model["params"].items():
            error = model["std_errors"][name]
            params.add_row(label, name, f"{value:.4g}", "-" if error is None else f"{error:.3g}")
        params.add_row(label, "log-likelihood", f"{model['log_likelihood']:,.2f}", "")
    stdout.print(params)
    stdout.print(
        Text(
            f"over the next {described['horizon']:g} {unit}s: "
            f"{described['expected_transactions']:,.1f} expected purchases, expected value "
            f"{described['expected_value']:,.2f} (discounted at "
            f"{described['discount_rate']:.1%} a year); mean P(alive) "
            f"{described['mean_p_alive']:.3f}"
        )
    )
    for warning in described["warnings"]:
        stderr.print(Text.assemble(("warning: ", "bold yellow"), warning))
    if not described["top_customers"]:
        return
    best = Table(title=f"Top {len(described['top_customers'])} customers", title_justify="left")
    for name in ("customer", "purchases", "P(alive)", "exp. purchases", "exp. spend", "value"):
        best.add_column(name, justify="left" if name == "customer" else "right")
    for row in described["top_customers"]:
        best.add_row(
            Text(row["customer"]),
            f"{row['frequency'] + 1}",
            f"{row['p_alive']:.3f}",
            f"{row['expected_transactions']:.2f}",
            f"{row['expected_spend']:,.2f}",
            f"{row['value']:,.2f}",
        )
    stdout.print(best)
