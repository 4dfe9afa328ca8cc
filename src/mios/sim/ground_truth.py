"""The one door to a market's ground truth, for the oracle policy, tests and benchmarks.

Nothing in agents, the brain, governance, the lifecycle or measurement may import this module or
``mios.sim.truth``; ``tests/unit/sim/test_truth_is_hidden.py`` checks every import in the source.
"""

from __future__ import annotations

from mios.sim.market import Market
from mios.sim.truth import GroundTruth


def ground_truth(market: Market) -> GroundTruth:
    return market._truth
