"""One contract for every Channel: the simulated market and the in-memory recording channel."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from mios.channels.memory import RecordingChannel
from mios.channels.port import Channel
from mios.channels.simulator import SimulatorChannel
from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.proposal import ActionKind, Audience, Content
from mios.errors import ChannelError, ChannelUnavailable
from mios.sim.market import Market
from mios.sim.scenario import load_scenario

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

    def draft(self, action_id: str = "a1", channel: ChannelName | None = None) -> Action:
        return Action(
            id=action_id,
            proposal_id=f"p-{action_id}",
            kind=ActionKind.SEND_MESSAGE,
            snapshot_version=1,
            channel=channel or self.serves,
            audience=Audience(segment_id="loyal"),
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


def _simulator() -> tuple[Subject, Channel]:
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


def _recording() -> tuple[Subject, Channel]:
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


@pytest.fixture(params=[_simulator, _recording], ids=["simulator", "recording"])
def subject(request: pytest.FixtureRequest) -> Iterator[Subject]:
    made, channel = request.param()
    yield made
    channel.close()


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
