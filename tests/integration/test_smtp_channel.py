"""SmtpChannel against a real aiosmtpd server on 127.0.0.1, checked on the server's side."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from mios.channels.receipts import InMemoryReceiptLog, part_key
from mios.channels.smtp import SmtpChannel, tracking_id
from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.holdout import Holdout
from mios.domain.proposal import ActionKind, Audience, Content
from mios.errors import ChannelError, ChannelUnavailable, DomainError, InputError
from mios.persistence.engine import create_database_engine, migrate
from mios.persistence.receipt_log import SqlReceiptLog
from tests.support.mail_server import MailHandler, free_port, mail_server

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SENDER = "Northwind <news@northwind.example>"
UNSUBSCRIBE = "https://northwind.example/u/{tracking_id}?c={customer_id}"
BOOK = {"c1": "ana@example.com", "c2": "ben@example.com", "c3": "cleo@example.com"}
BODY = (
    "Our winter bundle, wrapped for you: https://northwind.example/bundle?src=mail#top\n\n"
    "Northwind Ltd, 1 Harbour Road, Leeds. Unsubscribe: {{unsubscribe_url}}"
)
HEADERS = {"List-Unsubscribe": "<{{unsubscribe_url}}>, <mailto:unsub@northwind.example>"}


@pytest.fixture
def server() -> Iterator[tuple[MailHandler, int]]:
    with mail_server() as running:
        yield running


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    made = create_database_engine(sqlite_url)
    migrate(made)
    yield made
    made.dispose()


def executing(action_id: str = "a1", **changes: Any) -> Action:
    fields: dict[str, Any] = {
        "id": action_id,
        "proposal_id": f"p-{action_id}",
        "kind": ActionKind.SEND_MESSAGE,
        "snapshot_version": 1,
        "channel": ChannelName.EMAIL,
        "audience": Audience(customer_ids=tuple(BOOK)),
        "content": Content(subject="Gifts <wrapped> & ready", body=BODY, headline="Winter"),
        "parameters": {"headers": HEADERS},
        **changes,
    }
    action = Action(**fields)
    action.decide(NOW)
    action.approve(NOW, by="user:ana")
    action.start(NOW)
    return action


def smtp(port: int, **overrides: Any) -> SmtpChannel:
    settings: dict[str, Any] = {
        "address_of": lambda ids: {c: BOOK[c] for c in ids if c in BOOK},
        "unsubscribe_url": UNSUBSCRIBE,
        "local_hostname": "localhost",
        "timeout": 5,
        "clock": lambda: NOW,
        **overrides,
    }
    return SmtpChannel("127.0.0.1", port, SENDER, **settings)


def parts(message: EmailMessage) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in message.iter_parts():
        assert isinstance(part, EmailMessage)
        found[part.get_content_type()] = str(part.get_content()).replace("\r\n", "\n")
    return found


def test_each_recipient_gets_one_multipart_message(server: tuple[MailHandler, int]) -> None:
    handler, port = server
    action = executing()
    receipt = smtp(port).execute(action)
    assert receipt.accepted == 3
    assert receipt.note is None
    assert len(handler.received) == 3
    for cid, address in BOOK.items():
        [got] = handler.to(address)
        assert got.rcpt_tos == (address,)
        assert got.mail_from == "news@northwind.example"
        message = got.message()
        tid = tracking_id(action.idempotency_key, cid)
        assert message.get_content_type() == "multipart/alternative"
        assert message["Subject"] == "Gifts <wrapped> & ready"
        assert message["From"] == SENDER
        assert message["To"] == address
        assert message["Message-ID"] == f"<{tid}@northwind.example>"
        assert message["X-Mios-Tracking"] == tid
        unsubscribe = f"https://northwind.example/u/{tid}?c={cid}"
        assert message["List-Unsubscribe"] == (f"<{unsubscribe}>, <mailto:unsub@northwind.example>")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        body = parts(message)
        assert list(body) == ["text/plain", "text/html"]
        text, page = body["text/plain"], body["text/html"]
        assert text.startswith("Winter\n\n")
        assert f"https://northwind.example/bundle?src=mail&mios_t={tid}#top" in text
        assert f"Unsubscribe: {unsubscribe}" in text
        assert "{{" not in text
        assert "<h1>Winter</h1>" in page
        assert f'href="https://northwind.example/bundle?src=mail&amp;mios_t={tid}#top"' in page
        assert f'<a href="{unsubscribe}">' in page


def test_tracking_ids_differ_per_recipient_and_per_version() -> None:
    first = executing()
    edited = executing(content=Content(subject="Gifts", body="Now 20% off."))
    ids = {tracking_id(a.idempotency_key, c) for a in (first, edited) for c in BOOK}
    assert len(ids) == 6


def test_a_crash_between_recipients_then_a_restart_sends_only_to_the_rest(
    server: tuple[MailHandler, int], sqlite_url: str
) -> None:
    """kill -9 of a real process after its first recipient, then a new process: each recipient
    gets exactly one message, and a third run is answered from the receipts."""
    handler, port = server
    crashed = _run(port, sqlite_url, kill_after_parts=1)
    assert crashed.returncode == -9
    assert [r.rcpt_tos for r in handler.received] == [("ana@example.com",)]

    restarted = _run(port, sqlite_url)
    assert restarted.returncode == 0, restarted.stderr
    receipt = json.loads(restarted.stdout)
    assert receipt["accepted"] == 3
    assert not receipt["duplicate"]
    assert sorted(r.rcpt_tos[0] for r in handler.received) == sorted(BOOK.values())

    again = json.loads(_run(port, sqlite_url).stdout)
    assert again == {**receipt, "duplicate": True}
    assert len(handler.received) == 3


_WORKER = """
import json, os, signal, sys
from dataclasses import asdict
from datetime import UTC, datetime
from mios.channels.smtp import SmtpChannel
from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.proposal import ActionKind, Audience, Content
from mios.persistence.engine import create_database_engine, migrate
from mios.persistence.receipt_log import SqlReceiptLog

