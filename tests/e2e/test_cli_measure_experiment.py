"""``mios measure experiment`` end to end: tables, JSON, holdouts, CUPED, bad files, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from mios.cli.app import app

DATA = Path(__file__).resolve().parents[1] / "data" / "experiments"
EXPECTED = json.loads((DATA / "gbstats_expected.json").read_text())["cases"]


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"MIOS_DATABASE_URL": "", "COLUMNS": "200"})


def test_binomial_table_shows_every_figure_and_the_rule() -> None:
    result = run("measure", "experiment", str(DATA / "binomial_ab.csv"))
    assert result.exit_code == 0, result.output
    out = result.stdout
    for label in ("rate", "uplift [95% interval]", "chance to win", "loss if shipped", "verdict"):
        assert label in out
    assert "new_subject" in out
    assert "12,000" in out
    assert "verdict: ship new_subject" in out
    assert "rule: ship when the chance to win is at least 95%" in out


def test_json_matches_gbstats_for_a_holdout_with_cuped() -> None:
    result = run("measure", "experiment", str(DATA / "holdout_cuped.csv"), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["metric"], report["control"], report["cuped"]) == ("mean", "holdout", True)
    assert report["srm_p_value"] == pytest.approx(1.0)
    arms = {arm["variation"]: arm for arm in report["arms"]}
    assert arms["holdout"]["control"] is True
    assert "chance_to_win" not in arms["holdout"]
    for name, want in EXPECTED["holdout_cuped"]["comparisons"].items():
        assert arms[name]["chance_to_win"] == pytest.approx(want["chance_to_win"], abs=1e-9)
        assert arms[name]["ci_low"] == pytest.approx(want["ci_low"], abs=1e-9)
        assert arms[name]["cuped_theta"] == pytest.approx(want["theta"], abs=1e-9)
        assert arms[name]["ci_width_without_cuped"] > arms[name]["ci_high"] - arms[name]["ci_low"]
    assert (report["verdict"], report["winner"]) == ("ship", "video")
    assert arms["static"]["verdict"] == "stop"


def test_cuped_and_baseline_and_options_in_the_table() -> None:
    result = run(
        "measure", "experiment", str(DATA / "holdout_cuped.csv"), "--baseline", "static",
        "--ci-level", "0.9", "--ship-chance", "0.99", "--max-risk", "0.001",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "control arm static" in result.stdout
    assert "uplift [90% interval]" in result.stdout
    assert "CUPED on video: theta" in result.stdout
    assert "at least 99%" in result.stdout


def test_inverse_and_prior_change_the_read_out() -> None:
    path = str(DATA / "inverse_binomial.csv")
    plain = json.loads(run("measure", "experiment", path, "--json").stdout)
    inverse = json.loads(run("measure", "experiment", path, "--inverse", "--json").stdout)
    assert inverse["arms"][1]["chance_to_win"] == pytest.approx(
        1 - plain["arms"][1]["chance_to_win"]
    )
    prior = json.loads(
        run("measure", "experiment", path, "--prior-stddev", "0.05", "--json").stdout
    )
    assert abs(prior["arms"][1]["uplift"]) < abs(plain["arms"][1]["uplift"])


def test_sample_ratio_mismatch_warns(tmp_path: Path) -> None:
    path = tmp_path / "srm.csv"
    path.write_text("variation,users,conversions,weight\na,10000,500,0.5\nb,9000,470,0.5\n")
    result = run("measure", "experiment", str(path))
    assert result.exit_code == 0, result.output
    assert "sample ratio mismatch" in result.stderr


def test_bad_file_exits_2_naming_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("variation,users,conversions\ncontrol,1000,50\nnew,1000,1200\n")
    result = run("measure", "experiment", str(path), "--json")
    assert result.exit_code == 2
    assert f"{path}:3, column 'conversions'" in result.stderr
    assert result.stdout == ""


def test_one_arm_and_unknown_baseline_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("variation,users,conversions\ncontrol,1000,50\n")
    assert run("measure", "experiment", str(path)).exit_code == 2
    two = DATA / "binomial_ab.csv"
    result = run("measure", "experiment", str(two), "--baseline", "nobody")
    assert result.exit_code == 2
    assert "no variation 'nobody'" in result.stderr


def test_help_shows_an_example() -> None:
    result = run("measure", "experiment", "--help")
    assert result.exit_code == 0
    assert "Example: mios measure experiment" in result.stdout
