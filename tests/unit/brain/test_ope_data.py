"""Logged-data files: columns, features, errors that name the file, line and column, and the
cross-fitted evaluation of named policies on a simulated log with known truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mios.brain.ope_data import Columns, evaluate_policy, load_rounds
from mios.brain.tables import encode_labels, parse_days, read_table
from mios.errors import ModelInputError

HEADER = "action,position,reward,propensity,x_age,x_spend,segment\n"


def _write(tmp_path: Path, text: str, name: str = "logged.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _simulated_log(tmp_path: Path, rows: int = 6000, seed: int = 0) -> tuple[Path, float]:
    """Uniform logging over 3 offers; offer 'c' converts best for everyone. Returns the file
    and the true value of always showing 'c'."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, rows)
    rates = {"a": 0.05, "b": 0.08, "c": 0.20}
    offers = rng.choice(list(rates), rows)
    reward = rng.random(rows) < np.array([rates[o] for o in offers]) + 0.001 * (age - 40)
    lines = ["offer,converted,p,x_age,region"]
    regions = rng.choice(["north", "south"], rows)
    for i in range(rows):
        lines.append(f"{offers[i]},{int(reward[i])},{1 / 3},{age[i]:.3f},{regions[i]}")
    return _write(tmp_path, "\n".join(lines) + "\n"), rates["c"]


def test_a_file_loads_with_positions_prefixed_and_categorical_features(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        HEADER
        + "email_a,1,1,0.5,31,10.5,vip\n"
        + "sms_b,2,0,0.25,45,0,new\n"
        + "email_a,2,0,0.5,52,3,vip\n"
        + "push_c,1,1,0.25,29,8,lapsed\n",
    )
    logged = load_rounds(read_table(path), Columns(categorical=("segment",)))
    rounds = logged.rounds
    assert list(logged.action_labels) == ["email_a", "push_c", "sms_b"]
    assert list(rounds.action) == [0, 2, 0, 1]
    assert list(logged.position_labels) == ["1", "2"]
    assert list(rounds.position) == [0, 1, 1, 0]
    assert logged.feature_names == ("x_age", "x_spend", "segment=new", "segment=vip")
    assert rounds.features.shape == (4, 4)
    assert list(rounds.features[:, 3]) == [1, 0, 1, 0]
    assert (rounds.actions, rounds.positions) == (3, 2)


def test_without_a_position_column_there_is_one_position(tmp_path: Path) -> None:
    path = _write(tmp_path, "action,reward,propensity,f1\n2,1,0.5,3\n10,0,0.5,4\n2,0,0.5,1\n")
    logged = load_rounds(read_table(path), Columns(features=("f1",)))
    assert list(logged.action_labels) == ["2", "10"]  # integers sort as numbers
    assert logged.rounds.positions == 1
    assert logged.feature_names == ("f1",)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("a,1,1,0,30,1,v\n", r"logged\.csv:2, column 'propensity': 0 is not a propensity"),
        ("a,1,1,0.5,30,1,v\nb,1,0,1.5,3,1,v\n", r"logged\.csv:3, column 'propensity': 1\.5"),
        ("a,1,yes,0.5,30,1,v\n", r"logged\.csv:2, column 'reward': 'yes' is not a number"),
        ("a,1,1,0.5,,1,v\n", r"logged\.csv:2, column 'x_age': an empty cell is not a number"),
        ("a,1,1,0.5,nan,1,v\n", r"column 'x_age': 'nan' is not a finite number"),
        ("a,1,1,0.5,30,1\n", r"logged\.csv:2: 6 cells where the header has 7"),
        (",1,1,0.5,30,1,v\n", r"logged\.csv:2, column 'action': an empty cell"),
    ],
)
def test_bad_cells_name_the_file_line_and_column(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path, HEADER + body)
    with pytest.raises(ModelInputError, match=message):
        load_rounds(read_table(path))


def test_missing_columns_and_files_are_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "action,reward\na,1\n")
    with pytest.raises(ModelInputError, match=r"no column 'propensity' \(the columns are: "):
        load_rounds(read_table(path))
    with pytest.raises(ModelInputError, match="no column 'x_missing'"):
        load_rounds(
            read_table(_write(tmp_path, HEADER + "a,1,1,0.5,1,1,v\n", "ok.csv")),
            Columns(features=("x_missing",)),
        )
    with pytest.raises(ModelInputError, match=r"nowhere\.csv: no such file"):
        read_table(tmp_path / "nowhere.csv")
    with pytest.raises(ModelInputError, match="has a header but no rows"):
        read_table(_write(tmp_path, HEADER, "empty.csv"))
    with pytest.raises(ModelInputError, match="the file is empty"):
        read_table(_write(tmp_path, "", "blank.csv"))
    with pytest.raises(ModelInputError, match="column 'a' appears twice"):
        read_table(_write(tmp_path, "a,a\n1,2\n", "twice.csv"))


