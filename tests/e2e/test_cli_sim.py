"""``mios sim`` end to end: shipped and hand-written scenarios, totals, exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from mios.cli.app import app
from mios.cli.sim import PolicyName
from mios.sim.policies import POLICIES
from mios.sim.run import MAX_DAYS
from mios.sim.scenario import SHIPPED

SHIPPED_NAMES = ("b2b-pipeline", "retail-holiday", "subscription-retention")
SMALL_RUN = ("--days", "7", "--customers", "2000")
TOTALS = (
    "profit",
    "spend",
    "revenue",
    "conversions",
    "unsubscribes",
    "complaints",
    "compliance_incidents",
    "brand_incidents",
    "contacts_per_customer_week_p50",
    "contacts_per_customer_week_p99",
    "outcome_digest",
)


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"MIOS_DATABASE_URL": "", "COLUMNS": "200"})


def retail_run(*extra: str) -> Result:
    return run("sim", "run", "retail-holiday", "--policy", "static", *SMALL_RUN, *extra)


def test_scenarios_lists_every_shipped_scenario() -> None:
    table = run("sim", "scenarios")
    assert table.exit_code == 0, table.output
    for name in SHIPPED_NAMES:
        assert name in table.stdout
    assert "100,000" in table.stdout  # retail-holiday's customers
    listed = run("sim", "scenarios", "--json")
    assert listed.exit_code == 0, listed.output
    scenarios = json.loads(listed.stdout)
    assert [s["name"] for s in scenarios] == list(SHIPPED_NAMES)
    retail = scenarios[1]
    assert retail["customers"] == 100_000
    assert retail["currency"] == "USD"
    assert retail["start"] == "2026-11-02"
    assert "email" in retail["channels"]
    assert retail["description"].startswith("Outdoor apparel")


def test_run_prints_the_totals_as_json() -> None:
    result = retail_run("--seed", "1", "--json")
    assert result.exit_code == 0, result.output
    totals = json.loads(result.stdout)
    assert set(TOTALS) <= set(totals)
    assert (totals["scenario"], totals["policy"], totals["seed"]) == ("retail-holiday", "static", 1)
    assert (totals["days"], totals["customers"], totals["currency"]) == (7, 2000, "USD")
    assert float(totals["spend"]) > 0
    assert totals["conversions"] > 0
    assert 0 <= totals["contacts_per_customer_week_p50"] <= totals["contacts_per_customer_week_p99"]
    assert totals["contacts_per_customer_week_p99"] <= 3  # the scenario's contact limit


def test_run_prints_a_table_for_people_and_nothing_on_stderr() -> None:
    result = retail_run("--seed", "1")
    assert result.exit_code == 0, result.output
    assert "retail-holiday: static policy, 7 days, 2,000 customers, seed 1" in result.stdout
    assert "profit" in result.stdout
    assert " USD" in result.stdout
    assert "contacts per customer per week, p99" in result.stdout
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_identical_runs_print_identical_bytes_and_the_seed_matters() -> None:
    first = retail_run("--seed", "1", "--json")
    second = retail_run("--seed", "1", "--json")
    assert first.exit_code == second.exit_code == 0
    assert first.stdout_bytes == second.stdout_bytes
    other = retail_run("--seed", "2", "--json")
    assert other.exit_code == 0, other.output
    digest = json.loads(first.stdout)["outcome_digest"]
    assert json.loads(other.stdout)["outcome_digest"] != digest


def test_json_at_the_root_prints_the_same_as_per_command() -> None:
    at_root = run("--json", "sim", "run", "retail-holiday", *SMALL_RUN)
    assert at_root.exit_code == 0, at_root.output
    assert at_root.stdout == retail_run("--json").stdout


def test_a_scenario_file_runs_like_the_shipped_scenario(tmp_path: Path) -> None:
    copy = tmp_path / "mine.yaml"
    copy.write_bytes((SHIPPED / "retail-holiday.yaml").read_bytes())
    by_path = run("sim", "run", str(copy), *SMALL_RUN, "--json")
    assert by_path.exit_code == 0, by_path.output
    assert by_path.stdout == retail_run("--json").stdout


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda t: t.replace("open_rate: 0.22", "open_rate: -0.1", 1),
            ":38, channels.email.open_rate: Input should be greater than or equal to 0",
        ),
        (
            lambda t: t.replace("channels:\n", "channels:\n  fax: {cost_per_contact: 1}\n", 1),
            ":37, channels: unknown channel 'fax'",
        ),
        (
            lambda t: t.replace("id: loyal, share: 0.15", "id: loyal, share: 0.25", 1),
            ":8, population: segment shares add up to 1.1, not 1",
        ),
    ],
    ids=["negative-rate", "unknown-channel", "shares-not-one"],
)
def test_an_invalid_scenario_file_names_file_and_field_and_prints_no_totals(
    tmp_path: Path, mutate: Callable[[str], str], expected: str
) -> None:
    broken = tmp_path / "broken.yaml"
    original = (SHIPPED / "retail-holiday.yaml").read_text()
    changed = mutate(original)
    assert changed != original
    broken.write_text(changed)
    result = run("sim", "run", str(broken), *SMALL_RUN)
    assert result.exit_code == 2, result.output
    assert f"{broken}{expected}" in result.stderr
    assert result.stdout == ""


def test_an_unknown_scenario_name_lists_the_shipped_ones() -> None:
    result = run("sim", "run", "retail-summer", *SMALL_RUN)
    assert result.exit_code == 2, result.output
    assert "retail-summer: no such scenario" in result.stderr
    assert ", ".join(SHIPPED_NAMES) in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--policy", "greedy"), "--policy"),
        (("--days", "0"), "--days"),
        (("--days", str(MAX_DAYS + 1)), "--days"),
        (("--customers", "0"), "--customers"),
        (("--seed", "-1"), "--seed"),
    ],
    ids=["unknown-policy", "no-days", "too-many-days", "no-customers", "negative-seed"],
)
def test_a_bad_option_is_a_usage_error(args: tuple[str, ...], named: str) -> None:
    result = run("sim", "run", "retail-holiday", *args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{named}'" in result.stderr
    assert result.stdout == ""


def test_the_policy_choices_are_the_simulators_policies() -> None:
    assert [p.value for p in PolicyName] == list(POLICIES)


@pytest.mark.parametrize(
    ("command", "example"),
    [
        (["sim"], "    mios sim run retail-holiday"),
        (["sim", "scenarios"], "Example: mios sim scenarios"),
        (["sim", "run"], "Example: mios sim run retail-holiday --policy oracle"),
    ],
)
def test_every_sim_command_has_help_with_an_example(command: list[str], example: str) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert example in result.stdout


def test_separate_processes_print_identical_output_whatever_the_hash_seed() -> None:
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "mios.cli.app", "sim", "run", "subscription-retention"]
    command += ["--policy", "oracle", "--json", *SMALL_RUN]
    outputs = {
        subprocess.run(
            command,
            env={**os.environ, "PYTHONHASHSEED": hash_seed, "MIOS_DATABASE_URL": ""},
            capture_output=True,
            check=True,
        ).stdout
        for hash_seed in ("0", "1", "12345")
    }
    assert len(outputs) == 1
    assert json.loads(outputs.pop())["conversions"] > 0


def test_a_market_larger_than_the_limit_is_a_usage_error() -> None:
    result = retail_run("--customers", "100000001")
    assert result.exit_code == 2
