"""Reference policies: the oracle beats the calendar, the calendar beats chance, and all three
stay within the same budget, contact cap and consent."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from mios.domain.outcome import OutcomeKind
from mios.errors import MarketError
from mios.sim.market import Market
from mios.sim.policies import POLICIES, make_policy
from mios.sim.run import run_policy
from mios.sim.scenario import load_scenario, shipped_scenarios

CUSTOMERS = 20_000
DAYS = 28
SEEDS = (1, 2, 3)


@pytest.mark.parametrize("name", shipped_scenarios())
@pytest.mark.parametrize("seed", SEEDS)
def test_oracle_beats_static_beats_random(name: str, seed: int) -> None:
    scenario = load_scenario(name)
    profit = {
        policy: run_policy(
            scenario, policy, days=DAYS, seed=seed, customers=CUSTOMERS
        ).totals.profit
        for policy in POLICIES
    }
    assert profit["oracle"] > profit["static"] > profit["random"], profit


@pytest.mark.parametrize("name", shipped_scenarios())
@pytest.mark.parametrize("policy", list(POLICIES))
def test_every_policy_keeps_budget_caps_and_consent(name: str, policy: str) -> None:
    scenario = load_scenario(name)
    market = Market(scenario, 4, 5000)
    chooser = make_policy(policy, 4)
    weekly_spend: dict[int, Decimal] = defaultdict(Decimal)
    for day in range(DAYS):
        for outcome in market.step(chooser.actions(market, day), day):
            channel = outcome.channel
            if (
                outcome.kind is OutcomeKind.SPEND
                and channel is not None
                and not channel.addresses_customers
            ):
                assert outcome.value is not None
                weekly_spend[day // 7] += outcome.value.amount
    totals = market.totals()
    assert totals.compliance_incidents == 0
    assert totals.brand_incidents == 0
    assert len(totals.contact_weeks) - 1 <= scenario.limits.contacts_per_week
    budget = Decimal(str(scenario.limits.daily_budget)) * 5000 / scenario.population.customers
    assert weekly_spend, "the policy spends on media or content"
    for week, spend in weekly_spend.items():
        assert spend <= 7 * budget + Decimal("0.05"), (week, spend)


def test_policies_are_deterministic_and_seeded() -> None:
    scenario = load_scenario("subscription-retention")
    first = run_policy(scenario, "random", days=7, seed=9, customers=3000)
    again = run_policy(scenario, "random", days=7, seed=9, customers=3000)
    other = run_policy(scenario, "random", days=7, seed=10, customers=3000)
    assert first.digest == again.digest
    assert first.totals.as_dict() == again.totals.as_dict()
    assert first.digest != other.digest


def test_an_unknown_policy_or_a_bad_day_count_is_refused() -> None:
    scenario = load_scenario("b2b-pipeline")
    with pytest.raises(MarketError, match="no policy 'greedy'"):
        run_policy(scenario, "greedy", days=1)
    with pytest.raises(MarketError, match="days must be from 1"):
        run_policy(scenario, "static", days=0)
