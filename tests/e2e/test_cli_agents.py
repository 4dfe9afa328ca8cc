"""``mios agents`` on an initialised workspace: the five agents listed, a coordinated run whose
handoffs chain from a research brief to copy to a send, one agent's view, sprawl mode, and bad
input. Nothing is ever executed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import ok, run

BUILT_IN = ["research", "analytics", "content", "crm", "advertising"]


def test_the_five_agents_are_listed_by_stage() -> None:
    listed = ok("agents", "list")
    assert [a["name"] for a in listed][:5] == BUILT_IN
    assert [a["stage"] for a in listed][:5] == [0, 0, 1, 2, 2]
    assert {a["origin"] for a in listed[:5]} == {"built-in"}


def test_a_coordinated_run_chains_a_brief_to_copy_to_a_send(shop: Path) -> None:
    plan = ok("-w", str(shop), "agents", "run", "--seed", "3")
    assert plan["mode"] == "coordinated"
    assert plan["executed"] == 0
    assert [a["agent"] for a in plan["agents"]] == BUILT_IN
    assert all(a["error"] is None for a in plan["agents"])
    assert all(a["refused"] == [] for a in plan["agents"])  # the planner's checks hold
    proposals = {p["id"]: p for p in plan["proposals"]}
    assert {p["agent"] for p in proposals.values()} == set(BUILT_IN)
    assert all(p["evidence"] and p["snapshot_version"] == 1 for p in proposals.values())
    agent_of = {pid: p["agent"] for pid, p in proposals.items()}
    links = {(agent_of[h["from"]], agent_of[h["to"]]) for h in plan["handoffs"]}
    assert ("research", "content") in links
    assert ("content", "crm") in links
    # The same seed on the same snapshot proposes the same things.
    again = ok("-w", str(shop), "agents", "run", "--seed", "3")
    assert [p["id"] for p in again["proposals"]] == list(proposals)


def test_one_agents_view_runs_what_it_builds_on(shop: Path) -> None:
    plan = ok("-w", str(shop), "agents", "run", "--agent", "crm")
    assert {p["agent"] for p in plan["proposals"]} == {"crm"}
    assert {a["agent"] for a in plan["agents"]} == {"research", "analytics", "content", "crm"}
    assert all(p["kind"] == "send_message" for p in plan["proposals"])
    text = run("-w", str(shop), "agents", "run", "--agent", "crm")
    assert text.exit_code == 0, text.output
    assert "Nothing was executed" in text.stdout
    assert "why:" in text.stdout


def test_sprawl_mode_briefs_nobody(shop: Path) -> None:
    plan = ok("-w", str(shop), "agents", "run", "--sprawl")
    assert plan["mode"] == "sprawl"
    agent_of = {p["id"]: p["agent"] for p in plan["proposals"]}
    links = {(agent_of[h["from"]], agent_of[h["to"]]) for h in plan["handoffs"]}
    assert ("research", "content") not in links


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--agent", "nope"], "nope"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_bad_input_exits_2(shop: Path, args: list[str], expected: str) -> None:
    result = run("-w", str(shop), "agents", "run", *args)
    assert result.exit_code == 2
    assert expected in result.output


def test_an_unknown_agent_is_named_with_the_known_ones(shop: Path) -> None:
    result = run("-w", str(shop), "agents", "run", "--agent", "nope")
    assert "crm" in result.output


@pytest.mark.parametrize("command", [["agents"], ["agents", "list"], ["agents", "run"]])
def test_help_shows_an_example(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout


def test_crm_email_sends_pass_every_check_of_governance(shop: Path) -> None:
    """Copy from content, sent by CRM to whom it may lawfully reach, passes governance."""
    from mios.agents.planner import run_agents
    from mios.agents.registry import create
    from mios.bootstrap import agent_context, open_context_store, utc_now
    from mios.config import Settings
    from mios.domain.action import Action
    from mios.domain.channel import ChannelName
    from mios.domain.governance import FindingSeverity
    from mios.domain.proposal import ActionKind
    from mios.governance.checkers import built_in_checkers
    from mios.governance.review import Reviewer
    from mios.governance.review_context import ReviewContext

    store = open_context_store(shop, Settings())
    try:
        snapshot = store.snapshot()
        context = agent_context(snapshot, shop, now=utc_now(), seed=1)
        plan = run_agents([create(name) for name in BUILT_IN], context)
        workspace, customers = snapshot.workspace, snapshot.customers()
    finally:
        store.close()
    sends = [
        p
        for p in plan.proposals
        if p.kind is ActionKind.SEND_MESSAGE and p.channel is ChannelName.EMAIL
    ]
    assert sends
    reviewer = Reviewer(workspace, built_in_checkers())
    review_context = ReviewContext(workspace, customers, snapshot.ledger, utc_now())
    for proposal in sends:
        review = reviewer.review(Action.from_proposal(proposal, f"a-{proposal.id}"), review_context)
        denied = [f.rule_id for f in review.verdict.findings if f.severity is FindingSeverity.DENY]
        # Copy, consent, lawful basis, suppression, caps, budget: nothing in a CRM send is
        # refused, and no sensitive customer is reached (nothing asks legal).
        assert denied == [], (proposal.id, denied)
        assert "sensitive-audience/approval" not in {f.rule_id for f in review.verdict.findings}


def test_the_model_comes_from_mios_llm_model(shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pydantic-ai's offline ``test`` model plays every agent; nothing reaches a network."""
    pytest.importorskip("pydantic_ai")
    monkeypatch.setenv("MIOS_LLM_MODEL", "test")
    plan = ok("-w", str(shop), "agents", "run", "--agent", "research")
    assert plan["model"] == "test"
    assert [a["agent"] for a in plan["agents"]] == ["research"]
    assert all(a["error"] is None for a in plan["agents"])


def test_a_run_where_an_agent_failed_exits_1_and_names_it(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pydantic_ai")
    monkeypatch.setenv("MIOS_LLM_MODEL", "nowhere:nothing")
    result = run("-w", str(shop), "agents", "run", "--agent", "research", "--json")
    assert result.exit_code == 1, result.output
    [failed] = json.loads(result.stdout)["agents"]  # the plan is still printed for scripts
    assert "Unknown model: nowhere:nothing" in failed["error"]
    assert "research" in result.stderr


def test_json_carries_each_proposals_parameters(shop: Path) -> None:
    plan = ok("-w", str(shop), "agents", "run", "--agent", "crm")
    assert all(p["parameters"]["journey"] and p["parameters"]["variant"] for p in plan["proposals"])


def test_an_unknown_agent_exits_2_even_beside_a_broken_plug_in(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mios.agents.registry import BUILTIN_AGENTS, AgentRegistry

    broken = AgentRegistry({**BUILTIN_AGENTS, "ghost": "mios_no_such_module:Ghost"})
    monkeypatch.setattr(AgentRegistry, "discover", classmethod(lambda cls: broken))
    assert run("-w", str(shop), "agents", "run", "--agent", "nope").exit_code == 2
    failed = run("-w", str(shop), "agents", "run", "--agent", "crm")
    assert failed.exit_code == 1  # every agent is built before any runs: the broken one is named
    assert "built-in agent 'ghost' (mios_no_such_module:Ghost) failed to load" in failed.output
