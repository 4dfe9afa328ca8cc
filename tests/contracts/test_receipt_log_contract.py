"""One contract for every ReceiptLog: in memory, SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from mios.channels.port import Receipt, replay
from mios.channels.receipts import InMemoryReceiptLog, ReceiptLog, part_key, record_once
from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.proposal import ActionKind, Audience, Content
from mios.errors import ChannelError, DomainError
from mios.persistence.engine import MIGRATIONS, create_database_engine, migrate
from mios.persistence.receipt_log import SqlReceiptLog

AT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
RECEIPT = Receipt(
    action_id="a1",
    idempotency_key="a1:0123456789abcdef",
    channel=ChannelName.EMAIL,
    accepted=3,
    external_id="smtp-abc",
    note="1 of 4 refused: c4 (550 no such user)",
)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def log(request: pytest.FixtureRequest) -> Iterator[ReceiptLog]:
    if request.param == "memory":
        yield InMemoryReceiptLog()
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    engine = create_database_engine(url)
    migrate(engine)
    yield SqlReceiptLog(engine)
    engine.dispose()


def test_an_unknown_key_has_no_receipt(log: ReceiptLog) -> None:
    assert log.get("nobody:0000") is None


def test_a_receipt_reads_back_as_it_was_put(log: ReceiptLog) -> None:
    log.put(RECEIPT, AT)
    assert log.get(RECEIPT.idempotency_key) == RECEIPT
    quiet = replace(RECEIPT, idempotency_key="a1:ffff", note=None, accepted=0)
    log.put(quiet, AT)
    assert log.get("a1:ffff") == quiet


def test_a_second_receipt_for_a_key_is_refused_and_the_first_stands(log: ReceiptLog) -> None:
    log.put(RECEIPT, AT)
    with pytest.raises(ChannelError, match="already has a receipt"):
        log.put(replace(RECEIPT, external_id="smtp-other", accepted=1), AT)
    assert log.get(RECEIPT.idempotency_key) == RECEIPT


def test_a_duplicate_is_never_recorded(log: ReceiptLog) -> None:
    with pytest.raises(ChannelError, match="duplicate"):
        log.put(replace(RECEIPT, duplicate=True), AT)
    assert log.get(RECEIPT.idempotency_key) is None


def test_a_naive_time_is_refused(log: ReceiptLog) -> None:
    with pytest.raises(DomainError, match="timezone"):
        log.put(RECEIPT, datetime(2026, 11, 2, 12, 0))
    assert log.get(RECEIPT.idempotency_key) is None


def test_part_receipts_live_beside_the_action_receipt(log: ReceiptLog) -> None:
    part = replace(RECEIPT, idempotency_key=part_key(RECEIPT.idempotency_key, "c1"), accepted=1)
    log.put(part, AT)
    assert log.get(RECEIPT.idempotency_key) is None
    log.put(RECEIPT, AT)
    assert log.get(part.idempotency_key) == part
    assert log.get(RECEIPT.idempotency_key) == RECEIPT


def test_replay_reads_a_log(log: ReceiptLog) -> None:
    action = Action(
        id="a1",
        proposal_id="p1",
        kind=ActionKind.SEND_MESSAGE,
        snapshot_version=1,
        channel=ChannelName.EMAIL,
        audience=Audience(customer_ids=("c1",)),
        content=Content(subject="Hi", body="Hello"),
    )
    assert replay(log, action) is None
    log.put(replace(RECEIPT, idempotency_key=action.idempotency_key), AT)
    seen = replay(log, action)
    assert seen is not None
    assert seen.duplicate
    assert seen.external_id == RECEIPT.external_id


def test_of_racing_writers_exactly_one_wins(log: ReceiptLog) -> None:
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def write(n: int) -> None:
        start.wait()
        try:
            log.put(replace(RECEIPT, external_id=f"writer-{n}"), AT)
            outcomes.append(f"writer-{n}")
        except ChannelError:
            outcomes.append("refused")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o != "refused"]
    assert len(winners) == 1
    assert outcomes.count("refused") == 3
    stored = log.get(RECEIPT.idempotency_key)
    assert stored is not None
    assert stored.external_id == winners[0]


def test_record_once_gives_the_later_worker_the_first_receipt(log: ReceiptLog) -> None:
    assert record_once(log, RECEIPT, AT) == RECEIPT
    late = record_once(log, replace(RECEIPT, external_id="smtp-late"), AT)
    assert late == replace(RECEIPT, duplicate=True)
    with pytest.raises(ChannelError, match="already has a receipt"):
        record_once(log, replace(RECEIPT, action_id="a2"), AT)  # not the same action's key


def test_held_out_reads_back_as_it_was_put(log: ReceiptLog) -> None:
    tested = replace(RECEIPT, idempotency_key="a1:exp", accepted=90, held_out=10)
    log.put(tested, AT)
    assert log.get("a1:exp") == tested
    log.put(RECEIPT, AT)
    stored = log.get(RECEIPT.idempotency_key)
    assert stored is not None
    assert stored.held_out == 0


def test_a_receipt_kept_before_holdouts_were_counted_reads_none_held_out(
    database_url: str,
) -> None:
    engine = create_database_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0005")
            connection.execute(
                text(
                    "INSERT INTO receipts (idempotency_key, action_id, channel, accepted, "
                    "external_id, note, at) VALUES ('k:old', 'a0', 'email', 5, 'x', NULL, :at)"
                ),
                {"at": AT},
            )
        migrate(engine)
        log = SqlReceiptLog(engine)
        assert log.get("k:old") == Receipt("a0", "k:old", ChannelName.EMAIL, 5, "x")
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0005")
            kept = connection.execute(text("SELECT accepted FROM receipts")).scalar_one()
        assert kept == 5
    finally:
        engine.dispose()
