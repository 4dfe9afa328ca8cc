"""The demo's world: a workspace written from a simulated market loads cleanly, its segments are
the market's segments, the agents plan on it, and CRM's sends execute in the market."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from mios.agents.planner import run_agents
from mios.agents.registry import AgentRegistry
from mios.bootstrap import agent_context, open_context_store
from mios.channels.simulator import SimulatorChannel
from mios.config import Settings
from mios.context.translate import build_workspace
from mios.context.workspace_files import load_workspace
from mios.demo.world import angle_map, offer_type, write_market_workspace
from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.proposal import ActionKind, Proposal
from mios.domain.workspace import Workspace
from mios.errors import InputError
from mios.sim.market import Market
from mios.sim.scenario import load_scenario, shipped_scenarios
from tests.support.cli import ok, run

CUSTOMERS = 2000
WEEKS = 12  # enough history for the brain's curves and the research trends, and fast
SEED = 3
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def market(name: str) -> Market:
    return Market(load_scenario(name), seed=SEED, customers=CUSTOMERS)


@pytest.fixture(scope="module", params=shipped_scenarios())
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("world") / request.param
    return write_market_workspace(root, market(request.param), seed=SEED, history_weeks=WEEKS)


def scenario_of(root: Path) -> str:
    return root.name


def test_the_workspace_loads_and_mirrors_the_market(world: Path) -> None:
    sim = market(scenario_of(world))
    loaded = load_workspace(world)
    shop = build_workspace(loaded.spec)

    assert shop.currency == sim.currency
    assert {c.name for c in shop.channels} == set(sim.channel_names)
    assert {o.id for o in shop.offers} == set(sim.offer_ids)
    terms = {t.id: t for t in sim.offer_terms}
    for offer in shop.offers:
        assert offer.margin == pytest.approx(terms[offer.id].margin)
    assert {c.id for c in shop.brand.claims} == set(sim.substantiated_claims)
    assert set(sim.banned_terms) <= set(shop.brand.banned_terms)
    # Paid media and content share the market's reference budget: 7 days of it a week.
    paid = [b for b in shop.budgets if b.channel.is_paid_media or b.channel is ChannelName.CONTENT]
    weekly = sum((b.amount.amount for b in paid), Decimal(0))
    assert float(weekly) == pytest.approx(7 * sim.limits.daily_budget, abs=0.05)
    assert shop.guardrails.contact.all_channels.week == sim.limits.contacts_per_week

    assert loaded.customers is not None
    assert loaded.customers.equals(sim.customer_table())
    span = loaded.history.span
    assert span is not None
    last_monday = sim.start - timedelta(days=sim.start.weekday() + 7)
    assert span == (last_monday - timedelta(weeks=WEEKS - 1), last_monday)
    assert len(loaded.history.weeks) == WEEKS * len(sim.channel_names)
    spent = sum(float(w.spend.amount) for w in loaded.history.weeks)
    assert spent > 0
    assert sum(w.conversions for w in loaded.history.weeks) > 0


def test_its_segments_select_exactly_the_markets_members(world: Path) -> None:
    sim = market(scenario_of(world))
    loaded = load_workspace(world)
    assert loaded.customers is not None
    segments = build_workspace(loaded.spec).segments
    assert [s.id for s in segments] == list(sim.segment_ids)
    for segment in segments:
        chosen = loaded.customers.ids[segment.mask(loaded.customers)]
        assert chosen.tolist() == sim.customer_ids(sim.members(segment.id))
        assert not segment.sensitive
    # The simulator channel accepts them: each means the market's segment of that name.
    SimulatorChannel(sim, segments)


def test_a_folder_with_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("mine")
    with pytest.raises(InputError, match="empty"):
        write_market_workspace(tmp_path, market("retail-holiday"), seed=1, history_weeks=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["note.txt"]


def test_offer_types_read_from_ids() -> None:
    assert offer_type("pct-20") == ("discount", 20.0)
    assert offer_type("free-shipping") == ("free_shipping", 0.0)
    assert offer_type("bundle") == ("bundle", 0.0)
    assert offer_type("trial-extension") == ("trial", 0.0)
    assert offer_type("annual-discount") == ("discount", 0.0)
    assert offer_type("pause-option") == ("promotion", 0.0)


def test_the_angle_map_only_names_market_angles() -> None:
    retail = market("retail-holiday")
    mapped = angle_map(retail)
    assert mapped["durability"] == "quality"
    assert set(mapped.values()) <= set(retail.angle_ids)
    assert "value" not in mapped  # the market has it; nothing to translate


# -- the agents on the world, and CRM's sends in the market -------------------------------------


def plan_in_process(root: Path) -> tuple[Workspace, list[Proposal]]:
    store = open_context_store(root, Settings.from_mapping({}))
    try:
        snapshot = store.snapshot()
        context = agent_context(snapshot, root, now=NOW, seed=SEED)
        agents = sorted(AgentRegistry.discover().create_all(), key=lambda a: a.stage)
        plan = run_agents(agents, context)
    finally:
        store.close()
    assert all(r.error is None for r in plan.runs)
    return snapshot.workspace, list(plan.proposals)


def executing(proposal: Proposal, n: int) -> Action:
    action = Action.from_proposal(proposal, f"a{n}")
    action.decide(NOW)
    action.approve(NOW, by="test:approver")
    action.start(NOW)
    return action


def test_the_agents_plan_on_it_and_crms_sends_run_in_the_market(world: Path) -> None:
    synced = run("-w", str(world), "context", "sync", "--json")
    assert synced.exit_code == 0, synced.output

    plan = ok("-w", str(world), "agents", "run", "--seed", str(SEED))
    assert plan["snapshot_version"] == 1
    assert all(a["error"] is None and a["refused"] == [] for a in plan["agents"])
    assert {p["agent"] for p in plan["proposals"]} >= {"research", "analytics", "content"}
    assert all(p["evidence"] and p["rationale"] for p in plan["proposals"])

    shop, proposals = plan_in_process(world)
    sends = [p for p in proposals if p.agent_id == "crm" and p.kind is ActionKind.SEND_MESSAGE]
    sim = market(scenario_of(world))
    channel = SimulatorChannel(sim, shop.segments, budgets=shop.budgets, angle_map=angle_map(sim))
    for n, proposal in enumerate(sends):
        receipt = channel.execute(executing(proposal, n))
        assert receipt.accepted > 0
    # CRM messages every segment it may reach, on every channel with consent.
    assert {p.parameters["segment"] for p in sends} == set(sim.segment_ids)
    # The rest of what the agents would execute goes through too: ads onto the running budget,
    # budgets per day, content angles translated or dropped.
    acting = {ActionKind.PUBLISH_CONTENT, ActionKind.SET_BUDGET, ActionKind.ADJUST_BID}
    others = [p for p in proposals if p.kind in acting]
    assert others
    for n, proposal in enumerate(others, start=len(sends)):
        assert channel.execute(executing(proposal, n)).accepted == 1
    channel.advance_day()
    outcomes = channel.take_outcomes()
    assert {o.action_id for o in outcomes if o.action_id} >= {f"a{n}" for n in range(len(sends))}
