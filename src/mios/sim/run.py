"""Run a reference policy on a market for some days: the handler behind ``mios sim run``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mios.domain.outcome import Outcome
from mios.errors import MarketError
from mios.sim.market import Market
from mios.sim.policies import make_policy
from mios.sim.scenario import Scenario
from mios.sim.totals import Totals

MAX_DAYS = 3660


@dataclass(frozen=True)
class RunResult:
    scenario: str
    policy: str
    seed: int
    totals: Totals
    digest: str  # SHA-256 of every outcome event in order: equal inputs give an equal digest

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "policy": self.policy,
            "seed": self.seed,
            **self.totals.as_dict(),
            "outcome_digest": self.digest,
        }


def outcome_line(outcome: Outcome) -> bytes:
    """One outcome as canonical bytes, for digests that prove two runs identical."""
    record = {
        "id": outcome.id,
        "kind": str(outcome.kind),
        "at": outcome.at.isoformat(),
        "action": outcome.action_id,
        "customer": outcome.customer_id,
        "channel": None if outcome.channel is None else str(outcome.channel),
        "value": None if outcome.value is None else str(outcome.value.amount),
        "count": outcome.count,
        "attributes": outcome.attributes,
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def digest_outcomes(outcomes: Iterable[Outcome], into: Any) -> None:
    for outcome in outcomes:
        into.update(outcome_line(outcome))


def run_policy(
    scenario: Scenario,
    policy: str,
    *,
    days: int,
    seed: int = 0,
    customers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Run ``policy`` for ``days`` days on a fresh market; ``progress(day)`` after each day."""
    if not 1 <= days <= MAX_DAYS:
        raise MarketError(f"days must be from 1 to {MAX_DAYS}, got {days}")
    market = Market(scenario, seed, customers)
    chooser = make_policy(policy, seed)
    digest = hashlib.sha256()
    for day in range(days):
        digest_outcomes(market.step(chooser.actions(market, day), day), digest)
        if progress is not None:
            progress(day + 1)
    return RunResult(scenario.name, policy, seed, market.totals(), digest.hexdigest())
