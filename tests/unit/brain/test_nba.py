"""Next-best action: the contract, the funnel, eligibility and caps (properties), volume
constraints, Thompson sampling, the one-customer path, and the expected value of a decision."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mios.brain.nba import FUNNEL, NextBestAction
from mios.brain.nba_inputs import Audience, Candidate, Limits
from mios.brain.nba_value import plan_value
from mios.brain.nba_volume import assign
from mios.errors import ModelInputError, NotFittedError

CHANNELS = ("email", "sms", "push")
OFFERS = ("o1", "o2", "o3")


def random_case(seed: int, n: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    h, o = len(CHANNELS), len(OFFERS)
    c = int(rng.integers(1, 7))
    segments = int(rng.integers(1, 4))
    candidates = [
        Candidate(
            f"c{i}",
            CHANNELS[int(rng.integers(h))],
            OFFERS[int(rng.integers(o))],
            value=float(rng.uniform(1, 100)),
            cost=float(rng.choice([0.0, 0.1, 0.5, 1.0])),
            weight=float(rng.uniform(0.5, 1.5)),
        )
        for i in range(c)
    ]
    limits = Limits(
        CHANNELS,
        channel_caps={ch: int(rng.integers(0, 3)) for ch in CHANNELS if rng.random() < 0.7},
        total_cap=int(rng.integers(0, 5)) if rng.random() < 0.5 else None,
        budget=float(rng.uniform(0, n / 2)) if rng.random() < 0.6 else None,
        capacity={ch: int(rng.integers(0, n)) for ch in CHANNELS if rng.random() < 0.6},
    )
    audience = Audience(
        segment=rng.integers(0, segments, n),
        consent=rng.random((n, h)) < 0.7,
        cooldown=rng.random((n, h)) < 0.1,
        suppressed=rng.random(n) < 0.05,
        offer_ok=rng.random((n, o)) < 0.8,
        contacts=rng.integers(0, 3, (n, h)),
        value_multiplier=rng.uniform(0.5, 2.0, n),
    )
    alpha = rng.uniform(1, 20, (segments, c))
    beta = rng.uniform(20, 400, (segments, c))
    return {
        "candidates": candidates,
        "limits": limits,
        "audience": audience,
        "alpha": alpha,
        "beta": beta,
    }


def fitted(case: dict[str, Any], **params: Any) -> NextBestAction:
    return NextBestAction(**params).fit(
        case["candidates"], case["limits"], OFFERS, case["alpha"], case["beta"]
    )


# -- the contract ----------------------------------------------------------------------------


def test_constructor_stores_parameters_and_fit_returns_self() -> None:
    engine = NextBestAction(exploration="mean", bank_size=16, fallbacks=1, seed=4)
    params = engine.get_params()
    assert params == {
        "exploration": "mean",
        "bank_size": 16,
        "fallbacks": 1,
        "min_score": 0.0,
        "chunk_size": 65_536,
        "seed": 4,
    }
    assert NextBestAction(**params).get_params() == params
    case = random_case(0, 10)
    assert engine.fit(case["candidates"], case["limits"], OFFERS, case["alpha"], case["beta"]) is (
        engine
    )
    assert engine.alpha_.shape == case["alpha"].shape
    assert engine.set_params(seed=5) is engine


def test_deciding_before_fit_raises_not_fitted() -> None:
    case = random_case(0, 5)
    with pytest.raises(NotFittedError):
        NextBestAction().decide(case["audience"])
    with pytest.raises(NotFittedError):
        NextBestAction().decide_one(0, [True, True, True])


def test_bad_inputs_are_refused() -> None:
    case = random_case(1, 5)
    with pytest.raises(ModelInputError, match="alpha and beta"):
        NextBestAction().fit(case["candidates"], case["limits"], OFFERS, [[1.0]], [[1.0, 2.0]])
    with pytest.raises(ModelInputError, match="not one of"):
        NextBestAction().fit(
            [Candidate("x", "fax", "o1")], case["limits"], OFFERS, [[1.0]], [[1.0]]
        )
    with pytest.raises(ModelInputError, match=r"x\.cost"):
        Candidate("x", "email", "o1", cost=-1.0)
    with pytest.raises(ModelInputError, match="exploration"):
        fitted(case, exploration="greedy")
    engine = fitted(case)
    bad = Audience(segment=np.zeros(3, dtype=np.int64), consent=np.ones((3, 2), dtype=np.bool_))
    with pytest.raises(ModelInputError, match="consent"):
        engine.decide(bad)


# -- eligibility, caps, budget and capacity (properties) -------------------------------------


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 80), explore=st.booleans())
def test_nba_never_picks_an_ineligible_over_cap_or_unaffordable_action(
    seed: int, n: int, explore: bool
) -> None:
    case = random_case(seed, n)
    engine = fitted(
        case, exploration="thompson" if explore else "mean", seed=seed % 7, chunk_size=16
    )
    audience: Audience = case["audience"]
    limits: Limits = case["limits"]
    decision = engine.decide(audience)
    chosen = np.flatnonzero(decision.action >= 0)
    channel = engine.cand_channel_[decision.action[chosen]]
    offer = engine.cand_offer_[decision.action[chosen]]
    assert audience.cooldown is not None
    assert audience.suppressed is not None
    assert audience.offer_ok is not None
    assert audience.contacts is not None
    assert np.all(audience.consent[chosen, channel])
    assert not np.any(audience.cooldown[chosen, channel])
    assert not np.any(audience.suppressed[chosen])
    assert np.all(audience.offer_ok[chosen, offer])
    assert np.all(audience.contacts[chosen, channel] < limits.cap_array()[channel])
    if limits.total_cap is not None:
        assert np.all(audience.contacts[chosen].sum(axis=1) < limits.total_cap)
    used = np.bincount(channel, minlength=len(CHANNELS))
    assert np.all(used <= limits.capacity_array())
    np.testing.assert_array_equal(used, decision.channel_used)
    spent = float(np.sum(engine.cost_[decision.action[chosen]]))
    assert decision.spent == pytest.approx(spent)
    if limits.budget is not None:
        assert spent <= limits.budget + 1e-9
    assert np.all(decision.score[chosen] > 0.0)
    # Every customer is counted once: chosen, or at the stage that left it without an action.
    assert sum(decision.funnel[k] for k in FUNNEL if k != "customers") == n
    assert decision.funnel["chosen"] == len(chosen)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60), k=st.integers(1, 4))
def test_volume_constraints_hold_and_leave_no_feasible_option_unused(
    seed: int, n: int, k: int
) -> None:
    rng = np.random.default_rng(seed)
    c, h = 6, 3
    options = np.full((n, k), -1, dtype=np.int64)
    scores = np.full((n, k), -np.inf, dtype=np.float32)
    for i in range(n):
        m = int(rng.integers(0, k + 1))
        options[i, :m] = rng.choice(c, size=m, replace=False)
        scores[i, :m] = np.sort(rng.uniform(0, 10, m))[::-1]
    channel = rng.integers(0, h, c)
    cost = rng.choice([0.0, 0.3, 1.0, 2.5], size=c)
    capacity = rng.integers(0, n + 1, h)
    budget = float(rng.uniform(0, n)) if rng.random() < 0.7 else None
    done = assign(options, scores, channel, cost, capacity, budget)
    chosen = done.action >= 0
    used = np.bincount(channel[done.action[chosen]], minlength=h)
    assert np.all(used <= capacity)
    spent = float(np.sum(cost[done.action[chosen]]))
    left = np.inf if budget is None else budget - spent
    assert left >= -1e-9
    np.testing.assert_array_equal(done.action[chosen], options[chosen, done.rank[chosen]])
    # Maximal: a customer left out has no option that would still fit.
    for i in np.flatnonzero(~chosen):
        for j in range(k):
            candidate = options[i, j]
            if candidate >= 0:
                full = used[channel[candidate]] >= capacity[channel[candidate]]
                assert full or cost[candidate] > left + 1e-9
    assert not np.any(done.cut_capacity & done.cut_budget)
    assert not np.any((done.cut_capacity | done.cut_budget) & chosen)


def test_capacity_takes_the_highest_scores_first() -> None:
    scores = np.asarray([[5.0], [9.0], [1.0], [7.0]], dtype=np.float32)
    options = np.zeros((4, 1), dtype=np.int64)
    done = assign(options, scores, np.asarray([0]), np.asarray([0.0]), np.asarray([2]), None)
    np.testing.assert_array_equal(done.action, [-1, 0, -1, 0])
    assert done.cut_capacity.tolist() == [True, False, True, False]


def test_a_customer_cut_by_capacity_falls_back_to_its_next_option() -> None:
    options = np.asarray([[0, 1], [0, 1]], dtype=np.int64)
    scores = np.asarray([[9.0, 2.0], [8.0, 3.0]], dtype=np.float32)
    done = assign(
        options, scores, np.asarray([0, 1]), np.asarray([0.0, 0.0]), np.asarray([1, 5]), None
    )
    np.testing.assert_array_equal(done.action, [0, 1])
    np.testing.assert_array_equal(done.rank, [0, 1])


def test_the_budget_is_used_greedily_and_never_overdrawn() -> None:
    options = np.asarray([[0], [1], [0]], dtype=np.int64)
    scores = np.asarray([[9.0], [8.0], [7.0]], dtype=np.float32)
    cost = np.asarray([1.0, 5.0])
    done = assign(options, scores, np.asarray([0, 0]), cost, np.asarray([10]), 2.5)
    # 1.0 is taken, 5.0 breaks the budget, the next 1.0 still fits.
    np.testing.assert_array_equal(done.action, [0, -1, 0])
    assert done.spent == 2.0
    assert done.cut_budget.tolist() == [False, True, False]


# -- the funnel ------------------------------------------------------------------------------


def test_the_funnel_counts_each_customer_at_the_stage_that_stopped_it() -> None:
    candidates = [Candidate("e1", "email", "o1", value=50.0, cost=0.1)]
    limits = Limits(("email",), channel_caps={"email": 1})
    audience = Audience(
        segment=np.zeros(6, dtype=np.int64),
        consent=np.asarray([[True], [False], [True], [True], [True], [True]]),
        cooldown=np.asarray([[False], [False], [True], [False], [False], [False]]),
        suppressed=np.asarray([True, False, False, False, False, False]),
        offer_ok=np.asarray([[True], [True], [True], [False], [True], [True]]),
        contacts=np.asarray([[0], [0], [0], [0], [1], [0]]),
    )
    engine = NextBestAction(exploration="mean").fit(candidates, limits, ("o1",), [[10.0]], [[90.0]])
    decision = engine.decide(audience)
    assert decision.funnel == {
        "customers": 6,
        "suppressed": 1,
        "no_consent": 1,
        "cooldown": 1,
        "offer_rules": 1,
        "contact_caps": 1,
        "no_positive_score": 0,
        "capacity": 0,
        "budget": 0,
        "chosen": 1,
    }
    np.testing.assert_array_equal(decision.action, [-1, -1, -1, -1, -1, 0])
    assert decision.score[5] == pytest.approx(0.1 * 50.0 - 0.1, rel=1e-6)


def test_a_score_below_cost_is_no_action() -> None:
    candidates = [Candidate("e1", "email", "o1", value=1.0, cost=5.0)]
    engine = NextBestAction(exploration="mean").fit(
        candidates, Limits(("email",)), ("o1",), [[1.0]], [[9.0]]
    )
    decision = engine.decide(
        Audience(segment=np.zeros(2, dtype=np.int64), consent=np.ones((2, 1), dtype=np.bool_))
    )
    assert decision.funnel["no_positive_score"] == 2
    assert decision.funnel["chosen"] == 0


# -- Thompson sampling -----------------------------------------------------------------------


def two_arms(alpha: list[float], beta: list[float], **params: Any) -> NextBestAction:
    candidates = [Candidate("seen", "email", "o1", value=10.0), Candidate("new", "email", "o2")]
    candidates[1] = Candidate("new", "email", "o2", value=10.0)
    return NextBestAction(**params).fit(
        candidates, Limits(("email",)), ("o1", "o2"), [alpha], [beta]
    )


def everyone(n: int) -> Audience:
    return Audience(segment=np.zeros(n, dtype=np.int64), consent=np.ones((n, 1), dtype=np.bool_))


def test_thompson_sampling_explores_an_unseen_arm_and_the_mean_never_does() -> None:
    # The seen arm: 1.5% on 10,000 sends. The new arm: a weak prior around 1%.
    engine = two_arms([150.0, 1.0], [9850.0, 99.0], seed=3)
    share_new = float(np.mean(engine.decide(everyone(20_000)).action == 1))
    assert 0.1 < share_new < 0.6
    greedy = two_arms([150.0, 1.0], [9850.0, 99.0], exploration="mean")
    assert np.all(greedy.decide(everyone(1_000)).action == 0)


def test_thompson_sampling_exploits_once_the_new_arm_has_data() -> None:
    engine = two_arms([150.0, 1.0], [9850.0, 99.0], seed=3)
    engine.update(segment=[0], candidate=[1], trials=[20_000], successes=[100])  # 0.5%
    share_new = float(np.mean(engine.decide(everyone(20_000)).action == 1))
    assert share_new < 0.01
    assert engine.alpha_[0, 1] == 101.0
    assert engine.beta_[0, 1] == 99.0 + 19_900.0


def test_the_same_seed_gives_the_same_decision_and_another_seed_another() -> None:
    case = random_case(5, 400)
    one = fitted(case, seed=1).decide(case["audience"]).action
    again = fitted(case, seed=1).decide(case["audience"]).action
    other = fitted(case, seed=2).decide(case["audience"]).action
    np.testing.assert_array_equal(one, again)
    assert not np.array_equal(one, other)


# -- the one-customer path -------------------------------------------------------------------


@pytest.mark.parametrize("exploration", ["thompson", "mean"])
def test_one_customer_decision_equals_the_batch_decision(exploration: str) -> None:
    case = random_case(11, 300)
    unlimited = Limits(
        CHANNELS, channel_caps=case["limits"].channel_caps, total_cap=case["limits"].total_cap
    )
    case["limits"] = unlimited
    engine = fitted(case, exploration=exploration, seed=9, chunk_size=64)
    audience: Audience = case["audience"]
    assert audience.cooldown is not None
    assert audience.suppressed is not None
    assert audience.offer_ok is not None
    assert audience.contacts is not None
    assert audience.value_multiplier is not None
    batch = engine.decide(audience)
    for i in range(len(audience)):
        one = engine.decide_one(
            int(audience.segment[i]),
            audience.consent[i],
            cooldown=audience.cooldown[i],
            suppressed=bool(audience.suppressed[i]),
            offer_ok=audience.offer_ok[i],
            contacts=audience.contacts[i],
            value_multiplier=float(audience.value_multiplier[i]),
            key=i,
        )
        assert one.candidate == batch.action[i]
        if one.candidate >= 0:
            assert one.score == pytest.approx(batch.score[i], rel=1e-6)
    assert batch.funnel["chosen"] > 0


def test_one_customer_respects_the_room_and_budget_it_is_given() -> None:
    engine = two_arms([150.0, 1.0], [9850.0, 99.0], exploration="mean")
    assert engine.decide_one(0, [True]).candidate == 0
    assert engine.decide_one(0, [True], channel_room=[0]).candidate == -1
    assert engine.decide_one(0, [False]).candidate == -1
    assert engine.decide_one(0, [True], suppressed=True).candidate == -1


# -- the value of a decision -----------------------------------------------------------------


def test_plan_value_is_the_expected_net_value_with_an_interval_around_it() -> None:
    case = random_case(21, 2_000)
    engine = fitted(case, exploration="mean")
    audience: Audience = case["audience"]
    decision = engine.decide(audience)
    value = plan_value(engine, decision, audience, draws=3000, seed=1)
    chosen = np.flatnonzero(decision.action >= 0)
    s, c = audience.segment[chosen], decision.action[chosen]
    p = engine.alpha_[s, c] / (engine.alpha_[s, c] + engine.beta_[s, c])
    assert audience.value_multiplier is not None
    gross = np.sum(p * engine.values_[s, c] * audience.value_multiplier[chosen])
    assert value.value == pytest.approx(gross - decision.spent, rel=1e-9)
    assert value.cost == pytest.approx(decision.spent)
    assert value.value_low < value.value < value.value_high
    assert value.responses_low <= value.responses <= value.responses_high
    assert value.per_candidate_value.sum() == pytest.approx(gross, rel=1e-9)


def test_a_budget_that_pushes_customers_to_a_cheaper_fallback_is_reported_as_binding() -> None:
    candidates = [
        Candidate("paid", "email", "o1", value=100.0, cost=1.0),
        Candidate("free", "push", "o1", value=50.0, cost=0.0),
    ]
    limits = Limits(CHANNELS, budget=2.0)
    engine = NextBestAction(exploration="mean", fallbacks=1).fit(
        candidates, limits, OFFERS, np.full((1, 2), 10.0), np.full((1, 2), 90.0)
    )
    audience = Audience(segment=np.zeros(5, dtype=np.int64), consent=np.ones((5, 3), bool))
    decision = engine.decide(audience)
    assert np.count_nonzero(decision.action == 0) == 2
    assert np.count_nonzero(decision.action == 1) == 3
    assert decision.funnel["budget"] == 0  # nobody left out ...
    assert decision.budget_bound  # ... yet the budget decided who got the paid action
    roomy = NextBestAction(exploration="mean", fallbacks=1).fit(
        candidates,
        Limits(CHANNELS, budget=5.0),
        OFFERS,
        np.full((1, 2), 10.0),
        np.full((1, 2), 90.0),
    )
    assert not roomy.decide(audience).budget_bound


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"segment": -1}, "segment"),
        ({"segment": 1}, "segment"),
        ({"consent": [True, True]}, "consent"),
        ({"offer_ok": [True]}, "offer_ok"),
        ({"contacts": [0, 0, 0, 0]}, "contacts"),
        ({"value_multiplier": float("nan")}, "value_multiplier"),
    ],
)
def test_decide_one_refuses_an_unknown_segment_or_misshapen_columns(
    kwargs: dict[str, Any], field: str
) -> None:
    engine = NextBestAction(exploration="mean").fit(
        [Candidate("a", "email", "o1", value=10.0)],
        Limits(CHANNELS),
        OFFERS,
        np.ones((1, 1)),
        np.ones((1, 1)),
    )
    args: dict[str, Any] = {"segment": 0, "consent": [True, True, True], **kwargs}
    with pytest.raises(ModelInputError, match=field):
        engine.decide_one(args.pop("segment"), args.pop("consent"), **args)
