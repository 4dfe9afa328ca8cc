"""Which action caused an outcome, and how much an action really added.

Two rules, documented in docs/measurement.md:

* **Tracking ids.** A send carries a tracking id (in a link, a header, a coupon); an outcome
  that comes back with that tracking id belongs to the action whose send carried it. The
  lifecycle passes the mapping tracking id -> action id. An outcome that already names its
  action keeps it; if its tracking id points elsewhere, the outcome is listed as a conflict.
  Outcomes with no action afterwards are organic: the baseline nobody caused on purpose.
* **Holdout incrementality.** Where an experiment kept a random holdout out of the audience,
  last-touch credit overstates the action (some treated customers would have bought anyway).
  Incremental conversions = (treated rate - holdout rate) x treated size, with an interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from statistics import NormalDist

from mios.domain.money import Money
from mios.domain.outcome import Outcome, OutcomeKind
from mios.errors import DomainError

#: ``attributes["arm"]`` values of an experiment's arms (the simulator writes ``treatment``).
TREATMENT_ARMS = frozenset({"treatment", "treated", "variant"})
HOLDOUT_ARM = "holdout"


@dataclass(frozen=True)
class Attribution:
    """Outcomes with the action each is credited to (``action_id``; ``None``: organic)."""

    outcomes: tuple[Outcome, ...]
    by_tracking: int  # outcomes whose action came from their tracking id
    organic: int  # outcomes with no action: the baseline
    holdout: int  # outcomes of a holdout arm: they name an action that never reached them
    unknown_tracking: tuple[str, ...]  # tracking ids no known send carried, sorted
    conflicts: tuple[str, ...]  # ids of outcomes whose tracking id names another action


def attribute(outcomes: Iterable[Outcome], tracking: Mapping[str, str]) -> Attribution:
    """Credit each outcome to an action: its own ``action_id`` first, else its tracking id's."""
    credited: list[Outcome] = []
    by_tracking = organic = holdout = 0
    unknown: set[str] = set()
    conflicts: list[str] = []
    for given in outcomes:
        outcome = given
        sent_by = None if given.tracking_id is None else tracking.get(given.tracking_id)
        if given.tracking_id is not None and sent_by is None:
            unknown.add(given.tracking_id)
        if given.action_id is None and sent_by is not None:
            outcome = replace(given, action_id=sent_by)
            by_tracking += 1
        elif given.action_id is not None and sent_by not in (None, given.action_id):
            conflicts.append(given.id)
        if outcome.action_id is None:
            organic += 1
        elif is_holdout(outcome):
            holdout += 1
        credited.append(outcome)
    return Attribution(
        tuple(credited), by_tracking, organic, holdout, tuple(sorted(unknown)), tuple(conflicts)
    )


def is_holdout(outcome: Outcome) -> bool:
    return outcome.attributes.get("arm") == HOLDOUT_ARM


def caused_by(outcome: Outcome) -> str | None:
    """The action that caused ``outcome``: ``None`` for organic and holdout-arm outcomes."""
    return None if is_holdout(outcome) else outcome.action_id


@dataclass(frozen=True)
class Incrementality:
    """What an experiment's treatment added over its holdout.

    Rates are conversions per arm member. ``interval`` bounds ``incremental_conversions`` at
    ``confidence``. ``incremental_revenue`` is a point estimate only: the outcomes carry each
    arm's revenue summed, not per customer, so its variance is unknown.
    """

    experiment_id: str
    treated_size: int
    holdout_size: int
    treated_conversions: int
    holdout_conversions: int
    treated_rate: float
    holdout_rate: float
    lift: float  # treated rate - holdout rate
    relative_lift: float | None  # lift / holdout rate; None when the holdout never converted
    incremental_conversions: float
    interval: tuple[float, float]
    confidence: float
    incremental_revenue: Money | None


def incrementality(
    outcomes: Iterable[Outcome],
    experiment_id: str,
    *,
    treated_size: int,
    holdout_size: int,
    confidence: float = 0.95,
) -> Incrementality:
    """Read one experiment's conversions per arm out of ``outcomes`` (those whose
    ``attributes["experiment_id"]`` is ``experiment_id``) and estimate the lift.

    The interval is Agresti-Caffo's for a difference of two proportions (one pseudo-success
    and one pseudo-failure added to each arm, which keeps it honest with few or no
    conversions), scaled by the treated size. When an arm converts more often than it has
    members (repeat buyers), rates are counts per member and the interval is Poisson's.
    """
    where = f"experiment {experiment_id}"
    if treated_size < 1 or holdout_size < 1:
        raise DomainError(f"{where}: both arms need at least one member")
    if not 0 < confidence < 1:
        raise DomainError(f"{where}: confidence must be in (0, 1), got {confidence}")
    conversions = {"treated": 0, "holdout": 0}
    revenue: dict[str, Money] = {}
    for outcome in outcomes:
        if outcome.kind is not OutcomeKind.CONVERSION:
            continue
        if outcome.attributes.get("experiment_id") != experiment_id:
            continue
        arm = _arm(outcome)
        if arm is None:
            continue
        conversions[arm] += outcome.count
        if outcome.value is not None:
            before = revenue.get(arm, Money.zero(outcome.value.currency))
            revenue[arm] = before + outcome.value
    n_t, n_h = treated_size, holdout_size
    x_t, x_h = conversions["treated"], conversions["holdout"]
    rate_t, rate_h = x_t / n_t, x_h / n_h
    lift = rate_t - rate_h
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    if x_t <= n_t and x_h <= n_h:
        p_t, p_h = (x_t + 1) / (n_t + 2), (x_h + 1) / (n_h + 2)
        centre = p_t - p_h
        se = math.sqrt(p_t * (1 - p_t) / (n_t + 2) + p_h * (1 - p_h) / (n_h + 2))
    else:
        centre = lift
        se = math.sqrt(rate_t / n_t + rate_h / n_h)
    return Incrementality(
        experiment_id=experiment_id,
        treated_size=n_t,
        holdout_size=n_h,
        treated_conversions=x_t,
        holdout_conversions=x_h,
        treated_rate=rate_t,
        holdout_rate=rate_h,
        lift=lift,
        relative_lift=lift / rate_h if rate_h > 0 else None,
        incremental_conversions=lift * n_t,
        interval=((centre - z * se) * n_t, (centre + z * se) * n_t),
        confidence=confidence,
        incremental_revenue=_incremental_revenue(revenue, n_t, n_h),
    )


def _arm(outcome: Outcome) -> str | None:
    arm = outcome.attributes.get("arm")
    if arm == HOLDOUT_ARM:
        return "holdout"
    return "treated" if arm in TREATMENT_ARMS else None


def _incremental_revenue(revenue: Mapping[str, Money], n_t: int, n_h: int) -> Money | None:
    if not revenue:
        return None
    currencies = {m.currency for m in revenue.values()}
    if len(currencies) > 1:
        raise DomainError(f"experiment revenue mixes currencies: {', '.join(sorted(currencies))}")
    (currency,) = currencies
    treated = revenue.get("treated", Money.zero(currency)).amount
    held = revenue.get("holdout", Money.zero(currency)).amount
    per_head = treated / Decimal(n_t) - held / Decimal(n_h)
    return Money(per_head * n_t, currency).rounded()
