"""``mios brain ope`` end to end: the ZOZOTOWN sample, every policy, JSON, warnings, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from mios.brain.ope_data import POLICY_NAMES
from mios.cli.app import app
from mios.cli.brain_ope import OpePolicy

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "ope" / "obd_random_all.csv"
FEATURES = ("--categorical", "u0,u1,u2,u3")


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"MIOS_DATABASE_URL": "", "COLUMNS": "200"})


def test_the_cli_policy_names_are_the_brain_ones() -> None:
    assert tuple(policy.value for policy in OpePolicy) == POLICY_NAMES


def test_uniform_on_the_uniform_log_prints_the_logged_mean() -> None:
    result = run("brain", "ope", str(SAMPLE), "--policy", "uniform", *FEATURES, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["rows"], report["actions"], report["positions"]) == (10_000, 80, 3)
    assert report["logged"]["value"] == pytest.approx(0.0038)
    estimates = {e["estimator"]: e for e in report["estimates"]}
    assert set(estimates) == {"ipw", "snipw", "dr"}
    assert estimates["ipw"]["value"] == pytest.approx(0.0038)
    for estimate in estimates.values():
        assert estimate["low"] < estimate["value"] < estimate["high"]
        assert estimate["confidence"] == 0.95
    assert report["effective_sample_size"] == pytest.approx(10_000)
    assert report["warnings"] == []
    assert len(report["features"]) == 20


def test_greedy_prints_a_table_and_warns_about_extreme_weights() -> None:
    result = run("brain", "ope", str(SAMPLE), "--policy", "greedy", *FEATURES)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "greedy policy, 10,000 rounds, 80 actions, 3 positions" in out
    for label in ("logged policy", "IPW", "self-normalized IPW", "doubly robust", "95% interval"):
        assert label in out
    assert "effective sample size" in out
    assert "cross-fitted on 5 folds" in out
    assert "warning: the effective sample size is" in result.stderr
    assert "warning: the largest importance weight is 80.0" in result.stderr


def test_thompson_sampling_is_reproducible_with_a_seed() -> None:
    args = ("brain", "ope", str(SAMPLE), "--policy", "ts", "--samples", "2000", "--json")
    first, second = run(*args, "--seed", "4"), run(*args, "--seed", "4")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == json.loads(second.stdout)
    report = json.loads(first.stdout)
    assert report["features"] == []  # no x_ columns in the sample, none asked for
    assert 0 < report["effective_sample_size"] < 10_000


def test_column_options_and_clipping(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    rows = ["offer,clicked,p,age"]
    rows += [f"{'ab'[i % 2]},{int(i % 3 == 0)},0.5,{20 + i % 7}" for i in range(40)]
    path.write_text("\n".join(rows) + "\n")
    result = run(
        "--json",
        "brain",
        "ope",
        str(path),
        "--policy",
        "greedy",
        "--action-col",
        "offer",
        "--reward-col",
        "clicked",
        "--propensity-col",
        "p",
        "--features",
        "age",
        "--clip",
        "1.5",
        "--folds",
        "2",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["positions"] == 1
    assert report["features"] == ["age"]
    assert report["max_weight"] == pytest.approx(2.0)  # unclipped, as reported


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("action,reward,propensity\na,1,0\n", "log.csv:2, column 'propensity': 0 is not a"),
        ("action,reward,propensity\na,1,1.01\n", "log.csv:2, column 'propensity': 1.01"),
        ("action,reward,propensity\na,x,0.5\n", "log.csv:2, column 'reward': 'x' is not"),
        ("action,reward\na,1\n", "no column 'propensity'"),
    ],
)
def test_bad_files_exit_2_with_the_place_at_fault(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "log.csv"
    path.write_text(body)
    result = run("brain", "ope", str(path), "--policy", "uniform")
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""


def test_a_missing_file_and_a_bad_policy() -> None:
    missing = run("brain", "ope", "/nonexistent/log.csv")
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr
    wrong = run("brain", "ope", str(SAMPLE), "--policy", "best")
    assert wrong.exit_code == 2
    assert "best" in wrong.stderr


def test_help_shows_an_example() -> None:
    result = run("brain", "ope", "--help")
    assert result.exit_code == 0
    assert "Example: mios brain ope" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--clip", "0"), "log.csv: clip must be a positive weight"),
        (("--position-col", "slot"), "log.csv:1: no column 'slot'"),
        (("--categorical", "reward"), "log.csv:1: column 'reward' cannot be a feature"),
    ],
)
def test_bad_options_exit_2_instead_of_a_silent_answer(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    path = tmp_path / "log.csv"
    path.write_text("action,reward,propensity\n" + "a,1,0.5\nb,0,0.5\n" * 5)
    result = run("brain", "ope", str(path), "--policy", "uniform", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""


def test_a_one_round_file_is_insufficient_data(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("\ufeffaction,reward,propensity\r\na,1,0.5\r\n")
    result = run("brain", "ope", str(path), "--policy", "uniform", "--folds", "1")
    assert result.exit_code == 2, result.output
    assert "log.csv: insufficient data: 1 logged round" in result.stderr
