"""Channels: where approved actions leave mios and reach the world.

``Channel`` is the port the lifecycle talks to and ``Receipt`` what it gets back (``port``).
Implementations live one per module and are wired in by ``mios.bootstrap``:

- ``simulator.SimulatorChannel`` carries actions out in the simulated market;
- ``memory.RecordingChannel`` records them, for tests of the lifecycle.

Only the port is re-exported here, so code that depends on the port never imports an adapter.
"""

from __future__ import annotations

from mios.channels.port import Channel, Receipt, admit

__all__ = ["Channel", "Receipt", "admit"]
