"""Channels: where approved actions leave mios and reach the world.

``Channel`` is the port the lifecycle talks to and ``Receipt`` what it gets back (``port``).
Implementations live one per module and are wired in by ``mios.bootstrap``:

- ``simulator.SimulatorChannel`` carries actions out in the simulated market;
- ``smtp.SmtpChannel`` sends email, one multipart message per recipient with tracking ids;
- ``webhook.WebhookChannel`` posts signed (HMAC-SHA256) JSON to any external system;
- ``export.ExportChannel`` appends CSV or JSONL lines for another system to pick up;
- ``memory.RecordingChannel`` records them, for tests of the lifecycle.

Each keeps its receipts in a ``receipts.ReceiptLog`` (durable in SQL), so an action executed
again after a crash finds its first receipt and does nothing new (docs/channels.md).

Only the port is re-exported here, so code that depends on the port never imports an adapter.
"""

from __future__ import annotations

from mios.channels.port import Channel, Receipt, admit

__all__ = ["Channel", "Receipt", "admit"]
