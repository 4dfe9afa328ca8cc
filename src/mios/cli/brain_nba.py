"""``mios brain nba``: next-best action over the workspace's customers, summarised."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from mios.cli.output import handles_errors, print_json, state, stdout

if TYPE_CHECKING:
    from mios.brain.nba import NbaDecision
    from mios.brain.nba_value import PlanValue
    from mios.brain.nba_workspace import WorkspaceNba

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]

_FUNNEL_LABELS = (
    ("suppressed", "suppressed"),
    ("no_consent", "no consent on any candidate channel"),
    ("cooldown", "in cooldown on every consented channel"),
    ("offer_rules", "no offer open to them (offer rules)"),
    ("contact_caps", "contact caps reached"),
    ("no_positive_score", "no action worth its cost"),
    ("capacity", "cut by channel capacity"),
    ("budget", "cut by the budget"),
)


class ExplorationName(StrEnum):
    THOMPSON = "thompson"
    MEAN = "mean"


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date like 2026-11-16") from None


@handles_errors
def nba(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the exploration draws.")] = 0,
    budget: Annotated[
        float | None,
        typer.Option("--budget", min=0.0, help="Most total contact cost (workspace currency)."),
    ] = None,
    on: Annotated[
        str | None,
        typer.Option("--on", help="The day offers must be active on (default: today, UTC)."),
    ] = None,
    exploration: Annotated[
        ExplorationName,
        typer.Option("--exploration", help="thompson: draw from the posteriors; mean: exploit."),
    ] = ExplorationName.THOMPSON,
    json_output: JsonOption = False,
) -> None:
    """Choose the next-best action for every customer of the workspace and summarise it.

    Candidates are the active offers on the channels with per-customer consent; response
    priors come from the channel history. Prints the actions chosen per channel and offer, the
    expected value with its 90% interval, and how many customers each constraint cut.

    Example: mios -w shop brain nba --budget 500 --seed 7 --on 2026-11-16
    """
    from mios.bootstrap import utc_now
    from mios.brain.nba import NextBestAction
    from mios.brain.nba_value import plan_value
    from mios.brain.nba_workspace import from_workspace
    from mios.cli.context import _store

    day = _day(on) or utc_now().date()
    store = _store(ctx, reading=True)
    try:
        snapshot = store.snapshot()
        workspace = snapshot.workspace
        customers = snapshot.customers()
        history = snapshot.history
    finally:
        store.close()
    setup = from_workspace(workspace, customers, history, on=day, budget=budget)
    engine = NextBestAction(exploration=exploration.value, seed=seed).fit(
        setup.candidates, setup.limits, setup.offers, setup.alpha, setup.beta
    )
    decision = engine.decide(setup.audience)
    value = plan_value(engine, decision, setup.audience, seed=seed)
    summary = _summary(setup, decision, value, snapshot.version, workspace.currency, day)
    summary.update(seed=seed, exploration=exploration.value)
    if json_output or state(ctx).json:
        print_json(summary)
    else:
        _render(summary)


def _summary(
    setup: WorkspaceNba,
    decision: NbaDecision,
    value: PlanValue,
    version: int,
    currency: str,
    day: date,
) -> dict[str, Any]:
    limits = setup.limits
    actions: list[dict[str, Any]] = [
        {
            "candidate": c.id,
            "channel": c.channel,
            "offer": c.offer,
            "customers": int(decision.per_candidate[i]),
            "expected_responses": float(value.per_candidate_responses[i]),
            "expected_value": float(value.per_candidate_value[i])
            - c.cost * int(decision.per_candidate[i]),
        }
        for i, c in enumerate(setup.candidates)
        if decision.per_candidate[i] > 0
    ]
    actions.sort(key=lambda a: (-a["customers"], a["candidate"]))
    capacity = limits.capacity_array()
    channels = [
        {
            "channel": name,
            "actions": int(decision.channel_used[h]),
            "capacity": limits.capacity.get(name),
            "capacity_bound": bool(
                name in limits.capacity and decision.channel_used[h] >= capacity[h]
            ),
            "weekly_cap_per_customer": limits.channel_caps.get(name),
        }
        for h, name in enumerate(limits.channels)
    ]
    budget_bound = limits.budget is not None and decision.budget_bound
    return {
        "context_version": version,
        "on": day.isoformat(),
        "currency": currency,
        "customers": len(setup.audience),
        "candidates": len(setup.candidates),
        "inactive_offers": list(setup.inactive_offers),
        "segments": list(setup.segments),
        "priors": list(setup.priors),
        "actions": actions,
        "channels": channels,
        "expected": {
            "interval": value.interval,
            "responses": value.responses,
            "responses_interval": [value.responses_low, value.responses_high],
            "value": value.value,
            "value_interval": [value.value_low, value.value_high],
            "cost": value.cost,
        },
        "budget": limits.budget,
        "funnel": decision.funnel,
        "binding": {
            "consent": decision.funnel["no_consent"],
            "suppression": decision.funnel["suppressed"],
            "cooldown": decision.funnel["cooldown"],
            "offer_rules": decision.funnel["offer_rules"],
            "contact_caps": decision.funnel["contact_caps"],
            "capacity": decision.funnel["capacity"],
            "budget": decision.funnel["budget"],
            "budget_bound": budget_bound,
            "capacity_bound": [c["channel"] for c in channels if c["capacity_bound"]],
        },
        "notes": [
            "contacts so far this week and cooldowns are not in the context: every customer "
            "starts at zero contacts and none is in a cooldown",
            "value = offer average order value x margin per response, minus the contact cost",
        ],
    }


def _money(amount: float, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _render(summary: dict[str, Any]) -> None:
    currency = summary["currency"]
    funnel = summary["funnel"]
    stdout.print(
        Text(
            f"Next-best action for {summary['customers']:,} customers on {summary['on']}: "
            f"{funnel['chosen']:,} actions from {summary['candidates']} candidates "
            f"({summary['exploration']}, seed {summary['seed']}, context "
            f"v{summary['context_version']})",
            style="bold",
        )
    )
    table = Table(title="Actions chosen", title_justify="left")
    table.add_column("channel", no_wrap=True)
    table.add_column("offer", no_wrap=True)
    for column in ("customers", "expected responses", "expected value"):
        table.add_column(column, justify="right", no_wrap=True)
    for action in summary["actions"]:
        table.add_row(
            action["channel"],
            Text(action["offer"]),
            f"{action['customers']:,}",
            f"{action['expected_responses']:,.1f}",
            _money(action["expected_value"], currency),
        )
    stdout.print(table)
    expected = summary["expected"]
    low, high = expected["value_interval"]
    stdout.print(
        f"Expected value: {_money(expected['value'], currency)} "
        f"(90% interval {_money(low, currency)} to {_money(high, currency)}), "
        f"cost {_money(expected['cost'], currency)}; expected responses "
        f"{expected['responses']:,.1f} ({expected['responses_interval'][0]:,.0f} to "
        f"{expected['responses_interval'][1]:,.0f})",
        markup=False,
    )
    cut = Table(title="Customers left without an action, by the constraint that bound")
    cut.add_column("constraint")
    cut.add_column("customers", justify="right")
    for key, label in _FUNNEL_LABELS:
        cut.add_row(label, f"{funnel[key]:,}")
    stdout.print(cut)
    binding = summary["binding"]
    if binding["capacity_bound"]:
        stdout.print(f"Channel capacity bound on: {', '.join(binding['capacity_bound'])}")
    if summary["budget"] is not None:
        state_text = "bound" if binding["budget_bound"] else "did not bind"
        stdout.print(
            f"Budget {_money(summary['budget'], currency)}: {state_text} "
            f"(spent {_money(expected['cost'], currency)})",
            markup=False,
        )
    for prior in summary["priors"]:
        if prior["source"] == "none":
            text = f"{prior['channel']}: no channel history; prior mean {prior['prior_mean']:.2%}"
        elif prior["source"] == "history":
            text = (
                f"{prior['channel']}: prior from history, {prior['conversions']:,} conversions "
                f"of {prior['impressions']:,} impressions over {prior['weeks']} weeks "
                f"(cell prior mean {prior['prior_mean']:.3%})"
            )
        else:
            text = (
                f"{prior['channel']}: no history of its own; prior from the other channels "
                f"(mean {prior['prior_mean']:.3%})"
            )
        stdout.print(Text(text))
    if summary["inactive_offers"]:
        stdout.print(
            Text(f"Offers not active on {summary['on']}: " + ", ".join(summary["inactive_offers"]))
        )
    for note in summary["notes"]:
        stdout.print(Text(f"Note: {note}"))
