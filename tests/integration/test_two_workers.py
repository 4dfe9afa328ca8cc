"""Two ``mios worker`` processes on one PostgreSQL database share a queue of 1,000 approved
sends: every idempotency key reaches the channel exactly once (0 duplicates, 0 losses), and
both workers take part. The channel writes one line per call and dedupes nothing.

Needs ``MIOS_TEST_DATABASE_URL``; each run gets a database of its own, dropped afterwards."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import PG_ENV, PG_SKIP
from tests.support.queue_workers import run_fleet

ACTIONS = 1_000
pytestmark = pytest.mark.slow


def test_two_workers_execute_every_action_exactly_once(tmp_path: Path) -> None:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(PG_SKIP)

    result = run_fleet(url, tmp_path, ACTIONS, workers=2)

    assert result.duplicates == 0
    assert result.losses == 0
    assert result.calls == ACTIONS
    assert result.states == {"executed": ACTIONS}
    assert result.receipts == ACTIONS
    assert result.workflows == {"SUCCESS": ACTIONS}
    assert len(result.by_worker) == 2, result.by_worker  # both workers took part
