"""``mios sim``: list the market scenarios and run a reference policy on one."""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from mios.cli.output import handles_errors, print_json, progress_bar, state, stdout

if TYPE_CHECKING:
    from mios.sim.scenario import Scenario

sim_app = typer.Typer(
    help="Run the market simulator: scenarios with known ground truth.\n\n"
    "Example:\n\n    mios sim run retail-holiday --policy oracle --days 30",
    no_args_is_help=True,
    rich_markup_mode=None,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


class PolicyName(StrEnum):
    """The keys of ``mios.sim.policies.POLICIES``, spelled out here because importing that
    module loads NumPy, and ``mios --help`` must not."""

    RANDOM = "random"
    STATIC = "static"
    ORACLE = "oracle"


def _at_most_max_days(days: int) -> int:
    # The limit lives beside the simulator, which loads NumPy: read it only once a run is asked.
    from mios.sim.run import MAX_DAYS

    if days > MAX_DAYS:
        raise typer.BadParameter(f"{days} is more than the limit of {MAX_DAYS} days.")
    return days


# (as_dict key, label) in the order people read a result: money first, then what happened.
_RUN_ROWS = (
    ("spend", "spend"),
    ("revenue", "revenue"),
    ("organic_revenue", "organic revenue"),
    ("gross_margin", "gross margin"),
    ("incident_cost", "incident cost"),
    ("profit", "profit"),
    ("delivered", "messages delivered"),
    ("opens", "opens"),
    ("clicks", "clicks"),
    ("conversions", "conversions"),
    ("organic_conversions", "organic conversions"),
    ("unsubscribes", "unsubscribes"),
    ("complaints", "complaints"),
    ("compliance_incidents", "compliance incidents"),
    ("brand_incidents", "brand incidents"),
    ("contacts_per_customer_week_p50", "contacts per customer per week, p50"),
    ("contacts_per_customer_week_p99", "contacts per customer per week, p99"),
)
_MONEY = frozenset(
    {"spend", "revenue", "organic_revenue", "gross_margin", "incident_cost", "profit"}
)


@sim_app.command("scenarios")
@handles_errors
def scenarios(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List the shipped market scenarios.

    Example: mios sim scenarios --json
    """
    from mios.sim.scenario import load_scenario, shipped_scenarios

    described = [_describe(load_scenario(name)) for name in shipped_scenarios()]
    if json_output or state(ctx).json:
        print_json(described)
        return
    table = Table(title="Market scenarios", title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("customers", justify="right", no_wrap=True)
    table.add_column("currency", no_wrap=True)
    table.add_column("start", no_wrap=True)
    table.add_column("channels")
    for scenario in described:
        table.add_row(
            scenario["name"],
            f"{scenario['customers']:,}",
            scenario["currency"],
            scenario["start"],
            Text(" ".join(scenario["channels"])),
        )
    stdout.print(table)
    for scenario in described:
        stdout.print(Text(f"{scenario['name']}: {_headline(scenario['description'])}"))


@sim_app.command("run")
@handles_errors
def run(
    ctx: typer.Context,
    scenario: Annotated[
        str,
        typer.Argument(help="A shipped scenario (see: mios sim scenarios) or a scenario file."),
    ],
    policy: Annotated[
        PolicyName, typer.Option("--policy", help="Which reference policy decides.")
    ] = PolicyName.STATIC,
    days: Annotated[
        int,
        typer.Option("--days", min=1, callback=_at_most_max_days, help="How many days to run."),
    ] = 30,
    customers: Annotated[
        int | None,
        typer.Option(
            "--customers", min=1, max=100_000_000, help="Market size (default: the scenario's)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed for the market.")] = 0,
    json_output: JsonOption = False,
) -> None:
    """Run a reference policy on a simulated market and print its totals.

    Two runs with the same arguments give identical totals and outcome digest.

    Example: mios sim run retail-holiday --policy oracle --customers 20000
    """
    from mios.sim.run import run_policy
    from mios.sim.scenario import load_scenario

    as_json = json_output or state(ctx).json
    loaded = load_scenario(scenario)
    with progress_bar(f"Simulating {days} days", enabled=not as_json) as update:
        result = run_policy(
            loaded,
            policy.value,
            days=days,
            seed=seed,
            customers=customers,
            progress=lambda day: update(day, days),
        )
    totals = result.as_dict()
    if as_json:
        print_json(totals)
    else:
        _render_run(totals)


def _describe(scenario: Scenario) -> dict[str, Any]:
    return {
        "name": scenario.name,
        "customers": scenario.population.customers,
        "currency": scenario.currency,
        "start": scenario.start.isoformat(),
        "channels": [channel.value for channel in scenario.channel_names],
        "description": " ".join(scenario.description.split()),
    }


def _headline(description: str) -> str:
    """The description up to its first pause: a table row has room for a line, not a
    paragraph (``--json`` carries the whole text)."""
    return re.split(r"[.:;]\s", description + " ", maxsplit=1)[0]


def _render_run(totals: dict[str, Any]) -> None:
    from mios.domain.money import Money

    table = Table(
        title=Text(
            f"{totals['scenario']}: {totals['policy']} policy, {totals['days']} days, "
            f"{totals['customers']:,} customers, seed {totals['seed']}"
        ),
        title_justify="left",
    )
    table.add_column("total")
    table.add_column("value", justify="right")
    for key, label in _RUN_ROWS:
        value = totals[key]
        shown = str(Money(Decimal(value), totals["currency"])) if key in _MONEY else f"{value:,}"
        table.add_row(label, shown)
    stdout.print(table)
    stdout.print(f"outcome digest: {totals['outcome_digest']}", markup=False)
