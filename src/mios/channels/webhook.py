"""``WebhookChannel``: each action POSTed as signed JSON to one URL, for any external system.

The body is ``payload.payload_json(action)``. Every request carries

- ``X-Mios-Timestamp``: Unix seconds when it was signed (each attempt is signed afresh);
- ``X-Mios-Signature``: ``sha256=`` + hex HMAC-SHA256 of ``timestamp + "." + body`` under the
  shared secret; a receiver checks it with ``verify_signature``;
- ``Idempotency-Key``: the action's key, the same on every attempt, so a receiver drops a
  request it has already taken (a timeout does not prove the first one was lost).

Answers: 2xx is delivered; 408, 429, 5xx, timeouts and connection errors are retried with
exponential backoff and jitter (``Retry-After`` honoured up to ``max_backoff``); after
``retries`` retries the action raises ``ChannelUnavailable`` and no receipt is recorded, so a
later retry runs it again. Any other answer (4xx, a redirect) is a permanent ``ChannelError``.

An experiment's holdout travels in the body's ``parameters`` (``holdout_share``,
``experiment_id``) for the receiver to apply with the same draw (``mios.domain.holdout``); its
answer ``{"accepted": n, "held_out": m}`` says how many it sent and kept out (``held_out``
defaults to 0, and then measurement finds no holdout to compare with).

The secret is never logged, never put in a receipt or an error, and not shown by ``repr``.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import random
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from mios.__about__ import __version__
from mios.channels.payload import payload_json
from mios.channels.port import Receipt, admit, replay
from mios.channels.receipts import InMemoryReceiptLog, ReceiptLog, record_once
from mios.domain.action import Action
from mios.domain.canonical import sha256_hex
from mios.domain.channel import ChannelName
from mios.errors import ChannelError, ChannelUnavailable, InputError

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Mios-Signature"
TIMESTAMP_HEADER = "X-Mios-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: Statuses worth another try: the receiver is busy or broken now, not refusing the action.
_RETRYABLE = frozenset({408, 429})


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Mios-Signature`` value for ``body`` sent at ``timestamp``."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    digest = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str | bytes,
    timestamp: str,
    body: bytes,
    header: str,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """Whether ``header`` signs ``body`` at ``timestamp`` under ``secret``, and ``timestamp`` is
    within ``tolerance`` seconds of ``now`` (default: the current time), so a captured request
    cannot be replayed later. The digests are compared in constant time."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance:
        return False
    if not timestamp.isascii():
        return False
    return hmac.compare_digest(sign(secret, timestamp, body).encode(), header.strip().encode())


