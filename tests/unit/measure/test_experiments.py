"""Experiment read-out: known answers, parity with stored gbstats outputs, CUPED, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from mios.errors import InputError
from mios.measure.experiments import (
    Arm,
    Experiment,
    MetricKind,
    Prior,
    Rule,
    Verdict,
    compare,
    read_out,
    risks,
    srm_p_value,
)
from mios.measure.experiments_csv import load_experiment

DATA = Path(__file__).resolve().parents[2] / "data" / "experiments"
EXPECTED = json.loads((DATA / "gbstats_expected.json").read_text())
FIELDS = (
    "chance_to_win",
    "uplift",
    "stddev",
    "ci_low",
    "ci_high",
    "risk_control",
    "risk_variation",
)


# -- known answers ---------------------------------------------------------------------------


def test_binomial_known_answer_by_the_delta_method() -> None:
    # 100 of 1,000 against 120 of 1,000: uplift 20%, variance by hand from gbstats's formula.
    result = compare(Arm("a", 1000, 100), Arm("b", 1000, 120))
    variance = 0.12 * 0.88 / (0.1**2 * 1000) + 0.1 * 0.9 * 0.12**2 / (0.1**4 * 1000)
    assert result.uplift == pytest.approx(0.2)
    assert result.stddev == pytest.approx(math.sqrt(variance))
    assert result.chance_to_win == pytest.approx(stats.norm.sf(0, 0.2, math.sqrt(variance)))
    assert result.ci_low == pytest.approx(0.2 - 1.959963984540054 * math.sqrt(variance))
    # gbstats 0.8.0 printed these for the same input (EffectBayesianABTest, default config).
    assert result.chance_to_win == pytest.approx(0.9039004818067533, abs=1e-12)
    assert result.ci_high == pytest.approx(0.5005846161444822, abs=1e-12)
    assert result.risk_control == pytest.approx(0.20692160791267783, abs=1e-12)
    assert result.risk_variation == pytest.approx(0.006921607912677944, abs=1e-12)


def test_mean_metric_uses_the_sample_variance() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.gamma(2.0, 5.0, 500), rng.gamma(2.0, 5.5, 400)
    arms = [Arm(name, x.size, float(x.sum()), float(x @ x)) for name, x in (("a", a), ("b", b))]
    result = compare(*arms)
    se = math.sqrt(
        b.var(ddof=1) / (a.mean() ** 2 * b.size)
        + a.var(ddof=1) * b.mean() ** 2 / a.mean() ** 4 / a.size
    )
    assert result.uplift == pytest.approx(b.mean() / a.mean() - 1)
    assert result.stddev == pytest.approx(se)


def test_risks_match_the_truncated_normal_means() -> None:
    for mean, sd in ((0.02, 0.01), (-0.05, 0.03), (0.0, 1.0), (0.3, 0.05)):
        keep, ship = risks(mean, sd)
        p_neg = stats.norm.cdf(0, mean, sd)
        neg = stats.truncnorm.mean(-np.inf, (0 - mean) / sd, loc=mean, scale=sd)
        pos = stats.truncnorm.mean((0 - mean) / sd, np.inf, loc=mean, scale=sd)
        assert keep == pytest.approx((1 - p_neg) * pos, abs=1e-12)
        assert ship == pytest.approx(-p_neg * neg, abs=1e-12)
        assert keep - ship == pytest.approx(mean)


def test_proper_prior_shrinks_towards_its_mean() -> None:
    control, variation = Arm("a", 2000, 100), Arm("b", 2000, 130)
    flat = compare(control, variation)
    shrunk = compare(control, variation, prior=Prior(0.0, 0.1, proper=True))
    assert flat.uplift is not None
    assert shrunk.uplift is not None
    assert 0 < shrunk.uplift < flat.uplift
    assert (shrunk.stddev or 0) < (flat.stddev or 0)


def test_inverse_metric_swaps_chance_and_risks() -> None:
    control, variation = Arm("a", 5000, 60), Arm("b", 5000, 45)
    up, down = compare(control, variation), compare(control, variation, inverse=True)
    assert down.chance_to_win == pytest.approx(1 - (up.chance_to_win or 0))
    assert (down.risk_variation, down.risk_control) == (up.risk_control, up.risk_variation)


def test_undefined_uplift_is_reported_not_guessed() -> None:
    no_control = compare(Arm("a", 100, 0), Arm("b", 100, 5))
    assert no_control.uplift is None
    assert no_control.verdict is Verdict.KEEP_TESTING
    assert "zero" in (no_control.note or "")
    flat = compare(Arm("a", 100, 200.0, 400.0), Arm("b", 100, 250.0, 900.0))  # all users alike
    assert flat.chance_to_win is None
    assert "variance" in (flat.note or "")


def test_rule_and_overall_verdict() -> None:
    rule = Rule(0.95, 0.0025)
    assert rule.judge(0.97, 0.001) is Verdict.SHIP
    assert rule.judge(0.97, 0.01) is Verdict.KEEP_TESTING
    assert rule.judge(0.03, 0.05) is Verdict.STOP
    assert rule.judge(None, None) is Verdict.KEEP_TESTING
    assert "95%" in rule.describe()
    assert "0.25%" in rule.describe()
    losing = Experiment(
        MetricKind.BINOMIAL, (Arm("c", 20000, 1000), Arm("x", 20000, 850), Arm("y", 20000, 860))
    )
    readout = read_out(losing)
    assert readout.verdict is Verdict.STOP
    assert readout.winner is None
    winning = Experiment(MetricKind.BINOMIAL, (Arm("c", 20000, 1000), Arm("x", 20000, 1200)))
    assert (read_out(winning).verdict, read_out(winning).winner) == (Verdict.SHIP, "x")


def test_srm_matches_a_chi_squared_test() -> None:
    arms = (Arm("a", 5200, 10, weight=0.5), Arm("b", 4800, 10, weight=0.5))
    expected = stats.chisquare([5200, 4800]).pvalue
    assert srm_p_value(arms) == pytest.approx(expected)
    assert srm_p_value((Arm("a", 10, 1), Arm("b", 10, 1))) is None


# -- parity with gbstats (stored outputs; the bench re-computes them with gbstats itself) -----


@pytest.mark.parametrize("name", sorted(EXPECTED["cases"]))
def test_agrees_with_stored_gbstats_outputs(name: str) -> None:
    settings = EXPECTED["settings"][name]
    readout = read_out(
        load_experiment(DATA / f"{name}.csv"),
        prior=Prior(**settings["prior"]),
        ci_level=settings["ci_level"],
        inverse=settings["inverse"],
    )
    expected = EXPECTED["cases"][name]
    found = {c.variation: c for c in readout.comparisons}
    assert set(found) == set(expected["comparisons"])
    for variation, want in expected["comparisons"].items():
        got = found[variation]
        for field in FIELDS:
            assert getattr(got, field) == pytest.approx(want[field], abs=1e-9), (variation, field)
        if want["theta"] is not None:
            assert got.theta == pytest.approx(want["theta"], abs=1e-9)
    if expected["srm_p_value"] is not None:
        assert readout.srm_p_value == pytest.approx(expected["srm_p_value"], abs=1e-9)


# -- CUPED -----------------------------------------------------------------------------------


def _cuped_arms(correlation: float, seed: int = 7) -> tuple[Arm, Arm]:
    rng = np.random.default_rng(seed)
    arms = []
    for name, lift in (("control", 0.0), ("treated", 0.03)):
        pre = rng.normal(50, 10, 4000)
        post = (
            50 + correlation * (pre - 50) + math.sqrt(1 - correlation**2) * rng.normal(0, 10, 4000)
        )
        post = post * (1 + lift)
        arms.append(
            Arm(name, 4000, float(post.sum()), float(post @ post), float(pre.sum()),
                float(pre @ pre), float(post @ pre))
        )  # fmt: skip
    return arms[0], arms[1]


def test_cuped_narrows_the_interval_when_the_covariate_correlates() -> None:
    control, treated = _cuped_arms(0.8)
    adjusted = compare(control, treated)
    plain = compare(control, treated, cuped=False)
    assert adjusted.theta == pytest.approx(0.8, abs=0.05)
    width = (adjusted.ci_high or 0) - (adjusted.ci_low or 0)
    plain_width = (plain.ci_high or 0) - (plain.ci_low or 0)
    assert width < 0.7 * plain_width  # sqrt(1 - 0.8^2) = 0.6 in theory
    assert adjusted.ci_width_without_cuped == pytest.approx(plain_width)


def test_cuped_changes_little_when_the_covariate_does_not_correlate() -> None:
    control, treated = _cuped_arms(0.0)
    adjusted, plain = compare(control, treated), compare(control, treated, cuped=False)
    assert abs(adjusted.theta or 0) < 0.05
    assert (adjusted.stddev or 0) == pytest.approx(plain.stddev or 0, rel=0.02)


def test_cuped_is_off_when_the_covariate_has_no_variance() -> None:
    control = Arm("a", 100, 10, pre_total=0, products=0)
    variation = Arm("b", 100, 12, pre_total=0, products=0)
    result = compare(control, variation)
    assert result.theta == 0
    assert result.uplift == pytest.approx(compare(Arm("a", 100, 10), Arm("b", 100, 12)).uplift)


# -- loading and bad input -------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "results.csv"
    path.write_text(text)
    return path


def test_loads_binomial_with_is_control_and_baseline(tmp_path: Path) -> None:
    path = write(tmp_path, "variation,users,conversions,is_control\na,100,5,0\nb,100,7,yes\n")
    assert load_experiment(path).control == 1
    assert load_experiment(path, baseline="a").control == 0
    first = write(tmp_path, "variation,users,conversions\na,100,5\nb,100,7\n")
    loaded = load_experiment(first)
    assert (loaded.kind, loaded.control, loaded.cuped) == (MetricKind.BINOMIAL, 0, False)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("variation,users,conversions\na,100,5\nb,,7\n", ":3, column 'users'", "missing value"),
        ("variation,users,conversions\na,100,5\nb,lots,7\n", ":3, column 'users'", "not a number"),
        ("variation,users,conversions\na,1,0\nb,100,7\n", ":2, column 'users'", "at least 2"),
        ("variation,users,conversions\na,100,5\nb,100,170\n", ":3, column 'conversions'", "more"),
        ("variation,users,conversions\na,100,-5\nb,100,7\n", ":2, column 'conversions'", "negat"),
        ("variation,users,conversions\na,100,5\nb,100,2.5\n", ":3, column 'conversions'", "whole"),
        ("variation,users,sum,sum_squares\na,10,nan,1\nb,10,1,1\n", ":2, column 'sum'", "finite"),
        ("variation,users,sum,sum_squares\na,10,100,5\nb,10,1,1\n", ":2, column 'sum_squares'",
         "below sum^2"),
        ("variation,users,conversions\na,100,5\n", "", "at least two"),
        ("variation,users,conversions\na,100,5\na,100,6\n", ":3, column 'variation'", "twice"),
        ("variation,users\na,100\nb,100\n", ":1", "no metric"),
        ("variation,users,conversions,sum\na,100,5,1\nb,100,6,1\n", ":1", "not both"),
        ("variation,users,conversion\na,100,5\nb,100,6\n", ":1", "unknown column 'conversion'"),
        ("variation,users,conversions,pre_sum\na,100,5,1\nb,100,6,1\n", ":1", "sum_product"),
        ("variation,users,conversions,is_control\na,100,5,1\nb,100,6,1\n", ":3", "mark one"),
        ("variation,users,conversions,is_control\na,100,5,maybe\nb,100,6,0\n",
         ":2, column 'is_control'", "yes/no"),
        ("variation,users,conversions\na,100,5\nb,100\n", ":3", "2 values for 3 columns"),
        ("", "", "empty"),
    ],
)  # fmt: skip
def test_bad_input_names_the_file_line_and_column(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_experiment(path)
    assert f"{path}{where}" in str(caught.value)
    assert message in str(caught.value)


def test_every_problem_is_listed(tmp_path: Path) -> None:
    path = write(tmp_path, "variation,users,conversions\na,x,5\nb,100,-1\nc,100,200\n")
    with pytest.raises(InputError) as caught:
        load_experiment(path)
    assert len(caught.value.problems) == 3
    assert str(caught.value).startswith(f"{path}: 3 problems")


def test_unknown_baseline_and_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "variation,users,conversions\na,100,5\nb,100,7\n")
    with pytest.raises(InputError, match="no variation 'z'"):
        load_experiment(path, baseline="z")
    with pytest.raises(InputError, match="no such file"):
        load_experiment(tmp_path / "absent.csv")


def test_read_out_rejects_bad_settings() -> None:
    experiment = Experiment(MetricKind.BINOMIAL, (Arm("a", 100, 5), Arm("b", 100, 7)))
    with pytest.raises(InputError, match="credible level"):
        read_out(experiment, ci_level=1.5)
    with pytest.raises(InputError, match="standard deviation"):
        read_out(experiment, prior=Prior(0.0, 0.0, proper=True))
    with pytest.raises(InputError, match="two arms"):
        Experiment(MetricKind.BINOMIAL, (Arm("a", 100, 5),))
