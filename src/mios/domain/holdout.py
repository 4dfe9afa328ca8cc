"""Who an experiment holds out: one deterministic draw per (experiment id, customer id).

A send that tests itself carries ``parameters["holdout_share"]`` (a number from 0 to 0.9) and
``parameters["experiment_id"]`` (text; the action's id when absent). A customer of its audience
is held out, and gets nothing, when

    draw = first 8 bytes of SHA-256(experiment_id + "\\n" + customer_id), big-endian, / 2**64
    held out  <=>  draw < holdout_share

so a connector that applies the holdout itself (SMTP) and an external system that applies the
parameters a webhook or an export passes on (``holdout_draw`` in any language) hold out the same
customers, on every retry and every day the experiment runs, whatever else the audience holds.
The draw ignores the share, so a larger share holds out a superset of a smaller one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mios.errors import DomainError

#: The parameters a send's holdout is read from.
HOLDOUT_SHARE = "holdout_share"
EXPERIMENT_ID = "experiment_id"
#: The largest share a send may hold out (the simulated market's limit too): a test that keeps
#: almost everyone out no longer sends anything worth measuring.
MAX_HOLDOUT_SHARE = 0.9
_SCALE = float(2**64)


def holdout_draw(experiment_id: str, customer_id: str) -> float:
    """The customer's uniform number in [0, 1) for the experiment (see the module docstring)."""
    digest = hashlib.sha256(f"{experiment_id}\n{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


@dataclass(frozen=True)
class Holdout:
    """A share of an action's audience kept out, as experiment ``experiment_id``."""

    experiment_id: str
    share: float

    def holds_out(self, customer_id: str) -> bool:
        return holdout_draw(self.experiment_id, customer_id) < self.share


def holdout_of(action_id: str, parameters: Mapping[str, Any]) -> Holdout | None:
    """The holdout action ``action_id``'s parameters ask for, or ``None`` when they ask for
    none (no ``holdout_share``, or 0). ``DomainError`` naming the parameter if one is malformed."""
    share = parameters.get(HOLDOUT_SHARE, 0.0)
    if (
        not isinstance(share, int | float)
        or isinstance(share, bool)
        or not 0 <= share <= MAX_HOLDOUT_SHARE
    ):
        raise DomainError(
            f"action {action_id}: parameters.{HOLDOUT_SHARE} must be a number from 0 to "
            f"{MAX_HOLDOUT_SHARE}, got {share!r}"
        )
    experiment = parameters.get(EXPERIMENT_ID, action_id)
    if not isinstance(experiment, str) or not experiment.strip():
        raise DomainError(f"action {action_id}: parameters.{EXPERIMENT_ID} must be non-empty text")
    if share == 0:
        return None
    return Holdout(experiment, float(share))
