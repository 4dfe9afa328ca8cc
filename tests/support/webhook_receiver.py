"""A real HTTP receiver on 127.0.0.1 that checks mios webhook signatures, for channel tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mios.channels.webhook import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify_signature,
)
from mios.domain.holdout import holdout_draw


@dataclass
class Receiver:
    """Counts what it took. ``fail_first``: that many next requests get ``fail_status``;
    ``down``: every request gets 503; ``status``: answer every request with it instead of 200.
    Requests with a bad signature get 401 and are counted in ``bad_signatures``.
    ``applies_holdouts``: hold out the listed customers as documented (``holdout_draw``) and
    answer how many were sent and held out, as an email platform would."""

    secret: str
    url: str = ""
    fail_first: int = 0
    fail_status: int = 503
    down: bool = False
    status: int | None = None
    retry_after: str | None = None
    stall_first: int = 0  # that many next requests are answered only after ``stall`` seconds
    stall: float = 0.0
    applies_holdouts: bool = False
    sent_to: list[list[str]] = field(default_factory=list)
    requests: int = 0
    bad_signatures: int = 0
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        with self.lock:
            self.requests += 1
            self.headers.append(headers)
            signed = verify_signature(
                self.secret,
                headers.get(TIMESTAMP_HEADER, ""),
                body,
                headers.get(SIGNATURE_HEADER, ""),
                tolerance=300,
            )
            if not signed:
                self.bad_signatures += 1
                return 401, b'{"error": "bad signature"}'
            if self.down:
                return 503, b""
            if self.fail_first > 0:
                self.fail_first -= 1
                return self.fail_status, b""
            if self.status is not None:
                return self.status, b'{"error": "refused"}'
            self.deliveries.append(json.loads(body))
            self.keys.append(headers.get(IDEMPOTENCY_HEADER, ""))
            answer: dict[str, Any] = {"id": f"d{len(self.deliveries)}"}
            if self.applies_holdouts:
                answer |= self._hold_out(self.deliveries[-1])
            return 200, json.dumps(answer).encode()

    def _hold_out(self, action: dict[str, Any]) -> dict[str, int]:
        parameters = action["parameters"]
        share = parameters.get("holdout_share", 0)
        experiment = parameters.get("experiment_id", action["id"])
        listed = action["audience"]["customer_ids"]
        sent = [c for c in listed if holdout_draw(experiment, c) >= share]
        self.sent_to.append(sent)
        return {"accepted": len(sent), "held_out": len(listed) - len(sent)}


@contextmanager
def webhook_receiver(secret: str) -> Iterator[Receiver]:
    receiver = Receiver(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                stall = receiver.stall if receiver.stall_first > 0 else 0.0
                receiver.stall_first -= 1 if stall else 0
            time.sleep(stall)  # the sender may have given up; the request still lands
            status, answer = receiver.answer(dict(self.headers.items()), body)
            try:
                self.send_response(status)
                if status in (429, 503) and receiver.retry_after is not None:
                    self.send_header("Retry-After", receiver.retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except OSError:
                pass  # the sender timed out and hung up

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet tests

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/mios?token=abc"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
