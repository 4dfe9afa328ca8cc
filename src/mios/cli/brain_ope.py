"""``mios brain ope``: judge a candidate policy on logged data before it goes live."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from mios.cli.output import handles_errors, print_json, state, stderr, stdout

if TYPE_CHECKING:
    from mios.brain.ope_data import PolicyReport

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]

_LABELS = {
    "ipw": "IPW",
    "snipw": "self-normalized IPW",
    "dr": "doubly robust",
}


class OpePolicy(StrEnum):
    """The keys of ``mios.brain.ope_data.POLICY_NAMES`` (spelled out: importing that module
    loads NumPy, and ``mios --help`` must not)."""

    UNIFORM = "uniform"
    GREEDY = "greedy"
    TS = "ts"


def _names(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return tuple(name.strip() for name in text.split(",") if name.strip())


@handles_errors
def ope(
    ctx: typer.Context,
    logged: Annotated[
        Path, typer.Argument(help="Logged rounds, CSV: action, reward, propensity, [position].")
    ],
    policy: Annotated[
        OpePolicy,
        typer.Option(
            "--policy",
            help="uniform: every action alike; greedy: the best action by a ridge reward model; "
            "ts: Thompson sampling on Beta posteriors of each action's reward.",
        ),
    ] = OpePolicy.GREEDY,
    action_col: Annotated[str, typer.Option("--action-col", help="The action column.")] = "action",
    reward_col: Annotated[str, typer.Option("--reward-col", help="The reward column.")] = "reward",
    propensity_col: Annotated[
        str,
        typer.Option(
            "--propensity-col",
            help="The logging policy's probability of the logged action at its position.",
        ),
    ] = "propensity",
    position_col: Annotated[
        str | None,
        typer.Option(
            "--position-col",
            help="The position column (default: 'position' when the file has one).",
        ),
    ] = None,
    feature_prefix: Annotated[
        str,
        typer.Option("--feature-prefix", help="Numeric feature columns start with this."),
    ] = "x_",
    features: Annotated[
        str | None,
        typer.Option("--features", help="Numeric feature columns, comma-separated (no prefix)."),
    ] = None,
    categorical: Annotated[
        str | None,
        typer.Option("--categorical", help="Label feature columns to one-hot encode."),
    ] = None,
    ridge_alpha: Annotated[
        float, typer.Option("--ridge-alpha", help="Ridge penalty of the reward model (> 0).")
    ] = 1.0,
    clip: Annotated[
        float | None,
        typer.Option("--clip", help="Cap importance weights at this (> 0) in IPW and DR."),
    ] = None,
    samples: Annotated[
        int, typer.Option("--samples", min=1, help="Monte Carlo decisions of the ts policy.")
    ] = 100_000,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Seed of the folds and of the ts policy.")
    ] = 0,
    folds: Annotated[
        int,
        typer.Option(
            "--folds", min=1, help="Cross-fitting folds of the policy and reward model (1: none)."
        ),
    ] = 5,
    json_output: JsonOption = False,
) -> None:
    """Estimate what a candidate policy would have earned on logged rounds.

    Prints the logged policy's mean reward and the candidate's value by IPW, self-normalized IPW
    and doubly robust estimation, each with a 95% interval, and the effective sample size; warns
    when the importance weights are extreme. Features are the columns starting with x_ (or
    --features), plus --categorical label columns. See docs/brain/ope.md.

    Example: mios brain ope logged.csv --policy ts --categorical segment --json
    """
    from mios.brain.ope_data import Columns, evaluate_policy, load_rounds
    from mios.brain.tables import read_table
    from mios.errors import ModelInputError

    columns = Columns(
        action=action_col,
        reward=reward_col,
        propensity=propensity_col,
        position=position_col or "position",
        feature_prefix=feature_prefix,
        features=_names(features),
        categorical=_names(categorical) or (),
    )
    table = read_table(logged)
    if position_col is not None:
        table.column(position_col)  # named on purpose: a missing one is an error, not ignored
    rounds = load_rounds(table, columns)
    try:
        report = evaluate_policy(
            rounds,
            policy.value,
            ridge_alpha=ridge_alpha,
            samples=samples,
            seed=seed,
            folds=folds,
            clip=math.inf if clip is None else clip,
        )
    except ModelInputError as exc:
        raise ModelInputError.at(str(exc), file=str(logged)) from None
    if json_output or state(ctx).json:
        print_json(_as_dict(report, logged))
        return
    _render(report, logged)


def _as_dict(report: PolicyReport, path: Path) -> dict[str, Any]:
    rounds = report.file.rounds
    return {
        "file": str(path),
        "policy": report.policy,
        "actions": rounds.actions,
        "positions": rounds.positions,
        "features": list(report.file.feature_names),
        "reward_model": report.reward_model,
        **report.evaluation.as_dict(),
    }


def _render(report: PolicyReport, path: Path) -> None:
    evaluation = report.evaluation
    rounds = report.file.rounds
    title = (
        f"{path.name}: {report.policy} policy, {evaluation.rows:,} rounds, "
        f"{rounds.actions} actions, {rounds.positions} position"
        + ("s" if rounds.positions > 1 else "")
    )
    table = Table(title=Text(title), title_justify="left")
    table.add_column("estimate")
    table.add_column("value", justify="right")
    table.add_column("std error", justify="right")
    table.add_column(f"{evaluation.logged.confidence:.0%} interval", justify="right")
    table.add_column("vs logged", justify="right")
    base = evaluation.logged.value
    for estimate in (evaluation.logged, *evaluation.estimates):
        label = "logged policy" if estimate.name == "logged" else _LABELS[estimate.name]
        versus = f"{estimate.value / base:.3f}x" if base else "-"
        table.add_row(
            label,
            f"{estimate.value:.4g}",
            f"{estimate.std_error:.2g}",
            f"{estimate.low:.3g} .. {estimate.high:.3g}",
            versus if estimate.name != "logged" else "",
        )
    stdout.print(table)
    stdout.print(
        Text(
            f"effective sample size {evaluation.effective_sample_size:,.1f} of "
            f"{evaluation.rows:,} rounds; largest importance weight {evaluation.max_weight:,.2f}"
        )
    )
    stdout.print(Text(f"reward model for DR: {report.reward_model}"))
    for warning in evaluation.warnings:
        stderr.print(Text.assemble(("warning: ", "bold yellow"), warning))