class WebhookChannel:
    """POSTs actions on ``channels`` to ``url``.

    ``retries`` more attempts after the first, waiting ``backoff * 2**n`` seconds (capped at
    ``max_backoff``, half of it random jitter from ``rng``) before retry ``n + 1``; ``sleep`` and
    ``rng`` are injectable so tests neither wait nor vary. ``receipts`` defaults to an in-memory
    log; give a durable one (``SqlReceiptLog``) so a restarted process does not deliver again.
    """

    def __init__(
        self,
        url: str,
        secret: str | bytes,
        *,
        channels: Iterable[ChannelName],
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        receipts: ReceiptLog | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError as exc:
            raise InputError.at(f"not a valid port in {_shown(url)!r}", field="url") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError.at(f"must be an http(s) URL, got {_shown(url)!r}", field="url")
        if not secret:
            raise InputError.at("must not be empty", field="secret")
        if retries < 0 or timeout <= 0 or backoff < 0 or max_backoff < 0:
            raise InputError.at("retries and backoff must be >= 0 and timeout > 0", field="retries")
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = port
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._where = _shown(url)
        self._secret = secret.encode("utf-8") if isinstance(secret, str) else secret
        self._channels = frozenset(channels)
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._receipts: ReceiptLog = receipts if receipts is not None else InMemoryReceiptLog()
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._clock = clock
        self._closed = False

    def __repr__(self) -> str:
        return f"WebhookChannel({self._where!r}, channels={sorted(self._channels)})"

    @property
    def channels(self) -> frozenset[ChannelName]:
        return self._channels

    def execute(self, action: Action) -> Receipt:
        channel = admit(action, self._channels, closed=self._closed)
        seen = replay(self._receipts, action)
        if seen is not None:
            return seen
        answer = self._deliver(action, payload_json(action))
        receipt = Receipt(
            action_id=action.id,
            idempotency_key=action.idempotency_key,
            channel=channel,
            accepted=_accepted(answer),
            external_id=_external_id(answer, action.idempotency_key),
            held_out=_count(answer, "held_out", 0),
        )
        return record_once(self._receipts, receipt, self._clock())

    def close(self) -> None:
        self._closed = True

    def _deliver(self, action: Action, body: bytes) -> bytes:
        """The body of the first 2xx answer; raises once the answers say to stop."""
        failure = ""
        asked: float | None = None  # the receiver's Retry-After, in seconds
        for attempt in range(self._retries + 1):
            if attempt:
                self._sleep(self._delay(attempt, asked))
            asked = None
            try:
                status, reason, retry_after, answer = self._post(action, body)
            except (OSError, http.client.HTTPException) as exc:
                failure = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if 200 <= status < 300:
                    return answer
                if status not in _RETRYABLE and status < 500:
                    raise ChannelError(
                        f"action {action.id}: {self._where} refused it with {status} {reason}"
                    )
                failure, asked = f"{status} {reason}", retry_after
            log.warning(
                "webhook %s: action %s attempt %d of %d failed: %s",
                self._where,
                action.id,
                attempt + 1,
                self._retries + 1,
                failure,
            )
        raise ChannelUnavailable(
            f"action {action.id}: {self._where} did not take it after "
            f"{self._retries + 1} attempts (last: {failure})"
        )

    def _delay(self, attempt: int, asked: float | None) -> float:
        """Exponential backoff with equal jitter; a ``Retry-After`` the receiver sent wins when
        it is longer, up to ``max_backoff``."""
        ceiling = min(self._max_backoff, self._backoff * 2.0 ** (attempt - 1))
        delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        if asked is not None:
            delay = max(delay, min(asked, self._max_backoff))
        return delay

    def _post(self, action: Action, body: bytes) -> tuple[int, str, float | None, bytes]:
        timestamp = str(int(self._clock().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"mios/{__version__}",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
            IDEMPOTENCY_HEADER: action.idempotency_key,
        }
        connection: http.client.HTTPConnection
        if self._scheme == "https":
            connection = http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout)
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        try:
            connection.request("POST", self._target, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read(64 * 1024)
            return response.status, response.reason, _seconds(response), answer
        finally:
            connection.close()


def _seconds(response: http.client.HTTPResponse) -> float | None:
    value = response.getheader("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare for webhooks; the backoff applies


def _answer(answer: bytes) -> dict[str, object]:
    try:
        parsed = json.loads(answer)
    except (ValueError, UnicodeDecodeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _accepted(answer: bytes) -> int:
    """What the receiver says it took (``{"accepted": n}``); otherwise the action, as one."""
    return _count(answer, "accepted", 1)


def _count(answer: bytes, name: str, otherwise: int) -> int:
    """The whole number >= 0 the receiver answered under ``name``, else ``otherwise``."""
    value = _answer(answer).get(name)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return otherwise


def _external_id(answer: bytes, key: str) -> str:
    """The receiver's own id for the delivery (``{"id": ...}``), else one derived from the key."""
    value = _answer(answer).get("id")
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return f"webhook-{value}"
    return f"webhook-{sha256_hex(key)[:16]}"


def _shown(url: str) -> str:
    """The URL without credentials or query string, which may carry tokens: for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
