"""``mios measure experiment``: the Bayesian read-out of an A/B or multi-variant test."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from mios.cli.output import handles_errors, print_json, state, stderr, stdout

if TYPE_CHECKING:
    from mios.measure.experiments import Comparison, Readout

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
SRM_THRESHOLD = 0.001  # GrowthBook's default: below this the split is called broken


@handles_errors
def experiment(
    ctx: typer.Context,
    results: Annotated[
        Path,
        typer.Argument(
            help="One row per arm: variation, users, and conversions or sum,sum_squares; "
            "optionally pre_sum, pre_sum_squares, sum_product (CUPED), weight, is_control."
        ),
    ],
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="The control (or holdout) arm by name (default: the is_control row, else the "
            "first row).",
        ),
    ] = None,
    inverse: Annotated[
        bool, typer.Option("--inverse", help="Lower is better (unsubscribes, complaints, churn).")
    ] = False,
    ci_level: Annotated[
        float,
        typer.Option("--ci-level", min=0.5, max=0.999, help="Level of the credible interval."),
    ] = 0.95,
    prior_stddev: Annotated[
        float | None,
        typer.Option(
            "--prior-stddev",
            min=0.0,
            help="Use a proper Gaussian prior on the relative uplift with this standard "
            "deviation (e.g. 0.1); default: none (gbstats's default, an improper prior).",
        ),
    ] = None,
    prior_mean: Annotated[
        float, typer.Option("--prior-mean", help="The prior's mean uplift (with --prior-stddev).")
    ] = 0.0,
    ship_chance: Annotated[
        float,
        typer.Option("--ship-chance", min=0.5, max=0.9999, help="Chance to win needed to ship."),
    ] = 0.95,
    max_risk: Annotated[
        float,
        typer.Option(
            "--max-risk",
            min=0.0,
            help="Largest expected loss of shipping, as a fraction of the control's mean.",
        ),
    ] = 0.0025,
    json_output: JsonOption = False,
) -> None:
    """Read an experiment out: each variation against the control, the Bayesian way.

    Prints per arm the users, the rate or mean, the relative uplift with its credible interval,
    the chance to win, the expected loss of shipping it and of keeping the control, and a
    verdict (ship, keep testing, stop) with the rule used. Arms with a pre-period covariate get
    CUPED. Same method and numbers as GrowthBook's gbstats. See docs/experiments.md.

    Example: mios measure experiment results.csv --baseline holdout --json
    """
    from mios.measure.experiments import Prior, Rule, read_out
    from mios.measure.experiments_csv import load_experiment

    loaded = load_experiment(results, baseline=baseline)
    readout = read_out(
        loaded,
        prior=Prior(prior_mean, prior_stddev or 0.1, proper=prior_stddev is not None),
        ci_level=ci_level,
        inverse=inverse,
        rule=Rule(ship_chance, max_risk),
    )
    if json_output or state(ctx).json:
        print_json(_as_dict(readout, results))
        return
    _render(readout, results)


def _comparison(comparison: Comparison) -> dict[str, Any]:
    return {
        "uplift": comparison.uplift,
        "uplift_stddev": comparison.stddev,
        "ci_low": comparison.ci_low,
        "ci_high": comparison.ci_high,
        "chance_to_win": comparison.chance_to_win,
        "risk_variation": comparison.risk_variation,
        "risk_control": comparison.risk_control,
        "verdict": comparison.verdict.value,
        "cuped_theta": comparison.theta,
        "ci_width_without_cuped": comparison.ci_width_without_cuped,
        "note": comparison.note,
    }


def _as_dict(readout: Readout, path: Path) -> dict[str, Any]:
    found = {c.variation: c for c in readout.comparisons}
    control = readout.experiment.arms[readout.experiment.control]
    arms = []
    for arm in readout.experiment.arms:
        entry: dict[str, Any] = {
            "variation": arm.name,
            "control": arm is control,
            "users": arm.users,
            "mean": arm.mean,
            "stddev": arm.stddev,
        }
        if arm.weight is not None:
            entry["weight"] = arm.weight
        if arm.name in found:
            entry.update(_comparison(found[arm.name]))
        arms.append(entry)
    return {
        "file": str(path),
        "metric": readout.experiment.kind.value,
        "inverse": readout.inverse,
        "control": control.name,
        "ci_level": readout.ci_level,
        "cuped": readout.experiment.cuped,
        "srm_p_value": readout.srm_p_value,
        "arms": arms,
        "verdict": readout.verdict.value,
        "winner": readout.winner,
        "rule": readout.rule.describe(),
    }


def _percent(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:+.{digits}%}"


def _loss(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.01%" if value < 0.0001 else f"{value:.2%}"


def _render(readout: Readout, path: Path) -> None:
    experiment = readout.experiment
    binomial = experiment.kind.value == "binomial"
    control = experiment.arms[experiment.control]
    found = {c.variation: c for c in readout.comparisons}
    title = (
        f"{path.name}: {experiment.kind.value} metric, {len(experiment.arms)} arms, "
        f"control arm {control.name}" + (", lower is better" if readout.inverse else "")
    )
    table = Table(title=Text(title), title_justify="left")
    table.add_column("variation")
    table.add_column("users", justify="right")
    table.add_column("rate" if binomial else "mean", justify="right")
    table.add_column(f"uplift [{readout.ci_level:.0%} interval]", justify="right")
    table.add_column("chance to win", justify="right")
    table.add_column("loss if shipped", justify="right")
    table.add_column("loss if kept control", justify="right")
    table.add_column("verdict")
    for arm in experiment.arms:
        value = f"{arm.mean:.2%}" if binomial else f"{arm.mean:,.4g}"
        comparison = found.get(arm.name)
        if comparison is None:
            table.add_row(Text(arm.name), f"{arm.users:,}", value, "control", "", "", "", "")
            continue
        uplift = (
            f"{_percent(comparison.uplift)} [{_percent(comparison.ci_low)}, "
            f"{_percent(comparison.ci_high)}]"
            if comparison.uplift is not None
            else "-"
        )
        chance = comparison.chance_to_win
        table.add_row(
            Text(arm.name),
            f"{arm.users:,}",
            value,
            uplift,
            "-" if chance is None else f"{chance:.1%}",
            _loss(comparison.risk_variation),
            _loss(comparison.risk_control),
            comparison.verdict.value,
        )
    stdout.print(table)
    for comparison in readout.comparisons:
        if comparison.note:
            stderr.print(Text.assemble(("warning: ", "bold yellow"), comparison.variation, ": ",
                                       comparison.note))  # fmt: skip
        if comparison.theta and comparison.ci_width_without_cuped and comparison.ci_low is not None:
            width = (comparison.ci_high or 0.0) - comparison.ci_low
            stdout.print(
                Text(
                    f"CUPED on {comparison.variation}: theta {comparison.theta:.3g}, interval "
                    f"{1 - width / comparison.ci_width_without_cuped:.0%} narrower than without"
                )
            )
    if readout.srm_p_value is not None and readout.srm_p_value < SRM_THRESHOLD:
        stderr.print(
            Text.assemble(
                ("warning: ", "bold yellow"),
                f"sample ratio mismatch (p = {readout.srm_p_value:.2g}): the users per arm do "
                "not match the weights; fix the assignment before trusting this read-out",
            )
        )
    stdout.print(Text(f"verdict: {_verdict(readout)}"))
    stdout.print(Text(f"rule: {readout.rule.describe()}"))


def _verdict(readout: Readout) -> str:
    control = readout.experiment.arms[readout.experiment.control].name
    if readout.verdict.value == "ship":
        return f"ship {readout.winner}"
    if readout.verdict.value == "stop":
        return f"stop: no variation beats {control}; keep {control}"
    return "keep testing: no variation is clearly better or worse yet"
