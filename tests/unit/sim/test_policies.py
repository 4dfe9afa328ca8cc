"""Reference policies: the oracle beats the calendar, the calendar beats chance, and all three
stay within the same budget, contact cap and consent."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from mios.domain.outcome import OutcomeKind
from mios.errors import MarketError
from mios.sim.ground_truth import ground_truth
from mios.sim.market import Market
from mios.sim.policies import POLICIES, OraclePolicy, make_policy
from mios.sim.run import run_policy
from mios.sim.scenario import load_scenario, shipped_scenarios

CUSTOMERS = 20_000
DAYS = 28
CUSTOMERS_ODD = 7777  # a size whose scaled budget is not a round number of cents


@pytest.mark.parametrize("name", shipped_scenarios())
@pytest.mark.parametrize(("seed", "shift"), [(1, 0), (2, 0), (3, 0), (4, 5)])
def test_oracle_beats_static_beats_random(name: str, seed: int, shift: int) -> None:
    """Shipped scenarios start on a Monday; ``shift`` moves the start to a Saturday, so the
    calendar's weekdays and the market's weeks no longer line up."""
    scenario = load_scenario(name)
    start = date.fromordinal(scenario.start.toordinal() + shift)
    scenario = scenario.model_copy(update={"start": start})
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
    market = Market(scenario, 4, CUSTOMERS_ODD)
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
    weekly_budget = 7 * Decimal(str(market.limits.daily_budget))
    assert weekly_spend, "the policy spends on media or content"
    for week, spend in weekly_spend.items():
        assert spend <= weekly_budget, (week, spend)


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


def test_the_oracle_fills_channels_whose_daily_cap_is_below_one_slice() -> None:
    scenario = load_scenario("retail-holiday")
    market = Market(scenario, 1, 20_000)
    truth = ground_truth(market)
    paid = [c for c in scenario.channel_names if c.is_paid_media]
    split = OraclePolicy(1)._split(truth, 0, paid, 1_000_000.0, 60.0)
    # A budget far above every cap: each channel that pays gets up to its cap, never more.
    assert any(spend > 0 for spend in split.values())
    for channel, spend in split.items():
        assert spend <= truth.media[channel].max_spend_per_day + 1e-6
