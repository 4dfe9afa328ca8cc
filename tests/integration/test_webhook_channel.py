"""WebhookChannel against a real HTTP receiver on 127.0.0.1 that checks every signature."""

from __future__ import annotations

import json
import logging
import random
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from mios.channels.payload import action_payload
from mios.channels.receipts import InMemoryReceiptLog
from mios.channels.webhook import WebhookChannel, sign, verify_signature
from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.holdout import Holdout
from mios.domain.money import Money
from mios.domain.proposal import ActionKind, Audience, Content
from mios.errors import ChannelError, ChannelUnavailable, InputError
from tests.support.webhook_receiver import Receiver, webhook_receiver

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SECRET = "whsec-do-not-leak-4f1c"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver(SECRET) as running:
        yield running


def executing(action_id: str = "a1") -> Action:
    action = Action(
        id=action_id,
        proposal_id=f"p-{action_id}",
        kind=ActionKind.SEND_MESSAGE,
        snapshot_version=3,
        channel=ChannelName.SMS,
        audience=Audience(segment_id="loyal", customer_ids=("c1", "c2")),
        content=Content(subject=None, body="Gifts, wrapped. Reply STOP to opt out."),
        spend=Money(Decimal("12.50"), "EUR"),
        parameters={"sender_id": "NORTHWIND"},
    )
    action.decide(NOW)
    action.approve(NOW, by="user:ana")
    action.start(NOW)
    return action


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def channel(receiver: Receiver, **overrides: object) -> WebhookChannel:
    settings: dict[str, object] = {
        "channels": [ChannelName.SMS],
        "timeout": 2.0,
        "retries": 3,
        "backoff": 0.5,
        "sleep": Sleeps(),
        "rng": random.Random(7),
        **overrides,
    }
    return WebhookChannel(receiver.url, SECRET, **settings)  # type: ignore[arg-type]


def test_the_receiver_gets_the_action_signed(receiver: Receiver) -> None:
    action = executing()
    receipt = channel(receiver).execute(action)
    assert receiver.bad_signatures == 0
    assert receiver.deliveries == [action_payload(action)]
    delivered = receiver.deliveries[0]
    assert delivered["idempotency_key"] == action.idempotency_key
    assert delivered["spend"] == {"amount": "12.5", "currency": "EUR"}
    assert delivered["audience"]["customer_ids"] == ["c1", "c2"]
    headers = receiver.headers[0]
    assert headers["Idempotency-Key"] == action.idempotency_key
    assert headers["X-Mios-Signature"].startswith("sha256=")
    assert headers["Content-Type"] == "application/json"
    assert receipt.external_id == "webhook-d1"
    assert receipt.accepted == 1


def test_a_wrong_secret_is_refused_by_the_receiver(receiver: Receiver) -> None:
    wrong = WebhookChannel(receiver.url, "another-secret", channels=[ChannelName.SMS], retries=0)
    with pytest.raises(ChannelError, match="401") as caught:
        wrong.execute(executing())
    assert type(caught.value) is ChannelError  # permanent, not an outage
    assert receiver.bad_signatures == 1
    assert receiver.deliveries == []


def test_failures_are_retried_with_growing_jittered_waits(receiver: Receiver) -> None:
    receiver.fail_first = 3
    sleeps = Sleeps()
    receipt = channel(receiver, sleep=sleeps, retries=3, backoff=1.0).execute(executing())
    assert receipt.accepted == 1
    assert receiver.requests == 4
    assert len(receiver.deliveries) == 1
    assert len(sleeps.waits) == 3
    for n, wait in enumerate(sleeps.waits):  # ceiling 1, 2, 4 s; at least half of it
        ceiling = 1.0 * 2**n
        assert ceiling / 2 <= wait <= ceiling
    # The same seed gives the same waits: jitter is reproducible in tests.
    receiver.fail_first = 3
    again = Sleeps()
    channel(receiver, sleep=again, retries=3, backoff=1.0).execute(executing("a2"))
    assert again.waits == sleeps.waits


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_busy_and_broken_answers_are_retried(receiver: Receiver, status: int) -> None:
    receiver.fail_first, receiver.fail_status = 1, status
    channel(receiver).execute(executing())
    assert receiver.requests == 2
    assert len(receiver.deliveries) == 1


def test_retry_after_is_honoured_up_to_the_cap(receiver: Receiver) -> None:
    receiver.fail_first, receiver.fail_status, receiver.retry_after = 2, 429, "7"
    sleeps = Sleeps()
    channel(receiver, sleep=sleeps, max_backoff=5.0).execute(executing())
    assert sleeps.waits == [5.0, 5.0]


@pytest.mark.parametrize("status", [400, 403, 404, 410, 422])
def test_a_refusal_is_permanent_and_not_retried(receiver: Receiver, status: int) -> None:
    receiver.status = status
    webhook = channel(receiver)
    with pytest.raises(ChannelError, match=str(status)) as caught:
        webhook.execute(executing())
    assert type(caught.value) is ChannelError
    assert receiver.requests == 1
    receiver.status = None  # nothing was recorded: once the receiver takes it, it runs
    assert not webhook.execute(executing()).duplicate


