"""``mios brain clv fit`` end to end: the CDNOW sample, JSON and tables, and bad input."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from mios.cli.app import app

CDNOW = Path(__file__).resolve().parents[1] / "data" / "clv" / "CDNOW_sample.txt"
COLUMNS = ("--customer-col", "customer", "--date-col", "date", "--amount-col", "amount")


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"MIOS_DATABASE_URL": "", "COLUMNS": "200"})


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CDNOW sample as a CSV with a header (dates stay YYYYMMDD)."""
    rows = np.loadtxt(CDNOW, dtype=str)
    path = tmp_path_factory.mktemp("clv") / "cdnow.csv"
    lines = ["customer,date,cds,amount"] + [f"{r[1]},{r[2]},{r[3]},{r[4]}" for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(text)
    return path


def test_cdnow_until_september_1997_in_weeks_gives_the_published_fit(cdnow_csv: Path) -> None:
    result = run("brain", "clv", "fit", str(cdnow_csv), *COLUMNS, "--until", "1997-09-30", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    params = report["bgnbd"]["params"]
    assert params["r"] == pytest.approx(0.243, abs=0.0005)
    assert params["alpha"] == pytest.approx(4.414, abs=0.0005)
    assert params["a"] == pytest.approx(0.793, abs=0.0005)
    assert params["b"] == pytest.approx(2.426, abs=0.0005)
    assert report["bgnbd"]["std_errors"]["r"] == pytest.approx(0.01256, abs=1e-4)
    assert report["gamma_gamma"]["params"]["p"] == pytest.approx(6.25, abs=0.005)
    seen = report["observation"]
    assert (seen["customers"], seen["repeat_customers"]) == (2357, 946)
    assert (seen["until"], seen["time_unit"], seen["first_purchase"]) == (
        "1997-09-30",
        "week",
        "1997-01-01",
    )
    assert report["horizon"] == 52
    assert report["discount_rate"] == 0.10
    assert report["expected_transactions"] == pytest.approx(2089.4, abs=0.1)
    assert len(report["top_customers"]) == 10
    assert report["top_customers"][0]["customer"] == "0509"


def test_the_table_for_people(cdnow_csv: Path) -> None:
    result = run(
        "brain", "clv", "fit", str(cdnow_csv), *COLUMNS, "--until", "1997-09-30", "--top", "3"
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "2,357 customers (946 repeat)" in out
    assert "observed until 1997-09-30, times in weeks" in out
    for text in ("BG/NBD", "Gamma-Gamma", "0.2426", "4.414", "log-likelihood", "Top 3 customers"):
        assert text in out
    assert "over the next 52 weeks" in out


def test_days_and_the_default_end(cdnow_csv: Path) -> None:
    result = run(
        "brain",
        "clv",
        "fit",
        str(cdnow_csv),
        *COLUMNS,
        "--time-unit",
        "day",
        "--json",
        "--top",
        "0",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["observation"]["until"] == "1998-06-30"  # the last date in the file
    assert report["horizon"] == 365
    assert report["top_customers"] == []
    # A rate per day is the weekly one over 7: alpha scales with the unit.
    assert report["bgnbd"]["params"]["alpha"] > 7


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "customer,date,amount\n1,2024-01-01,5\n1,2024-02-30,5\n",
            "orders.csv:3, column 'date': '2024-02-30' is not a date",
        ),
        (
            "customer,date,amount\n1,2024-01-01,5\n1,2024-02-03,-5\n",
            "orders.csv:3, column 'amount': -5 is a negative amount",
        ),
        ("customer,day,amount\n1,2024-01-01,5\n", "no column 'date'"),
        (
            "customer,date,amount\n" + "".join(f"{i},2024-01-0{1 + i % 5},3\n" for i in range(30)),
            "no customer made a repeat purchase",
        ),
        (
            "customer,date,amount\n1,2024-01-01,5\n1,2024-01-05,6\n2,2024-01-02,1\n",
            "2 customers: BG/NBD needs at least 10",
        ),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(tmp_path: Path, body: str, message: str) -> None:
    result = run("brain", "clv", "fit", str(_write(tmp_path, body)), *COLUMNS)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""


def test_a_bad_until_and_an_empty_period(tmp_path: Path) -> None:
    path = _write(tmp_path, "customer,date,amount\n1,2024-01-01,5\n")
    bad = run("brain", "clv", "fit", str(path), *COLUMNS, "--until", "soon")
    assert bad.exit_code == 2
    assert "--until: 'soon' is not a date" in bad.stderr
    early = run("brain", "clv", "fit", str(path), *COLUMNS, "--until", "2023-01-01")
    assert early.exit_code == 2
    assert "no transaction on or before 2023-01-01" in early.stderr


def test_help_shows_an_example() -> None:
    result = run("brain", "clv", "fit", "--help")
    assert result.exit_code == 0
    assert "Example: mios brain clv fit" in result.stdout


def test_dates_numpy_would_guess_exit_2(tmp_path: Path) -> None:
    path = _write(tmp_path, "customer,date,amount\n1,2024-01-01,5\n2,NaT,5\n")
    in_file = run("brain", "clv", "fit", str(path), *COLUMNS)
    assert in_file.exit_code == 2, in_file.output
    assert "orders.csv:3, column 'date': 'NaT' is not a date" in in_file.stderr
    path.write_text("customer,date,amount\n1,2024-01-01,5\n")
    for until in ("today", "2024"):
        result = run("brain", "clv", "fit", str(path), *COLUMNS, "--until", until)
        assert result.exit_code == 2, result.output
        assert f"--until: '{until}' is not a date" in result.stderr


def test_an_unidentified_fit_warns(tmp_path: Path, cdnow_csv: Path) -> None:
    # 40 customers over two months, a few repeat purchases each and none who stops: the data
    # say nothing of how customers leave, so the fit has no standard errors.
    rng = random.Random(1)
    rows = ["customer,date,amount"]
    for customer in range(40):
        first = rng.randint(1, 20)
        for k in range(rng.choice([1, 1, 2, 3, 5])):
            day = first + 17 * k
            rows.append(f"c{customer},2024-{1 + day // 28:02d}-{1 + day % 28:02d},")
            rows[-1] += f"{rng.uniform(5, 50):.2f}"
    result = run("brain", "clv", "fit", str(_write(tmp_path, "\n".join(rows) + "\n")), *COLUMNS)
    assert result.exit_code == 0, result.output
    assert "warning: the BG/NBD parameters are not identified by these data" in result.stderr
    fine = run("brain", "clv", "fit", str(cdnow_csv), *COLUMNS, "--until", "1997-09-30", "--json")
    assert json.loads(fine.stdout)["warnings"] == []


def test_spend_that_does_not_vary_between_customers_is_insufficient_data(tmp_path: Path) -> None:
    # Weekly buyers whose amounts follow a fixed cycle, nothing like Gamma-Gamma's story: its q
    # and gamma run off to the edge. That is the data's fault (exit 2), not a solver failure.
    rows = ["customer,date,amount"]
    for customer in range(20):
        for week in range(0, 20 + customer % 5):
            day = np.datetime64("2024-01-01") + np.timedelta64(7 * week + customer % 3, "D")
            rows.append(f"c{customer},{day},{10 + customer + week % 4}")
    result = run("brain", "clv", "fit", str(_write(tmp_path, "\n".join(rows) + "\n")), *COLUMNS)
    assert result.exit_code == 2, result.output
    assert "insufficient data: the Gamma-Gamma fit ran to the edge" in result.stderr
