"""The outcomes CSV reader: documented columns, located errors, nothing half-read."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.outcome import OutcomeKind
from mios.errors import InputError
from mios.measure.outcomes_csv import COLUMNS, read_outcomes_csv

HEADER = ",".join(COLUMNS)


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "outcomes.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def problems(path: Path, known: set[str] | None = None) -> list[str]:
    with pytest.raises(InputError) as caught:
        read_outcomes_csv(path, default_currency="USD", known_actions=known)
    assert "nothing was imported" in str(caught.value)
    return [str(p) for p in caught.value.problems]


def test_every_documented_column_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER,
        'o1,conversion,2026-11-02T09:30:00+01:00,a1,C1,email,49.90,EUR,2,t-1,"{""offer"": ""x""}"',
        "o2,Click,2026-11-02T10:00:00Z,,,,,,,,",
    )
    read = read_outcomes_csv(path, default_currency="USD", known_actions={"a1"})
    first, second = read.outcomes
    assert first.kind is OutcomeKind.CONVERSION
    assert first.at == datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    assert (first.action_id, first.customer_id, first.tracking_id) == ("a1", "C1", "t-1")
    assert first.channel is ChannelName.EMAIL
    assert first.value == Money(Decimal("49.90"), "EUR")
    assert first.count == 2
    assert first.attributes == {"offer": "x"}
    assert second.kind is OutcomeKind.CLICK
    assert (second.action_id, second.channel, second.value, second.count) == (None, None, None, 1)
    assert (read.rows, read.repeated_ids) == (2, 0)


def test_only_the_required_columns_in_any_order_and_the_default_currency(tmp_path: Path) -> None:
    path = write(tmp_path, "at,value,kind,id", "2026-11-02T09:30:00Z,12.5,spend,s1", "")
    (spend,) = read_outcomes_csv(path, default_currency="GBP").outcomes
    assert spend.value == Money(Decimal("12.5"), "GBP")


def test_a_repeated_id_is_the_same_event_kept_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "id,kind,at,customer_id",
        "o1,open,2026-11-02T09:30:00Z,first",
        "o1,open,2026-11-02T09:30:00Z,second",
    )
    read = read_outcomes_csv(path, default_currency="USD")
    assert [o.customer_id for o in read.outcomes] == ["first"]
    assert (read.rows, read.repeated_ids) == (2, 1)


def test_an_outcome_for_an_unknown_action_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "id,kind,at,action_id",
        "o1,open,2026-11-02T09:30:00Z,a1",
        "o2,open,2026-11-02T09:30:00Z,ghost",
    )
    found = problems(path, known={"a1"})
    assert found == [
        f"{path}:3, action_id: no action 'ghost' is known; an outcome needs a real action"
    ]
    # Without a list of known actions, any action id is taken as given.
    assert len(read_outcomes_csv(path, default_currency="USD").outcomes) == 2


def test_every_bad_cell_is_named_by_line_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "id,kind,at,channel,value,currency,count,attributes",
        "o1,sale,2026-11-02T09:30:00Z,,,,,",
        "o2,click,yesterday,,,,,",
        "o3,click,2026-11-02T09:30:00,,,,,",
        "o4,click,2026-11-02T09:30:00Z,fax,,,,",
        "o5,revenue,2026-11-02T09:30:00Z,,ten,,,",
        "o6,revenue,2026-11-02T09:30:00Z,,10,dollars,,",
        "o7,click,2026-11-02T09:30:00Z,,,,two,",
        "o8,click,2026-11-02T09:30:00Z,,,,,[1]",
        "o9,click,2026-11-02T09:30:00Z,,,,,{bad",
        "o10,revenue,2026-11-02T09:30:00Z,,,,,",
        "o11,click,2026-11-02T09:30:00Z,,5,,,",
        "o12,click,2026-11-02T09:30:00Z,,,,0,",
        ",click,2026-11-02T09:30:00Z,,,,,",
        "o14,click",
        '"o15",click,2026-11-02T09:30:00Z,,,,,"{""x"": NaN}"',
    )
    found = problems(path)
    where = [p.split(": ")[0] for p in found]
    assert where == [
        f"{path}:{line}, {column}"
        for line, column in [
            (2, "kind"),
            (3, "at"),
            (4, "at"),
            (5, "channel"),
            (6, "value"),
            (7, "currency"),
            (8, "count"),
            (9, "attributes"),
            (10, "attributes"),
            (11, "value"),
            (12, "value"),
            (13, "count"),
            (14, "id"),
        ]
    ] + [f"{path}:15", f"{path}:16, attributes"]
    assert "has no offset" in found[2]
    assert "use one of: email, sms" in found[3]


def test_header_problems_are_caught_before_any_row(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "id,kind,when,kind", "o1,open,x,open"))
    assert found == [
        f"{path_line(tmp_path)}, when: unknown column; the columns are: {', '.join(COLUMNS)}",
        f"{path_line(tmp_path)}, kind: this column appears twice",
        f"{path_line(tmp_path)}, at: required column missing",
    ]


def path_line(tmp_path: Path) -> str:
    return f"{tmp_path / 'outcomes.csv'}:1"


def test_empty_unreadable_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        read_outcomes_csv(empty, default_currency="USD")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"id,kind,at\no\xe9,open,2026-11-02T09:30:00Z\n")
    with pytest.raises(InputError, match="UTF-8"):
        read_outcomes_csv(latin, default_currency="USD")
    with pytest.raises(InputError, match="cannot open"):
        read_outcomes_csv(tmp_path / "nope.csv", default_currency="USD")


def test_a_byte_order_mark_and_blank_lines_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfid,kind,at\r\n\r\no1,open,2026-11-02T09:30:00Z\r\n")
    read = read_outcomes_csv(path, default_currency="USD")
    assert [o.id for o in read.outcomes] == ["o1"]
    assert read.rows == 1


def test_a_multi_line_cell_reports_the_line_its_record_starts_on(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "id,kind,at,attributes",
        'o1,open,2026-11-02T09:30:00Z,"{""note"":',
        '""two lines""}"',
        "o2,nope,2026-11-02T09:30:00Z,",
    )
    assert problems(path)[0].startswith(f"{path}:4, kind:")