port, url, kill_after = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
engine = create_database_engine(url)
migrate(engine)

class Log(SqlReceiptLog):
    puts = 0
    def put(self, receipt, at):
        super().put(receipt, at)
        Log.puts += 1
        if Log.puts == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
action = Action(
    id="a1", proposal_id="p-a1", kind=ActionKind.SEND_MESSAGE, snapshot_version=1,
    channel=ChannelName.EMAIL, audience=Audience(customer_ids=("c1", "c2", "c3")),
    content=Content(subject="Gifts", body="Hello"),
)
action.decide(now); action.approve(now, by="user:ana"); action.start(now)
book = {"c1": "ana@example.com", "c2": "ben@example.com", "c3": "cleo@example.com"}
channel = SmtpChannel(
    "127.0.0.1", port, "news@northwind.example", address_of=lambda ids: {c: book[c] for c in ids},
    local_hostname="localhost", timeout=5, receipts=Log(engine),
)
receipt = channel.execute(action)
print(json.dumps({**asdict(receipt), "channel": receipt.channel.value}))
"""


def _run(port: int, url: str, kill_after_parts: int = 0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WORKER, str(port), url, str(kill_after_parts)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


def test_a_permanent_refusal_is_counted_noted_and_not_retried(
    server: tuple[MailHandler, int], engine: Engine
) -> None:
    handler, port = server
    handler.refuse["ben@example.com"] = "550 5.1.1 no such user"
    channel = smtp(port, receipts=SqlReceiptLog(engine))
    action = executing()
    receipt = channel.execute(action)
    assert receipt.accepted == 2
    assert receipt.note == "1 refused: c2 (550 5.1.1 no such user)"
    assert len(handler.received) == 2
    handler.refuse.clear()
    assert channel.execute(action).duplicate
    assert len(handler.received) == 2
    refused = SqlReceiptLog(engine).get(part_key(action.idempotency_key, "c2"))
    assert refused is not None
    assert refused.accepted == 0


def test_a_temporary_refusal_mid_batch_is_an_outage_and_a_retry_sends_the_rest(
    server: tuple[MailHandler, int],
) -> None:
    handler, port = server
    handler.refuse["ben@example.com"] = "450 4.2.1 mailbox busy, try later"
    receipts = InMemoryReceiptLog()
    channel = smtp(port, receipts=receipts)
    action = executing()
    with pytest.raises(ChannelUnavailable, match=r"450 .* 1 of 3 pending recipients done"):
        channel.execute(action)
    assert receipts.get(action.idempotency_key) is None
    assert [r.rcpt_tos for r in handler.received] == [("ana@example.com",)]

    handler.refuse.clear()
    action.fail(NOW, reason="mailbox busy")
    action.start(NOW)
    assert channel.execute(action).accepted == 3
    for address in BOOK.values():
        assert len(handler.to(address)) == 1


def test_an_outage_before_anything_sends_nothing(server: tuple[MailHandler, int]) -> None:
    handler, port = server
    handler.down = True
    with pytest.raises(ChannelUnavailable, match="421"):
        smtp(port).execute(executing())
    assert handler.received == []


def test_connection_refused_is_an_outage() -> None:
    channel = smtp(free_port())
    with pytest.raises(ChannelUnavailable, match="0 of 3 pending"):
        channel.execute(executing())


def test_recipients_given_by_the_lifecycle_win_and_missing_addresses_are_noted(
    server: tuple[MailHandler, int],
) -> None:
    handler, port = server
    action = executing(
        parameters={
            "headers": HEADERS,
            "recipients": {"c7": "gus@example.com", "c8": "", "c9": "not-an-address"},
        }
    )
    receipt = smtp(port).execute(action)
    assert receipt.accepted == 1
    assert receipt.note == "2 without an email address: c8, c9"
    assert [r.rcpt_tos for r in handler.received] == [("gus@example.com",)]


def test_a_segment_is_resolved_through_members_of(server: tuple[MailHandler, int]) -> None:
    handler, port = server
    action = executing(audience=Audience(segment_id="loyal"))
    receipt = smtp(port, members_of=lambda segment: ["c3", "c1"]).execute(action)
    assert receipt.accepted == 2
    assert sorted(r.rcpt_tos[0] for r in handler.received) == [BOOK["c1"], BOOK["c3"]]
    with pytest.raises(ChannelError, match="members_of"):
        smtp(port).execute(executing("a2", audience=Audience(segment_id="loyal")))


def test_given_html_is_used_with_its_links_tagged(server: tuple[MailHandler, int]) -> None:
    handler, port = server
    page = (
        '<p><a href="https://northwind.example/x">Shop</a> <a href="{{unsubscribe_url}}">Stop</a>'
    )
    action = executing(parameters={"headers": HEADERS, "html": page})
    smtp(port, tracking="t").execute(action)
    tid = tracking_id(action.idempotency_key, "c1")
    got = parts(handler.to(BOOK["c1"])[0].message())["text/html"]
    assert f'href="https://northwind.example/x?t={tid}"' in got
    assert f'href="https://northwind.example/u/{tid}?c=c1"' in got


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"headers": {"Subject": "sneaky"}}, "may not set Subject"),
        ({"headers": {"X-Note": "a\r\nBcc: x@example.com"}}, "malformed"),
        ({"headers": ["List-Unsubscribe"]}, "map names to text"),
        ({"recipients": ["ana@example.com"]}, "map customer ids"),
    ],
)
def test_bad_action_parameters_are_refused_before_sending(
    server: tuple[MailHandler, int], parameters: dict[str, Any], message: str
) -> None:
    handler, port = server
    with pytest.raises(ChannelError, match=message):
        smtp(port).execute(executing(parameters=parameters))
    assert handler.received == []


def test_an_unsubscribe_placeholder_needs_a_template(server: tuple[MailHandler, int]) -> None:
    handler, port = server
    with pytest.raises(ChannelError, match="unsubscribe_url template"):
        smtp(port, unsubscribe_url=None).execute(executing())
    assert handler.received == []


def test_bad_settings_are_input_errors() -> None:
    with pytest.raises(InputError, match="sender"):
        SmtpChannel("127.0.0.1", 25, "nobody")
    with pytest.raises(InputError, match="unsubscribe_url"):
        SmtpChannel("127.0.0.1", 25, SENDER, unsubscribe_url="https://x.example/{who}")
    with pytest.raises(InputError, match="security"):
        SmtpChannel("127.0.0.1", 25, SENDER, security="ssl")  # type: ignore[arg-type]


def test_held_out_recipients_get_nothing_and_are_counted(
    server: tuple[MailHandler, int],
) -> None:
    handler, port = server
    book = {f"c{i}": f"r{i}@example.com" for i in range(40)}
    holdout = Holdout("exp-1", 0.25)
    held = {cid for cid in book if holdout.holds_out(cid)}
    assert 0 < len(held) < len(book)  # the draw splits this audience, so the test means something
    action = executing(
        parameters={"headers": HEADERS, "recipients": book, **experiment("exp-1", 0.25)}
    )
    channel = smtp(port)

    receipt = channel.execute(action)

    assert receipt.held_out == len(held)
    assert receipt.accepted == len(book) - len(held)
    reached = {r.rcpt_tos[0] for r in handler.received}
    assert reached == {book[c] for c in book if c not in held}
    again = channel.execute(action)
    assert (again.duplicate, again.held_out) == (True, len(held))
    assert len(handler.received) == receipt.accepted


def test_a_holdout_is_drawn_the_same_after_a_restart(
    server: tuple[MailHandler, int], engine: Engine
) -> None:
    handler, port = server
    book = {f"c{i}": f"r{i}@example.com" for i in range(30)}
    action = executing(
        parameters={"headers": HEADERS, "recipients": book, **experiment("exp-2", 0.3)}
    )
    held = {c for c in book if Holdout("exp-2", 0.3).holds_out(c)}
    last = [c for c in book if c not in held][-1]
    handler.refuse[book[last]] = "451 4.3.0 try later"  # the first attempt stops there
    with pytest.raises(ChannelUnavailable):
        smtp(port, receipts=SqlReceiptLog(engine)).execute(action)
    handler.refuse.clear()

    receipt = smtp(port, receipts=SqlReceiptLog(engine)).execute(action)

    assert receipt.held_out == len(held)
    assert sorted(r.rcpt_tos[0] for r in handler.received) == sorted(
        book[c] for c in book if c not in held
    )
    assert SqlReceiptLog(engine).get(action.idempotency_key) == receipt


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"holdout_share": 0.95}, "holdout_share"),
        ({"holdout_share": "a tenth"}, "holdout_share"),
        ({"holdout_share": 0.1, "experiment_id": " "}, "experiment_id"),
    ],
)
def test_a_malformed_holdout_is_refused_before_sending(
    server: tuple[MailHandler, int], parameters: dict[str, Any], field: str
) -> None:
    handler, port = server
    with pytest.raises(DomainError, match=f"parameters.{field}"):
        smtp(port).execute(executing(parameters={"headers": HEADERS, **parameters}))
    assert handler.received == []


def experiment(experiment_id: str, share: float) -> dict[str, Any]:
    return {"holdout_share": share, "experiment_id": experiment_id}