def test_exhausted_retries_are_an_outage_that_a_later_retry_gets_through(
    receiver: Receiver,
) -> None:
    receiver.down = True
    webhook = channel(receiver, retries=2)
    action = executing()
    with pytest.raises(ChannelUnavailable, match="3 attempts"):
        webhook.execute(action)
    assert receiver.requests == 3
    receiver.down = False
    action.fail(NOW, reason="receiver down")
    action.start(NOW)
    assert webhook.execute(action).accepted == 1
    assert webhook.execute(action).duplicate
    assert len(receiver.deliveries) == 1


def test_a_timeout_is_retried_under_the_same_idempotency_key(receiver: Receiver) -> None:
    receiver.stall_first, receiver.stall = 1, 0.6
    action = executing()
    receipt = channel(receiver, timeout=0.2).execute(action)
    assert receipt.accepted == 1
    # The stalled request still landed: a timeout proves nothing, so the receiver sees the
    # action twice under one key and keeps one.
    deadline = time.monotonic() + 5
    while len(receiver.deliveries) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert receiver.keys == [action.idempotency_key, action.idempotency_key]


def test_connection_refused_is_an_outage() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    webhook = WebhookChannel(
        f"http://127.0.0.1:{port}/hook",
        SECRET,
        channels=[ChannelName.SMS],
        retries=1,
        sleep=lambda _: None,
    )
    with pytest.raises(ChannelUnavailable, match="ConnectionRefusedError"):
        webhook.execute(executing())


def test_the_secret_is_never_logged_nor_kept(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.fail_first = 1
    receipts = InMemoryReceiptLog()
    webhook = channel(receiver, receipts=receipts)
    receipt = webhook.execute(executing())
    receiver.down = True
    with pytest.raises(ChannelUnavailable) as caught:
        channel(receiver, retries=1).execute(executing("a2"))
    shown = [caplog.text, repr(receipt), repr(webhook), str(caught.value)]
    assert "attempt 1 of 4 failed: 503" in caplog.text
    for text in shown:
        assert SECRET not in text
        assert "token=abc" not in text  # the URL's query may carry a token too
    assert receipts.get(receipt.idempotency_key) == receipt


def test_verify_signature_checks_secret_body_time_and_form() -> None:
    body = b'{"id":"a1"}'
    header = sign(SECRET, "1700000000", body)
    assert verify_signature(SECRET, "1700000000", body, header, now=1700000100)
    assert not verify_signature("other", "1700000000", body, header, now=1700000100)
    assert not verify_signature(SECRET, "1700000000", b'{"id":"a2"}', header, now=1700000100)
    assert not verify_signature(SECRET, "1700000001", body, header, now=1700000100)
    # Outside the replay window, either way.
    assert not verify_signature(SECRET, "1700000000", body, header, tolerance=60, now=1700000100)
    assert not verify_signature(SECRET, "1700000000", body, header, now=1699999000)
    assert not verify_signature(SECRET, "yesterday", body, header, now=1700000100)
    assert not verify_signature(SECRET, "1700000000", body, header[7:], now=1700000100)
    assert not verify_signature(SECRET, "1700000000", body, "sha256=zz", now=1700000100)


def test_each_attempt_is_signed_afresh(receiver: Receiver) -> None:
    start = datetime.now(UTC)
    ticks = iter([start + timedelta(seconds=s) for s in range(10)])
    receiver.fail_first = 1
    channel(receiver, clock=lambda: next(ticks)).execute(executing())
    stamps = [h["X-Mios-Timestamp"] for h in receiver.headers]
    assert len(set(stamps)) == 2
    assert receiver.bad_signatures == 0
    body = json.dumps(receiver.deliveries[0], sort_keys=True, separators=(",", ":")).encode()
    assert receiver.headers[1]["X-Mios-Signature"] == sign(SECRET, stamps[1], body)


@pytest.mark.parametrize(
    ("url", "secret", "field"),
    [
        ("ftp://example.com/x", SECRET, "url"),
        ("http://example.com:99999/", SECRET, "url"),
        ("https://example.com/", "", "secret"),
    ],
)
def test_bad_settings_are_input_errors(url: str, secret: str, field: str) -> None:
    with pytest.raises(InputError, match=field):
        WebhookChannel(url, secret, channels=[ChannelName.SMS])


def test_the_holdout_is_passed_on_and_the_receivers_count_kept(receiver: Receiver) -> None:
    receiver.applies_holdouts = True
    customers = tuple(f"c{i}" for i in range(50))
    action = executing()
    action.audience = Audience(customer_ids=customers)
    action.parameters = {"holdout_share": 0.2, "experiment_id": "exp-w"}

    receipt = channel(receiver).execute(action)

    assert receiver.deliveries[0]["parameters"] == action.parameters
    held = {c for c in customers if Holdout("exp-w", 0.2).holds_out(c)}
    assert receiver.sent_to == [[c for c in customers if c not in held]]
    assert (receipt.accepted, receipt.held_out) == (len(customers) - len(held), len(held))


def test_a_receiver_that_says_nothing_of_a_holdout_held_out_nobody(receiver: Receiver) -> None:
    assert channel(receiver).execute(executing()).held_out == 0
