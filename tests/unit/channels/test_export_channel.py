"""ExportChannel: one whole line per action, no duplicate after a crash, in CSV and JSONL."""

from __future__ import annotations

import csv
import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mios.channels.export import CSV_COLUMNS, ExportChannel, ExportFormat
from mios.channels.payload import action_payload
from mios.channels.receipts import InMemoryReceiptLog
from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.proposal import ActionKind, Audience, Content
from mios.errors import ChannelUnavailable, InputError

NOW = datetime(2026, 11, 2, 23, 59, tzinfo=UTC)
TRICKY = 'Gifts, "wrapped"\nfor you.\r\nÆble — 20% off'


def executing(action_id: str = "a1", body: str = TRICKY, at: datetime = NOW) -> Action:
    action = Action(
        id=action_id,
        proposal_id=f"p-{action_id}",
        kind=ActionKind.SEND_MESSAGE,
        snapshot_version=2,
        channel=ChannelName.EMAIL,
        audience=Audience(segment_id="loyal", customer_ids=("c1", "c2")),
        content=Content(subject="Gifts", body=body, claims=("free-wrap",), offer_id="bundle"),
        spend=Money(Decimal("12.50"), "EUR"),
        parameters={"utm": {"campaign": "winter"}},
    )
    action.decide(at)
    action.approve(at, by="user:ana")
    action.start(at)
    return action


def export(folder: Path, form: ExportFormat = "csv", **overrides: Any) -> ExportChannel:
    return ExportChannel(
        folder,
        form,
        channels=[ChannelName.EMAIL],
        clock=lambda: NOW + timedelta(days=3),
        **overrides,
    )


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_csv_has_a_header_and_one_row_per_action(tmp_path: Path) -> None:
    channel = export(tmp_path)
    first = channel.execute(executing("a1"))
    second = channel.execute(executing("a2", body="Plain."))
    path = tmp_path / "email-2026-11-02.csv"
    assert first.external_id == "email-2026-11-02.csv#1"
    assert second.external_id == "email-2026-11-02.csv#2"
    rows = csv_rows(path)
    assert [r["action_id"] for r in rows] == ["a1", "a2"]
    assert list(rows[0]) == list(CSV_COLUMNS)
    row = rows[0]
    assert row["body"] == TRICKY
    assert row["customer_ids"] == "c1 c2"
    assert row["spend_amount"] == "12.5"
    assert row["spend_currency"] == "EUR"
    assert row["headline"] == ""
    assert json.loads(row["parameters"]) == {"utm": {"campaign": "winter"}}


def test_jsonl_has_one_payload_per_line(tmp_path: Path) -> None:
    channel = export(tmp_path, "jsonl")
    actions = [executing("a1"), executing("a2")]
    for action in actions:
        channel.execute(action)
    lines = (tmp_path / "email-2026-11-02.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [action_payload(a) for a in actions]


def test_the_day_is_when_the_action_first_started_so_a_retry_lands_beside_it(
    tmp_path: Path,
) -> None:
    action = executing()
    action.fail(NOW + timedelta(minutes=5), reason="disk full")
    action.start(NOW + timedelta(minutes=5))  # past midnight now
    export(tmp_path).execute(action)
    assert [p.name for p in tmp_path.iterdir()] == ["email-2026-11-02.csv"]


@pytest.mark.parametrize("form", ["csv", "jsonl"])
def test_a_crash_after_the_line_before_the_receipt_writes_no_second_line(
    tmp_path: Path, form: ExportFormat
) -> None:
    action = executing()
    first = export(tmp_path, form).execute(action)
    # A new process: its receipt log never heard of the action, the file has its line.
    restarted = export(tmp_path, form, receipts=InMemoryReceiptLog())
    again = restarted.execute(action)
    assert again == first
    assert not again.duplicate
    assert restarted.execute(action).duplicate
    text = next(tmp_path.iterdir()).read_text(encoding="utf-8")
    assert text.count(action.idempotency_key) == 1


@pytest.mark.parametrize("form", ["csv", "jsonl"])
def test_a_torn_last_line_is_cut_off_before_the_next_append(
    tmp_path: Path, form: ExportFormat
) -> None:
    export(tmp_path, form).execute(executing("a1"))
    path = next(tmp_path.iterdir())
    whole = path.read_bytes()
    # The crash: half of a2's line reached the disk (here, inside the quoted CSV body).
    other = tmp_path / "other"
    export(other, form).execute(executing("a2"))
    torn = next(other.iterdir()).read_bytes()
    header = len(whole) - len(whole.split(b"\n", 1)[1]) if form == "csv" else 0
    cut = torn.index(b"for you")  # in CSV: past a newline inside the quoted body
    path.write_bytes(whole + torn[header:cut])

    restarted = export(tmp_path, form, receipts=InMemoryReceiptLog())
    receipt = restarted.execute(executing("a2"))
    assert receipt.external_id == f"{path.name}#2"
    if form == "csv":
        assert [r["action_id"] for r in csv_rows(path)] == ["a1", "a2"]
        assert csv_rows(path)[1]["body"] == TRICKY
    else:
        lines = path.read_text(encoding="utf-8").splitlines()
        assert [json.loads(line)["id"] for line in lines] == ["a1", "a2"]


def test_two_writers_on_one_file_see_each_others_lines(tmp_path: Path) -> None:
    one, two = export(tmp_path), export(tmp_path)
    assert one.execute(executing("a1")).external_id.endswith("#1")
    assert two.execute(executing("a2")).external_id.endswith("#2")
    assert one.execute(executing("a3")).external_id.endswith("#3")
    assert two.execute(executing("a1")).external_id.endswith("#1")  # found, not written again
    rows = csv_rows(next(tmp_path.iterdir()))
    assert [r["action_id"] for r in rows] == ["a1", "a2", "a3"]


def test_concurrent_writers_leave_only_whole_lines(tmp_path: Path) -> None:
    channels = [export(tmp_path), export(tmp_path)]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(25):
                channels[n % 2].execute(executing(f"w{n}-{i}", body=TRICKY * 20))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = csv_rows(next(tmp_path.iterdir()))
    assert len(rows) == 100
    assert len({r["idempotency_key"] for r in rows}) == 100
    assert all(r["body"] == TRICKY * 20 for r in rows)


def test_a_folder_that_cannot_be_written_is_an_outage(tmp_path: Path) -> None:
    blocked = tmp_path / "exports"
    blocked.write_text("a file where the folder should be")
    receipts = InMemoryReceiptLog()
    action = executing()
    with pytest.raises(ChannelUnavailable, match="cannot write"):
        export(blocked, receipts=receipts).execute(action)
    assert receipts.get(action.idempotency_key) is None
    blocked.unlink()
    assert export(blocked, receipts=receipts).execute(action).accepted == 1


def test_an_unknown_format_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="format"):
        export(tmp_path, "xml")  # type: ignore[arg-type]


def test_a_holdout_is_passed_on_in_the_parameters_and_none_is_counted_here(
    tmp_path: Path,
) -> None:
    action = executing()
    action.parameters = {"holdout_share": 0.1, "experiment_id": "exp-e"}
    channel = export(tmp_path)

    receipt = channel.execute(action)

    [row] = csv_rows(channel.path_for(ChannelName.EMAIL, NOW.date()))
    assert json.loads(row["parameters"]) == {"experiment_id": "exp-e", "holdout_share": 0.1}
    assert receipt.held_out == 0  # the importing system applies it; mios cannot count it
