"""Reading a media mix model's CSV files: every problem names the file, the line and the column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mios.brain.mmm_data import read_lift_tests, read_media_csv
from mios.errors import ModelInputError

HEADER = "week,sales,search,social,price\n"


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def media(path: Path, **overrides: object) -> object:
    options: dict[str, object] = {
        "date_col": "week",
        "target": "sales",
        "channels": ["search", "social"],
        "controls": ["price"],
        **overrides,
    }
    return read_media_csv(path, **options)  # type: ignore[arg-type]


def test_reads_dates_target_spend_and_controls(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + "2024-01-01,100,5,0,9.5\n2024-01-08,120,7,3,9.0\n2024-01-15,90,0,4,9.9\n",
    )
    data = read_media_csv(
        path, date_col="week", target="sales", channels=["search", "social"], controls=["price"]
    )
    assert data.dates[0] == np.datetime64("2024-01-01")
    assert data.target.tolist() == [100.0, 120.0, 90.0]
    assert data.spend.shape == (3, 2)
    assert data.spend[:, 1].tolist() == [0.0, 3.0, 4.0]
    assert data.controls[:, 0].tolist() == [9.5, 9.0, 9.9]
    assert data.channels == ("search", "social")


def test_a_missing_column_is_named_with_the_columns_the_file_has(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "2024-01-01,100,5,0,9.5\n")
    with pytest.raises(ModelInputError, match=r"data\.csv:1: missing column 'tv'; the file has"):
        media(path, channels=["search", "tv"])


def test_a_non_numeric_cell_names_the_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "2024-01-01,100,5,0,9.5\n2024-01-08,120,lots,3,9.0\n")
    with pytest.raises(ModelInputError, match=r"data\.csv:3, search: 'lots' is not a number"):
        media(path)
    empty = write(tmp_path, HEADER + "2024-01-01,,5,0,9.5\n", "empty.csv")
    with pytest.raises(ModelInputError, match=r"empty\.csv:2, sales: empty is not a number"):
        media(empty)


def test_zero_variance_negative_spend_and_bad_dates_are_refused(tmp_path: Path) -> None:
    flat = write(tmp_path, HEADER + "2024-01-01,100,5,0,9\n2024-01-08,100,7,3,9.5\n", "flat.csv")
    with pytest.raises(ModelInputError, match=r"flat\.csv, sales: zero variance"):
        media(flat)
    negative = write(
        tmp_path, HEADER + "2024-01-01,100,5,0,9\n2024-01-08,120,-7,3,9.5\n", "neg.csv"
    )
    with pytest.raises(ModelInputError, match=r"neg\.csv:3, search: spend cannot be negative"):
        media(negative)
    dates = write(tmp_path, HEADER + "2024-01-08,100,5,0,9\n2024-01-01,120,7,3,9.5\n", "d.csv")
    with pytest.raises(ModelInputError, match=r"d\.csv:3, week: dates must increase"):
        media(dates)
    garbage = write(tmp_path, HEADER + "soon,100,5,0,9\n", "g.csv")
    with pytest.raises(ModelInputError, match=r"g\.csv:2, week: 'soon' is not a date"):
        media(garbage)


def test_a_missing_file_or_no_rows_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(ModelInputError, match="cannot read the file"):
        media(tmp_path / "absent.csv")
    with pytest.raises(ModelInputError, match="no data rows"):
        media(write(tmp_path, HEADER))


def test_reads_lift_tests_and_names_a_bad_one(tmp_path: Path) -> None:
    header = "channel,start,end,spend_delta,lift,lift_se\n"
    path = write(tmp_path, header + "search,2024-03-04,2024-03-25,4000,9000,1500\n", "l.csv")
    (test,) = read_lift_tests(path)
    assert test.channel == "search"
    assert test.start == np.datetime64("2024-03-04")
    assert test.end == np.datetime64("2024-03-25")
    assert (test.spend_delta, test.lift, test.lift_se) == (4000.0, 9000.0, 1500.0)
    bad_se = write(tmp_path, header + "search,2024-03-04,2024-03-25,4000,9000,0\n", "s.csv")
    with pytest.raises(ModelInputError, match=r"s\.csv:2, lift_se: the standard error must be"):
        read_lift_tests(bad_se)
    backwards = write(tmp_path, header + "search,2024-03-25,2024-03-04,4000,9000,1\n", "b.csv")
    with pytest.raises(ModelInputError, match=r"b\.csv:2, end: the test ends"):
        read_lift_tests(backwards)
    missing = write(tmp_path, "channel,start,end,lift\n", "m.csv")
    with pytest.raises(ModelInputError, match="missing columns 'spend_delta', 'lift_se'"):
        read_lift_tests(missing)
