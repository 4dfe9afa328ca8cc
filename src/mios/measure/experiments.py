"""Bayesian read-out of A/B and multi-variant experiments, the way GrowthBook's gbstats does it.

Each variation is compared with the control (the baseline: a control arm or a holdout). The
quantity of interest is the *relative* uplift ``(mean_variation - mean_control) / mean_control``.
Its sampling distribution is approximated by a Gaussian (the delta method), and a Gaussian prior
on it, improper by default, gives a Gaussian posterior. From that posterior:

- the uplift (the posterior mean) with its credible interval (``norm.ppf`` at ``alpha/2`` and
  ``1 - alpha/2``);
- the chance to win ``P(uplift > 0)`` (``P(uplift < 0)`` for an inverse metric, where lower is
  better);
- the expected loss (risk) of each choice, as a fraction of the control's mean: shipping the
  variation loses ``E[max(-uplift, 0)]``, keeping the control loses ``E[max(uplift, 0)]``.

This is gbstats 0.8.0's ``EffectBayesianABTest`` with ``difference_type="relative"``: the same
data variance (``frequentist_variance``), the same prior update and the same risk
(``get_risk``; the truncated-normal means are written in closed form here).

CUPED (gbstats's "regression adjusted" statistic) applies when the arms carry a pre-period
covariate: ``theta`` is the covariance of metric and covariate over the two arms compared, pooled,
divided by the pooled covariate variance; each arm's mean becomes ``mean - theta * pre_mean`` and
its variance ``var + theta^2 var_pre - 2 theta cov``. A covariate with no variance turns CUPED off
for that comparison, as in gbstats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from scipy.special import chdtrc, ndtr, ndtri

from mios.errors import InputError


class MetricKind(StrEnum):
    """``binomial``: conversions out of users; ``mean``: a value per user (sum, sum of squares)."""

    BINOMIAL = "binomial"
    MEAN = "mean"


class Verdict(StrEnum):
    SHIP = "ship"
    KEEP_TESTING = "keep testing"
    STOP = "stop"


@dataclass(frozen=True)
class Arm:
    """One arm's sufficient statistics. ``total`` is the conversions (binomial) or the sum of the
    metric; ``squares`` its sum of squares (``None`` for binomial). The covariate, when given, is
    ``pre_total`` with ``pre_squares`` (``None``: a 0/1 covariate) and ``products``, the sum of
    metric times covariate over users."""

    name: str
    users: int
    total: float
    squares: float | None = None
    pre_total: float | None = None
    pre_squares: float | None = None
    products: float | None = None
    weight: float | None = None

    @property
    def has_covariate(self) -> bool:
        return self.pre_total is not None and self.products is not None

    @property
    def mean(self) -> float:
        """The conversion rate (binomial) or the mean per user."""
        return self.total / self.users

    @property
    def stddev(self) -> float:
        return math.sqrt(max(_variance(self.users, self.total, self.squares), 0.0))


@dataclass(frozen=True)
class Prior:
    """A Gaussian prior on the relative uplift; ``proper=False`` (the default) ignores it."""

    mean: float = 0.0
    stddev: float = 0.1
    proper: bool = False


@dataclass(frozen=True)
class Rule:
    """The decision rule: ship when the chance to win reaches ``ship_chance`` and the expected
    loss of shipping is at most ``max_risk`` (a fraction of the control's mean); stop when the
    chance to win is at most ``1 - ship_chance``; keep testing otherwise. The defaults are
    GrowthBook's (95% chance to win, 0.25% acceptable risk)."""

    ship_chance: float = 0.95
    max_risk: float = 0.0025

    def describe(self) -> str:
        return (
            f"ship when the chance to win is at least {self.ship_chance:.0%} and the expected "
            f"loss of shipping is at most {self.max_risk:.2%} of the control's mean; stop when "
            f"the chance to win is at most {1 - self.ship_chance:.0%}; keep testing otherwise"
        )

    def judge(self, chance_to_win: float | None, risk: float | None) -> Verdict:
        if chance_to_win is None or risk is None:
            return Verdict.KEEP_TESTING
        if chance_to_win >= self.ship_chance and risk <= self.max_risk:
            return Verdict.SHIP
        if chance_to_win <= 1 - self.ship_chance:
            return Verdict.STOP
        return Verdict.KEEP_TESTING


@dataclass(frozen=True)
class Experiment:
    kind: MetricKind
    arms: tuple[Arm, ...]
    control: int = 0

    def __post_init__(self) -> None:
        if len(self.arms) < 2:
            raise InputError("an experiment needs at least two arms: a control and a variation")
        if not 0 <= self.control < len(self.arms):
            raise InputError(f"control index {self.control} is not one of the arms")

    @property
    def cuped(self) -> bool:
        return all(arm.has_covariate for arm in self.arms)


@dataclass(frozen=True)
class Comparison:
    """One variation against the control. The numbers are ``None`` when the relative uplift is
    undefined (a control mean of zero, an arm without variance); ``note`` says why."""

    variation: str
    control: str
    uplift: float | None
    stddev: float | None
    ci_low: float | None
    ci_high: float | None
    chance_to_win: float | None
    risk_variation: float | None
    risk_control: float | None
    verdict: Verdict
    theta: float | None = None
    ci_width_without_cuped: float | None = None
    note: str | None = None


@dataclass(frozen=True)
class Readout:
    experiment: Experiment
    comparisons: tuple[Comparison, ...]
    verdict: Verdict
    winner: str | None
    rule: Rule
    ci_level: float
    inverse: bool
    srm_p_value: float | None = None


@dataclass(frozen=True)
class _Stat:
    """What gbstats calls a statistic: the (possibly adjusted) mean, the unadjusted mean and the
    per-user variance."""

    n: int
    mean: float
    unadjusted_mean: float
    variance: float


def _variance(n: int, total: float, squares: float | None) -> float:
    if squares is None:  # a proportion, as gbstats's ProportionStatistic
        rate = total / n
        return rate * (1 - rate)
    return (squares - total * total / n) / (n - 1)


def _post(arm: Arm) -> _Stat:
    mean = arm.total / arm.users
    return _Stat(arm.users, mean, mean, _variance(arm.users, arm.total, arm.squares))


def _covariance(n: int, products: float, total: float, pre_total: float) -> float:
    return (products - total * pre_total / n) / (n - 1)


def cuped_theta(a: Arm, b: Arm) -> float:
    """gbstats's ``compute_theta``: over arms ``a`` and ``b`` pooled, cov(metric, covariate) /
    var(covariate); 0 when either pooled variance is 0 (CUPED is then off)."""
    assert a.pre_total is not None
    assert b.pre_total is not None
    assert a.products is not None
    assert b.products is not None
    n = a.users + b.users
    squares = None if a.squares is None or b.squares is None else a.squares + b.squares
    pre_squares = (
        None if a.pre_squares is None or b.pre_squares is None else a.pre_squares + b.pre_squares
    )
    post_variance = _variance(n, a.total + b.total, squares)
    pre_total = a.pre_total + b.pre_total
    pre_variance = _variance(n, pre_total, pre_squares)
    if post_variance == 0 or pre_variance == 0:
        return 0.0
    covariance = _covariance(n, a.products + b.products, a.total + b.total, pre_total)
    return covariance / pre_variance


def _adjusted(arm: Arm, theta: float) -> _Stat:
    assert arm.pre_total is not None
    assert arm.products is not None
    post = _post(arm)
    pre_mean = arm.pre_total / arm.users
    pre_variance = _variance(arm.users, arm.pre_total, arm.pre_squares)
    covariance = _covariance(arm.users, arm.products, arm.total, arm.pre_total)
    variance = post.variance + theta * theta * pre_variance - 2 * theta * covariance
    return _Stat(arm.users, post.mean - theta * pre_mean, post.mean, variance)


@dataclass(frozen=True)
class _Posterior:
    mean: float
    stddev: float


def _posterior(a: _Stat, b: _Stat, prior: Prior) -> _Posterior | str:
    """The posterior of the relative uplift of ``b`` over ``a``, or why there is none."""
    if a.mean == 0 or a.unadjusted_mean == 0:
        return "the control's mean is zero, so a relative uplift is undefined"
    if a.variance <= 0 or b.variance <= 0:
        return "an arm has no variance (every user alike), so the uplift has no uncertainty"
    ua, ub = a.unadjusted_mean, b.unadjusted_mean
    data_variance = b.variance / (ua * ua * b.n) + a.variance * ub * ub / (ua**4 * a.n)
    data_mean = (b.mean - a.mean) / ua
    prior_variance = prior.stddev * prior.stddev
    precision = 1 / data_variance + (1 / prior_variance if prior.proper else 0.0)
    if prior.proper:
        mean = (data_mean / data_variance + prior.mean / prior_variance) / precision
    else:
        mean = data_mean
    return _Posterior(mean, math.sqrt(1 / precision))


def risks(mean: float, stddev: float) -> tuple[float, float]:
    """``(E[max(X, 0)], E[max(-X, 0)])`` for ``X ~ N(mean, stddev^2)``: the expected loss of
    keeping the control and of shipping the variation (gbstats's ``get_risk``)."""
    z = mean / stddev
    density = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return (
        float(mean * ndtr(z) + stddev * density),
        float(stddev * density - mean * ndtr(-z)),
    )


def compare(
    control: Arm,
    variation: Arm,
    *,
    prior: Prior = Prior(),
    ci_level: float = 0.95,
    inverse: bool = False,
    rule: Rule = Rule(),
    cuped: bool = True,
) -> Comparison:
    """The Bayesian read-out of ``variation`` against ``control``."""
    a, b = _post(control), _post(variation)
    theta: float | None = None
    if cuped and control.has_covariate and variation.has_covariate:
        theta = cuped_theta(control, variation)
        if theta != 0:
            a, b = _adjusted(control, theta), _adjusted(variation, theta)
    found = _posterior(a, b, prior)
    if isinstance(found, str):
        return Comparison(
            variation.name, control.name, None, None, None, None, None, None, None,
            Verdict.KEEP_TESTING, theta, None, found,
        )  # fmt: skip
    half = float(ndtri(1 - (1 - ci_level) / 2)) * found.stddev
    keep, ship = risks(found.mean, found.stddev)
    chance = float(ndtr(found.mean / found.stddev))
    if inverse:
        chance, keep, ship = 1 - chance, ship, keep
    width_without: float | None = None
    if theta:
        plain = compare(control, variation, prior=prior, ci_level=ci_level, cuped=False)
        if plain.ci_low is not None and plain.ci_high is not None:
            width_without = plain.ci_high - plain.ci_low
    return Comparison(
        variation=variation.name,
        control=control.name,
        uplift=found.mean,
        stddev=found.stddev,
        ci_low=found.mean - half,
        ci_high=found.mean + half,
        chance_to_win=chance,
        risk_variation=ship,
        risk_control=keep,
        verdict=rule.judge(chance, ship),
        theta=theta,
        ci_width_without_cuped=width_without,
    )


def read_out(
    experiment: Experiment,
    *,
    prior: Prior = Prior(),
    ci_level: float = 0.95,
    inverse: bool = False,
    rule: Rule = Rule(),
) -> Readout:
    """Compare every variation with the control, judge each, and name the overall verdict: ship
    the variation that passes the rule with the highest chance to win; stop (keep the control)
    when every variation is judged stop; keep testing otherwise."""
    if not 0 < ci_level < 1:
        raise InputError(f"the credible level must be between 0 and 1, not {ci_level}")
    if prior.proper and not prior.stddev > 0:
        raise InputError(f"the prior's standard deviation must be positive, not {prior.stddev}")
    control = experiment.arms[experiment.control]
    srm = srm_p_value(experiment.arms)
    comparisons = tuple(
        compare(control, arm, prior=prior, ci_level=ci_level, inverse=inverse, rule=rule)
        for i, arm in enumerate(experiment.arms)
        if i != experiment.control
    )
    shipped = [c for c in comparisons if c.verdict is Verdict.SHIP]
    if shipped:
        best = max(shipped, key=lambda c: (c.chance_to_win or 0.0, c.uplift or 0.0))
        return Readout(
            experiment, comparisons, Verdict.SHIP, best.variation, rule, ci_level, inverse, srm
        )
    verdict = (
        Verdict.STOP
        if all(c.verdict is Verdict.STOP for c in comparisons)
        else Verdict.KEEP_TESTING
    )
    return Readout(experiment, comparisons, verdict, None, rule, ci_level, inverse, srm)


def srm_p_value(arms: tuple[Arm, ...]) -> float | None:
    """The sample-ratio-mismatch test (gbstats's ``check_srm``): the chi-squared p-value of the
    users per arm against the planned weights, or ``None`` when no arm has a weight. A tiny
    p-value (GrowthBook warns below 0.001) means the assignment is broken and the read-out is
    not to be trusted."""
    if all(arm.weight is None for arm in arms):
        return None
    weights = [arm.weight or 0.0 for arm in arms]
    total_weight = sum(weights)
    users = sum(arm.users for arm in arms)
    statistic = 0.0
    for arm, weight in zip(arms, weights, strict=True):
        if weight <= 0:
            continue
        expected = weight / total_weight * users
        statistic += (arm.users - expected) ** 2 / expected
    return float(chdtrc(len(arms) - 1, statistic))
