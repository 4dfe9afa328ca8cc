"""Whether what a later cycle measured bears out an earlier learning of the same cell.

A cell learning (``learning.learn``, id ``<cycle id>:cell:<segment/channel/offer/angle>``)
claims a conversion rate, stated in its insight: ``s`` conversions from ``t`` messages. When a
later cycle measures the same cell with ``n`` messages and ``k`` conversions, the claim is put
to a posterior predictive check. The claimed rate has the posterior Beta(1 + s, 1 + t - s) (a
uniform prior updated by the claim), so the conversions of ``n`` new messages follow the
beta-binomial (n, 1 + s, 1 + t - s):

    k inside its central 95% interval    consistent: the learning is validated, its claim
                                         becomes the pooled count (s + k from t + n) and its
                                         confidence comes from the pooled messages
    k outside                            the learning is refuted, with the cycle's counts and
                                         the interval in its insight; its confidence becomes the
                                         check's two-sided predictive p-value (below 0.05)
    either side under ``MIN_TRIALS``     no verdict: the learning stays as it is (a handful of
                                         messages has an interval so wide that nearly any claim
                                         would pass)

A review adds ``cycle:<id>`` and the cycle's actions in the cell to the evidence. A learning
whose evidence already names the cycle is not checked again, so a learn step that runs again
after a crash writes nothing twice. A refuted learning is final (``Learning.refuted``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from scipy import stats

from mios.domain.outcome import Learning, LearningStatus
from mios.lifecycle.cycle_store import CellCount

#: The central share of the predictive distribution a consistent count falls in.
LEVEL = 0.95
#: Messages each side needs (the claim and the new cycle) before a check decides anything.
MIN_TRIALS = 100
#: What separates a cell learning's id from the cell it is about.
CELL = ":cell:"

#: The claim in a cell learning's insight, as ``claim_text`` writes it.
_CLAIM = re.compile(
    r"(?P<s>\d+) conversions from (?P<t>\d+) messages \([^)]*\), revenue (?P<r>-?\d+(?:\.\d+)?)"
)


@dataclass(frozen=True)
class Claim:
    """What a cell learning says was measured: conversions from messages, and their revenue."""

    successes: int
    trials: int
    revenue: Decimal

    @property
    def rate(self) -> float:
        return self.successes / self.trials if self.trials else 0.0

    def pooled(self, cell: CellCount) -> Claim:
        return Claim(
            self.successes + cell.successes, self.trials + cell.trials, self.revenue + cell.revenue
        )


@dataclass(frozen=True)
class PredictiveCheck:
    """New conversions against a claim's predictive distribution for the new messages."""

    successes: int
    trials: int
    low: int  # the central ``level`` interval of conversions, both ends included
    high: int
    level: float
    p_value: float  # two-sided: twice the smaller tail at ``successes``, at most 1

    @property
    def consistent(self) -> bool:
        return self.low <= self.successes <= self.high


def claim_text(claim: Claim) -> str:
    """The claim as a cell learning's insight states it (``claim_of`` reads it back)."""
    return (
        f"{claim.successes} conversions from {claim.trials} messages ({claim.rate:.2%}), "
        f"revenue {claim.revenue:.2f}"
    )


def claim_of(insight: str) -> Claim | None:
    """The claim a cell learning's insight states, or ``None`` if it states none."""
    found = _split(insight)
    return found[1] if found is not None else None


def _split(insight: str) -> tuple[str, Claim] | None:
    """What an insight says before its claim (which cell), and the claim."""
    found = _CLAIM.search(insight)
    if found is None:
        return None
    claim = Claim(int(found["s"]), int(found["t"]), Decimal(found["r"]))
    return insight[: found.start()], claim


def cell_of(learning_id: str) -> str | None:
    """``segment/channel/offer/angle`` of a cell learning's id, else ``None``."""
    _, separator, cell = learning_id.partition(CELL)
    return cell if separator and cell else None


def predictive_check(
    claim: Claim, successes: int, trials: int, level: float = LEVEL
) -> PredictiveCheck | None:
    """``successes`` of ``trials`` new messages against ``claim`` (see the module docstring);
    ``None`` when either side has fewer than ``MIN_TRIALS`` messages."""
    if claim.trials < MIN_TRIALS or trials < MIN_TRIALS:
        return None
    predictive = stats.betabinom(trials, 1 + claim.successes, 1 + claim.trials - claim.successes)
    tail = (1 - level) / 2
    below = float(predictive.cdf(successes))
    above = float(predictive.sf(successes - 1))
    return PredictiveCheck(
        successes,
        trials,
        int(predictive.ppf(tail)),
        int(predictive.ppf(1 - tail)),
        level,
        min(1.0, 2 * min(below, above)),
    )


def review(
    learning: Learning,
    cell: CellCount,
    evidence: Sequence[str],
    cycle_id: str,
    at: datetime,
    half_confidence_sends: int,
) -> Learning | None:
    """``learning`` validated or refuted by what ``cycle_id`` measured in ``cell`` (with the
    cycle's ``evidence`` there), or ``None`` when there is nothing to decide: the learning is
    refuted already, was reviewed by this cycle already, states no claim, or a side is too small.
    Confidence of a validated learning is ``pooled messages / (pooled + half_confidence_sends)``,
    as a new cell learning's is."""
    marker = f"cycle:{cycle_id}"
    if learning.status is LearningStatus.REFUTED or marker in learning.evidence:
        return None
    stated = _split(learning.insight)
    if stated is None:
        return None
    head, claim = stated
    check = predictive_check(claim, cell.successes, cell.trials)
    if check is None:
        return None
    seen = f"{check.successes} of {check.trials} converted ({check.successes / check.trials:.2%})"
    interval = f"the {check.level:.0%} predictive interval of {check.low} to {check.high}"
    when = max(at, learning.created_at)
    if check.consistent:
        pooled = claim.pooled(cell)
        cycles = 2 + sum(e.startswith("cycle:") for e in learning.evidence)
        insight = (
            f"{head}{claim_text(pooled)}; validated by {cycle_id}: {seen}, inside {interval}; "
            f"pooled over {cycles} cycles"
        )
        confidence = pooled.trials / (pooled.trials + half_confidence_sends)
        reviewed = learning.validated(when, (marker, *evidence), confidence)
    else:
        insight = (
            f"{head}{claim_text(claim)}; refuted by {cycle_id}: {seen}, outside {interval} "
            f"(p = {check.p_value:.2g})"
        )
        reviewed = learning.refuted(when, (marker, *evidence), check.p_value)
    return replace(reviewed, insight=insight)


def review_cells(
    earlier: Iterable[Learning],
    cells: Iterable[CellCount],
    evidence: Mapping[tuple[str, str, str, str], Sequence[str]],
    cycle_id: str,
    at: datetime,
    half_confidence_sends: int,
) -> list[Learning]:
    """Every learning of ``earlier`` about a cell in ``cells`` (other than the cycle's own),
    reviewed by what ``cycle_id`` measured there; those with nothing to decide are left out.
    ``evidence`` holds the cycle's evidence per cell key."""
    measured = {"/".join(cell.key): cell for cell in cells}
    out = []
    for learning in earlier:
        cell = measured.get(cell_of(learning.id) or "")
        if cell is None or learning.cycle_id == cycle_id:
            continue
        found = review(
            learning, cell, evidence.get(cell.key, ()), cycle_id, at, half_confidence_sends
        )
        if found is not None:
            out.append(found)
    return out