def test_dates_and_labels_parse_and_refuse_clearly(tmp_path: Path) -> None:
    days = parse_days(["19970101", "1997-02-03", "1997-02-03 10:11:12", "1997-02-03T23:59"])
    assert [str(d) for d in days] == ["1997-01-01", "1997-02-03", "1997-02-03", "1997-02-03"]
    table = read_table(_write(tmp_path, "id,day\n1,2024-01-05\n2,2024-13-01\n", "d.csv"))
    with pytest.raises(ModelInputError, match=r"d\.csv:3, column 'day': '2024-13-01' is not a"):
        table.dates("day")
    levels, codes = encode_labels(np.array(["10", "9", "10", "-1"]))
    assert list(levels) == ["-1", "9", "10"]
    assert list(codes) == [2, 1, 2, 0]


def test_uniform_on_a_uniform_log_is_the_logged_mean(tmp_path: Path) -> None:
    path, _ = _simulated_log(tmp_path, rows=600)
    columns = Columns(action="offer", reward="converted", propensity="p")
    report = evaluate_policy(load_rounds(read_table(path), columns), "uniform")
    evaluation = report.evaluation
    assert evaluation.estimate("ipw").value == pytest.approx(evaluation.logged.value)
    assert evaluation.estimate("snipw").value == pytest.approx(evaluation.logged.value)
    assert "cross-fitted on 5 folds" in report.reward_model


def test_greedy_finds_the_best_offer_and_its_value_is_covered(tmp_path: Path) -> None:
    path, truth = _simulated_log(tmp_path)
    columns = Columns(action="offer", reward="converted", propensity="p", categorical=("region",))
    report = evaluate_policy(load_rounds(read_table(path), columns), "greedy", seed=3)
    for estimate in report.evaluation.estimates:
        assert estimate.low <= truth <= estimate.high, estimate
    assert report.evaluation.effective_sample_size == pytest.approx(2000, rel=0.1)


def test_thompson_sampling_prefers_the_best_offer(tmp_path: Path) -> None:
    path, _ = _simulated_log(tmp_path)
    columns = Columns(action="offer", reward="converted", propensity="p")
    logged = load_rounds(read_table(path), columns)
    report = evaluate_policy(logged, "ts", samples=5000, folds=1)
    assert report.evaluation.estimate("ipw").value > report.evaluation.logged.value
    assert "fitted in-sample" in report.reward_model
    with pytest.raises(ModelInputError, match="folds must be between 1 and"):
        evaluate_policy(logged, "ts", folds=0)
    with pytest.raises(ModelInputError, match="unknown policy 'best'"):
        evaluate_policy(logged, "best")  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["today", "now", "NaT", "2024", "2024-03", "202401", "2024-0102"])
def test_dates_numpy_would_guess_are_refused(text: str) -> None:
    # NumPy alone reads "today" as the current date, "2024" as 2024-01-01 and "NaT" as missing.
    with pytest.raises(ModelInputError, match=f"value 1: '{text}' is not a date"):
        parse_days(["2024-01-05", text])


def test_a_time_of_day_with_a_utc_offset_keeps_the_date_as_written() -> None:
    days = parse_days(["2024-01-03T10:00:00Z", "2024-01-03T23:30:00.5+05:30", "20240104 08:00"])
    assert [str(d) for d in days] == ["2024-01-03", "2024-01-03", "2024-01-04"]


@pytest.mark.parametrize(
    "columns",
    [
        Columns(categorical=("reward",)),
        Columns(features=("x_age", "propensity")),
        Columns(features=("action",)),
        Columns(categorical=("position",)),
    ],
)
def test_the_logged_columns_cannot_be_features(tmp_path: Path, columns: Columns) -> None:
    # A policy that reads the round's logged reward (or action) would be judged on its answers.
    path = _write(tmp_path, HEADER + "a,1,1,0.5,30,1,v\nb,2,0,0.5,40,2,w\n")
    with pytest.raises(ModelInputError, match=r"logged\.csv:1: column '\w+' cannot be a feature"):
        load_rounds(read_table(path), columns)


def test_too_few_rounds_or_folds_name_what_is_needed(tmp_path: Path) -> None:
    one = load_rounds(read_table(_write(tmp_path, HEADER + "a,1,1,0.5,30,1,v\n")))
    with pytest.raises(ModelInputError, match="insufficient data: 1 logged round"):
        evaluate_policy(one, "uniform", folds=1)
    two = load_rounds(read_table(_write(tmp_path, HEADER + "a,1,1,0.5,30,1,v\n" * 2, "two.csv")))
    with pytest.raises(ModelInputError, match=r"folds must be between 1 and the 2 rounds, not 5"):
        evaluate_policy(two, "uniform")
