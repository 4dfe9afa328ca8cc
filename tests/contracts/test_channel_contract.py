"""One contract for every Channel: the simulated market, the in-memory recording channel, and the
connectors (SMTP against a real aiosmtpd server, signed webhooks against a real local receiver,
CSV/JSONL export), the connectors over a durable receipt log on SQLite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mios.channels.export import ExportChannel
from mios.channels.memory import RecordingChannel
from mios.channels.port import Channel
from mios.channels.simulator import SimulatorChannel
from mios.channels.smtp import SmtpChannel
from mios.channels.webhook import WebhookChannel
from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.proposal import ActionKind, Audience, Content
from mios.errors import ChannelError, ChannelUnavailable
from mios.persistence.engine import create_database_engine, migrate
from mios.persistence.receipt_log import SqlReceiptLog
from mios.sim.market import Market
from mios.sim.scenario import load_scenario
from tests.support.mail_server import mail_server
from tests.support.webhook_receiver import webhook_receiver

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SMS_OUTAGE_DAY = 22  # retail-holiday takes sms down for this one day
CONTENT = Content(subject="Gifts", body="Our bundle, wrapped.", offer_id="bundle", angle="gift")


@dataclass
class Subject:
    """A channel under test and what the contract needs to observe it from outside."""

    channel: Channel
    serves: ChannelName
    lacks: ChannelName
    effects: Callable[[], int]  # grows whenever the channel really did something
    go_down: Callable[[], None]
    come_back: Callable[[], None]
    audience: Audience = field(default_factory=lambda: Audience(segment_id="loyal"))
    # Another instance of the channel over the same durable receipts (a restarted process).
    restart: Callable[[], Channel] | None = None

    def draft(self, action_id: str = "a1", channel: ChannelName | None = None) -> Action:
        return Action(
            id=action_id,
            proposal_id=f"p-{action_id}",
            kind=ActionKind.SEND_MESSAGE,
            snapshot_version=1,
            channel=channel or self.serves,
            audience=self.audience,
            content=CONTENT,
        )

    def action(self, action_id: str = "a1", channel: ChannelName | None = None) -> Action:
        """A fresh action in ``executing``, the one state a channel runs."""
        return ready(self.draft(action_id, channel))


def ready(action: Action) -> Action:
    action.decide(NOW)
    action.approve(NOW, by="test:approver")
    action.start(NOW)
    return action


def _simulator(_: pytest.FixtureRequest, __: ExitStack) -> tuple[Subject, Channel]:
    market = Market(load_scenario("retail-holiday"), seed=1, customers=2000)
    channel = SimulatorChannel(market)

    def go_down() -> None:
        while market.day < SMS_OUTAGE_DAY:
            channel.advance_day()

    subject = Subject(
        channel=channel,
        serves=ChannelName.SMS,
        lacks=ChannelName.PUSH,
        effects=lambda: int(market.contacts_this_week().sum()),
        go_down=go_down,
        come_back=channel.advance_day,
    )
    return subject, channel


def _recording(_: pytest.FixtureRequest, __: ExitStack) -> tuple[Subject, Channel]:
    channel = RecordingChannel([ChannelName.EMAIL, ChannelName.SMS])

    def switch(down: bool) -> None:
        channel.outage = down

    subject = Subject(
        channel=channel,
        serves=ChannelName.SMS,
        lacks=ChannelName.PUSH,
        effects=lambda: len(channel.executed),
        go_down=lambda: switch(True),
        come_back=lambda: switch(False),
    )
    return subject, channel


def _receipts(request: pytest.FixtureRequest, stack: ExitStack) -> Callable[[], SqlReceiptLog]:
    """Receipt logs, one per channel instance, all on one SQLite database."""
    engine = create_database_engine(str(request.getfixturevalue("sqlite_url")))
    migrate(engine)
    stack.callback(engine.dispose)
    return lambda: SqlReceiptLog(engine)


ADDRESSES = {"c1": "ana@example.com", "c2": "ben@example.com"}


def _smtp(request: pytest.FixtureRequest, stack: ExitStack) -> tuple[Subject, Channel]:
    handler, port = stack.enter_context(mail_server())
    receipts = _receipts(request, stack)

    def build() -> Channel:
        return SmtpChannel(
            "127.0.0.1",
            port,
            "Northwind <news@northwind.example>",
            address_of=lambda ids: {c: ADDRESSES[c] for c in ids if c in ADDRESSES},
            local_hostname="localhost",
            timeout=5,
            receipts=receipts(),
        )

    def switch(down: bool) -> None:
        handler.down = down

    subject = Subject(
        channel=build(),
        serves=ChannelName.EMAIL,
        lacks=ChannelName.SMS,
        effects=lambda: len(handler.received),
        go_down=lambda: switch(True),
        come_back=lambda: switch(False),
        audience=Audience(customer_ids=tuple(ADDRESSES)),
        restart=build,
    )
    return subject, subject.channel


def _webhook(request: pytest.FixtureRequest, stack: ExitStack) -> tuple[Subject, Channel]:
    receiver = stack.enter_context(webhook_receiver("contract-secret"))
    receipts = _receipts(request, stack)

    def build() -> Channel:
        return WebhookChannel(
            receiver.url,
            "contract-secret",
            channels=[ChannelName.SMS, ChannelName.EMAIL],
            timeout=5,
            retries=2,
            sleep=lambda _: None,
            receipts=receipts(),
        )

    def switch(down: bool) -> None:
        receiver.down = down

    subject = Subject(
        channel=build(),
        serves=ChannelName.SMS,
        lacks=ChannelName.PUSH,
        effects=lambda: len(receiver.deliveries),
        go_down=lambda: switch(True),
        come_back=lambda: switch(False),
        restart=build,
    )
    return subject, subject.channel


def _export(request: pytest.FixtureRequest, stack: ExitStack) -> tuple[Subject, Channel]:
    folder: Path = request.getfixturevalue("tmp_path") / "exports"
    aside = folder.with_name("exports-aside")
    receipts = _receipts(request, stack)

    def build() -> Channel:
        return ExportChannel(folder, "csv", channels=[ChannelName.SMS], receipts=receipts())

    def lines() -> int:
        where = aside if aside.is_dir() else folder
        return sum(len(f.read_text().splitlines()) - 1 for f in where.glob("*.csv"))

    def go_down() -> None:  # the folder's path is taken by a file: nothing can be written
        folder.mkdir(exist_ok=True)
        folder.rename(aside)
        folder.write_text("not a folder")

    def come_back() -> None:
        folder.unlink()
        aside.rename(folder)

    subject = Subject(
        channel=build(),
        serves=ChannelName.SMS,
        lacks=ChannelName.PUSH,
        effects=lines,
        go_down=go_down,
        come_back=come_back,
        restart=build,
    )
    return subject, subject.channel


BUILDERS = [_simulator, _recording, _smtp, _webhook, _export]
DURABLE = [_smtp, _webhook, _export]


@pytest.fixture(params=BUILDERS, ids=lambda b: b.__name__.strip("_"))
def subject(request: pytest.FixtureRequest) -> Iterator[Subject]:
    with ExitStack() as stack:
        made, channel = request.param(request, stack)
        stack.callback(channel.close)
        yield made


@pytest.fixture(params=DURABLE, ids=lambda b: b.__name__.strip("_"))
def durable(request: pytest.FixtureRequest) -> Iterator[Subject]:
    with ExitStack() as stack:
        made, channel = request.param(request, stack)
        stack.callback(channel.close)
        yield made


def refused(subject: Subject, action: Action) -> str:
    """Execute ``action``, expecting a plain refusal that changed nothing; return its message."""
    before = subject.effects()
    with pytest.raises(ChannelError) as caught:
        subject.channel.execute(action)
    assert type(caught.value) is ChannelError
    assert subject.effects() == before
    return str(caught.value)


def test_a_channel_names_what_it_serves(subject: Subject) -> None:
    assert subject.serves in subject.channel.channels
    assert subject.lacks not in subject.channel.channels


def test_a_receipt_names_the_action_and_its_key(subject: Subject) -> None:
    action = subject.action()
    receipt = subject.channel.execute(action)
    assert receipt.action_id == action.id
    assert receipt.idempotency_key == action.idempotency_key
    assert receipt.channel is subject.serves
    assert receipt.accepted >= 1
    assert receipt.external_id
    assert not receipt.duplicate
    assert subject.effects() > 0


def test_the_same_key_twice_has_one_effect(subject: Subject) -> None:
    action = subject.action()
    first = subject.channel.execute(action)
    after_first = subject.effects()
    again = subject.channel.execute(action)
    assert again == replace(first, duplicate=True)
    assert subject.effects() == after_first


def test_a_retry_of_an_attempt_that_went_through_is_a_duplicate(subject: Subject) -> None:
    action = subject.action()
    first = subject.channel.execute(action)
    after_first = subject.effects()
    action.fail(NOW, reason="no answer before the timeout")
    action.start(NOW)
    assert subject.channel.execute(action) == replace(first, duplicate=True)
    assert subject.effects() == after_first


def test_an_edited_version_executes_again(subject: Subject) -> None:
    draft = subject.draft()
    edited = draft.edited(at=NOW, by="test:editor", content=replace(CONTENT, body="Now 20% off."))
    first = subject.channel.execute(ready(draft))
    after_first = subject.effects()
    second = subject.channel.execute(ready(edited))
    assert second.idempotency_key == edited.idempotency_key != first.idempotency_key
    assert not second.duplicate
    assert second.external_id != first.external_id
    assert subject.effects() > after_first


@pytest.mark.parametrize("state", ["proposed", "approved", "executed"])
def test_only_an_executing_action_runs(subject: Subject, state: str) -> None:
    action = subject.draft()
    if state != "proposed":
        action.decide(NOW)
        action.approve(NOW, by="test:approver")
    if state == "executed":
        action.start(NOW)
        action.succeed(NOW)
    assert state in refused(subject, action)


def test_a_channel_it_does_not_serve_is_refused(subject: Subject) -> None:
    assert "not served" in refused(subject, subject.action(channel=subject.lacks))


def test_an_action_without_a_channel_is_refused(subject: Subject) -> None:
    insight = ready(
        Action(id="i1", proposal_id="p-i1", kind=ActionKind.INSIGHT, snapshot_version=1)
    )
    assert "no channel" in refused(subject, insight)


def test_a_closed_channel_runs_nothing(subject: Subject) -> None:
    action = subject.action()
    subject.channel.close()
    assert "closed" in refused(subject, action)


def test_closing_twice_is_harmless(subject: Subject) -> None:
    subject.channel.close()
    subject.channel.close()
    assert "closed" in refused(subject, subject.action())


def test_an_outage_does_nothing_and_a_later_retry_runs(subject: Subject) -> None:
    subject.go_down()
    action = subject.action()
    before = subject.effects()
    for _ in range(2):  # an outage is not remembered as an execution: it refuses every time
        with pytest.raises(ChannelUnavailable):
            subject.channel.execute(action)
    assert subject.effects() == before

    action.fail(NOW, reason="channel down")
    subject.come_back()
    action.start(NOW)
    receipt = subject.channel.execute(action)
    assert not receipt.duplicate
    assert receipt.accepted >= 1
    assert subject.effects() > before


def test_a_restarted_channel_answers_from_the_durable_receipts(durable: Subject) -> None:
    """A new process (here: a second instance over the same SQLite database) that executes an
    action the first one carried out returns the first receipt and does nothing new."""
    assert durable.restart is not None
    action = durable.action()
    first = durable.channel.execute(action)
    after_first = durable.effects()
    durable.channel.close()  # the first process is gone

    action.fail(NOW, reason="the worker was killed before it recorded the outcome")
    action.start(NOW)
    restarted = durable.restart()
    try:
        assert restarted.execute(action) == replace(first, duplicate=True)
        assert durable.effects() == after_first
        other = durable.action("a2")
        assert not restarted.execute(other).duplicate
        assert durable.effects() > after_first
    finally:
        restarted.close()
