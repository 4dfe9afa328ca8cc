"""``mios brain mmm fit`` end to end: tables, JSON, lift tests, allocation, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from mios.cli.app import app

FIT = ("brain", "mmm", "fit")
COLUMNS = ("--date-col", "week", "--target", "sales", "--channels", "search,social")


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"MIOS_DATABASE_URL": "", "COLUMNS": "220"})


def adstocked_hill(spend: np.ndarray, decay: float, half: float, effect: float) -> np.ndarray:
    weights = decay ** np.arange(8)
    carried = np.convolve(spend, weights / weights.sum())[: len(spend)]
    return effect * carried / (carried + half)


@pytest.fixture
def data_csv(tmp_path: Path) -> Path:
    """Two years of weekly sales with search and social spend and a price control."""
    rng = np.random.default_rng(7)
    weeks = 104
    dates = np.datetime64("2023-01-02") + 7 * np.arange(weeks)
    search = 1000 * rng.gamma(4, 0.25, weeks)
    social = 800 * rng.gamma(2, 0.5, weeks) * (rng.random(weeks) > 0.3)
    price = 10 + rng.normal(0, 0.5, weeks)
    sales = (
        20000
        - 500 * (price - 10)
        + adstocked_hill(search, 0.4, 900, 6000)
        + adstocked_hill(social, 0.2, 700, 3000)
        + rng.normal(0, 300, weeks)
    )
    lines = ["week,sales,search,social,price"]
    lines += [
        f"{d},{s:.2f},{a:.2f},{b:.2f},{p:.3f}"
        for d, s, a, b, p in zip(dates, sales, search, social, price, strict=True)
    ]
    path = tmp_path / "sales.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_fit_prints_roas_share_and_curve_parameters_per_channel(data_csv: Path) -> None:
    result = run(*FIT, str(data_csv), *COLUMNS, "--controls", "price", "--bootstrap", "20")
    assert result.exit_code == 0, result.output
    for text in (
        "search",
        "social",
        "ROAS",
        "contribution share",
        "decay",
        "half saturation",
        "R^2",
        "MAPE",
        "90% intervals",
    ):
        assert text in result.stdout


def test_fit_json_has_an_interval_on_every_figure_and_allocates(
    data_csv: Path, tmp_path: Path
) -> None:
    lifts = tmp_path / "lifts.csv"
    lifts.write_text(
        "channel,start,end,spend_delta,lift,lift_se\nsearch,2023-06-05,2023-06-26,2000,3000,600\n"
    )
    result = run(
        *FIT,
        str(data_csv),
        *COLUMNS,
        "--controls",
        "price",
        "--bootstrap",
        "20",
        "--lift-tests",
        str(lifts),
        "--allocate",
        "2000",
        "--max-change",
        "0.5",
        "--json",
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    fit = out["fit"]
    assert fit["lift_tests"] == 1
    assert fit["bootstrap_draws"] == 20
    assert 0.5 < fit["r2"] <= 1.0
    assert [c["name"] for c in fit["channels"]] == ["search", "social"]
    for channel in fit["channels"]:
        for figure in ("roas", "contribution_share", "decay", "half_saturation", "shape"):
            estimate = channel[figure]
            assert estimate["low"] <= estimate["value"] <= estimate["high"]
    allocation = out["allocation"]
    assert allocation["total_spend"] == pytest.approx(2000.0)
    assert allocation["solver"]["status"] == 0
    assert allocation["outcome"]["low"] <= allocation["outcome"]["value"]


def test_fit_help_shows_an_example() -> None:
    result = run(*FIT, "--help")
    assert result.exit_code == 0
    assert "Example: mios brain mmm fit" in result.stdout


def test_a_missing_column_exits_2_naming_file_and_column(data_csv: Path) -> None:
    result = run(
        *FIT, str(data_csv), "--date-col", "week", "--target", "sales", "--channels", "search,tv"
    )
    assert result.exit_code == 2
    assert "sales.csv:1: missing column 'tv'" in result.output


def test_a_non_numeric_cell_exits_2_naming_the_line(data_csv: Path) -> None:
    lines = data_csv.read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[2], "n/a", 1)
    data_csv.write_text("\n".join(lines) + "\n")
    result = run(*FIT, str(data_csv), *COLUMNS)
    assert result.exit_code == 2
    assert "sales.csv:6, search: 'n/a' is not a number" in result.output


def test_zero_variance_and_too_few_rows_exit_2(data_csv: Path, tmp_path: Path) -> None:
    rows = data_csv.read_text().splitlines()
    flat = tmp_path / "flat.csv"
    flat.write_text(
        "\n".join([rows[0], *(",".join([*r.split(",")[:3], "0", "10"]) for r in rows[1:])]) + "\n"
    )
    result = run(*FIT, str(flat), *COLUMNS)
    assert result.exit_code == 2
    assert "social: zero variance" in result.output
    short = tmp_path / "short.csv"
    short.write_text("\n".join(rows[:13]) + "\n")
    result = run(*FIT, str(short), *COLUMNS)
    assert result.exit_code == 2
    assert "too few rows to fit: 12 given, at least" in result.output


@pytest.mark.parametrize("text", ["", "NaT"])
def test_an_empty_or_nat_date_exits_2_naming_the_line(data_csv: Path, text: str) -> None:
    lines = data_csv.read_text().splitlines()
    lines[5] = ",".join([text, *lines[5].split(",")[1:]])
    data_csv.write_text("\n".join(lines) + "\n")
    result = run(*FIT, str(data_csv), *COLUMNS, "--bootstrap", "0")
    assert result.exit_code == 2, result.output
    assert "sales.csv:6, week:" in result.output
    assert "is not a date (YYYY-MM-DD)" in result.output


def test_a_bad_lift_test_exits_2_naming_the_lift_file_and_its_line(
    data_csv: Path, tmp_path: Path
) -> None:
    lifts = tmp_path / "lifts.csv"
    lifts.write_text(
        "channel,start,end,spend_delta,lift,lift_se\n"
        "search,2023-06-05,2023-06-26,2000,3000,600\n"
        "tv,2023-06-05,2023-06-26,2000,3000,600\n"
    )
    result = run(*FIT, str(data_csv), *COLUMNS, "--bootstrap", "0", "--lift-tests", str(lifts))
    assert result.exit_code == 2, result.output
    assert "lifts.csv:3 (tv): unknown channel" in result.output
    assert "sales.csv" not in result.output
