"""``mios demo``: several cycles of the whole loop on a simulated market, and what they earned.

A market is opened on a shipped scenario; a workspace is written from its public facts
(``world``); the five agents, the brain, governance and the durable lifecycle run cycle after
cycle on it, each cycle's measurement window passing as days of the market. People are played by
a **scripted reviewer**, labelled as such wherever it acts: it approves what governance asks
people to approve, except display advertising, which it rejects (so a rejection, and what the
loop learns from it, shows). It answers on the cycle's own day, as people answer a request
within its time to live (a day in the retail governance): the first day of the measurement
window waits until it has, and what it approved runs on that day. At the end the market's
profit is set against three runs on fresh copies of the same market for the same days: the
simulator's ``static`` and ``oracle`` policies, and **sprawl mode** (the same agents
uncoordinated, their proposals executed as proposed, with no brain and no governance).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from mios.agents.registry import create
from mios.agents.sprawl import run_sprawl
from mios.bootstrap import agent_context, open_context_store, open_lifecycle
from mios.channels.simulator import SimulatorChannel
from mios.config import Settings
from mios.context.service import sync_workspace
from mios.demo.world import angle_map, write_market_workspace
from mios.domain.action import Action
from mios.domain.governance import ApprovalRequest, Role
from mios.domain.outcome import Outcome
from mios.domain.proposal import ActionKind, DecisionStatus
from mios.errors import ChannelError, MarketError
from mios.lifecycle.durable import CycleReport, DurableLifecycle
from mios.sim.market import Market
from mios.sim.run import run_policy
from mios.sim.scenario import Scenario, load_scenario

if TYPE_CHECKING:
    from mios.governance.command import HumanCommand

PLAYBOOK = "weekly-growth"
#: The agents the demo runs, in every mode.
AGENTS = ("research", "analytics", "content", "crm", "advertising")
#: What the scripted reviewer rejects: display advertising, this season.
REJECTED_CHANNELS = frozenset({"display"})
SCRIPTED = "scripted reviewer (stands in for people)"
#: The hour the demo's clock shows each market day: inside quiet-hours limits in every time
#: zone the shipped scenarios use (09:00 on the US west coast, 18:00 in Berlin).
DEMO_HOUR = time(17, 0)
_EXECUTES = frozenset(
    {
        ActionKind.SEND_MESSAGE,
        ActionKind.PUBLISH_CONTENT,
        ActionKind.SET_BUDGET,
        ActionKind.ADJUST_BID,
    }
)


@dataclass(frozen=True)
class CycleLine:
    """What one cycle did, for people and for ``--json``."""

    number: int
    proposals: int
    selected: int
    deferred: int
    dropped: int
    allowed: int
    awaiting: int
    blocked: int
    approved_by_script: int
    rejected_by_script: int
    executed: int
    outcomes: int
    learnings: tuple[str, ...]
    profit_so_far: Decimal


@dataclass(frozen=True)
class DemoResult:
    scenario: str
    customers: int
    days: int
    cycles: tuple[CycleLine, ...]
    profit: Mapping[str, Decimal] = field(default_factory=dict)  # mios, static, oracle, sprawl


def run_demo(
    root: Path,
    *,
    scenario: str = "retail-holiday",
    customers: int = 20_000,
    cycles: int = 3,
    seed: int = 7,
    history_weeks: int = 26,
    say: Callable[[str], None] = lambda _: None,
) -> DemoResult:
    """Run the demo in ``root`` (a new or empty folder): write the world, run ``cycles`` cycles,
    then the comparison runs. ``say`` hears progress, one line at a time."""
    plan = load_scenario(scenario)
    market = Market(plan, seed, customers)
    say(f"Writing a workspace from the {plan.name} market ({customers:,} customers) ...")
    write_market_workspace(root, market, seed=seed, history_weeks=history_weeks)
    settings = Settings()
    store = open_context_store(root, settings)
    try:
        sync_workspace(store, root, actor="demo")
        workspace = store.snapshot().workspace
    finally:
        store.close()
    channel = SimulatorChannel(
        market,
        workspace.segments,
        budgets=workspace.budgets,
        angle_map=angle_map(market),
    )
    window = ReviewedDays(channel)
    lifecycle = open_lifecycle(
        root,
        settings,
        channels=dict.fromkeys(channel.channels, channel),
        source=window,
        clock=lambda: _clock(market),
        seed=seed,
        polling_interval=0.1,
    ).launch()
    lines: list[CycleLine] = []
    try:
        command = lifecycle.services.command
        tokens = _enrol_reviewers(command)
        durable = lifecycle.durable
        for number in range(1, cycles + 1):
            say(f"Cycle {number}: plan, decide, review, execute, measure, learn ...")
            with ThreadPoolExecutor(1) as waiter:
                done = waiter.submit(durable.run_cycle, PLAYBOOK)
                try:
                    on_the_day = window.reached(done)
                    approved, rejected = _review_as_script(command, tokens)
                    ran = _run_approved(durable, approved)
                except BaseException:
                    window.stop()  # the cycle must not wait for a script that failed
                    raise
                if on_the_day:
                    window.release()
                report = done.result()
            executed = sum(1 for e in report.executions if e.status == "executed")
            if ran and not on_the_day and number == cycles:
                # A cycle with no measurement window left its approvals to run after it, on
                # the day after the last window; that day is closed too, and every comparison
                # runs over it, so all are scored on the same days.
                channel.advance_day()
            lines.append(_line(report, len(approved), len(rejected), executed + ran, market))
    finally:
        window.stop()
        lifecycle.close()
    days = market.day
    say(f"Comparing over the same {days} days: the static and oracle policies, and sprawl ...")
    profit = {
        "mios": market.totals().profit,
        "static": _policy_profit(plan, "static", seed, customers, days),
        "oracle": _policy_profit(plan, "oracle", seed, customers, days),
        "sprawl": _sprawl_profit(root, plan, seed, customers, cycles, days),
    }
    return DemoResult(plan.name, customers, days, tuple(lines), profit)


def _clock(market: Market) -> datetime:
    return datetime.combine(market.start + timedelta(days=market.day), DEMO_HOUR, tzinfo=UTC)


class ReviewedDays:
    """The market's days as a cycle measures them (an ``OutcomeSource`` over the simulator
    channel), held at the first day of each measurement window until the scripted reviewer has
    answered the day's approval requests and what it approved has run: people answer on the
    day, not a week later."""

    def __init__(self, channel: SimulatorChannel) -> None:
        self._channel = channel
        self._opened = threading.Event()  # a window's first day is waiting to close
        self._go = threading.Event()
        self._fresh = True  # the next day to close is a window's first
        self._stopped = False

    @property
    def day(self) -> int:
        return self._channel.day

    def advance_day(self) -> None:
        if self._fresh and not self._stopped:
            self._fresh = False
            self._opened.set()
            self._go.wait()
            self._go.clear()
        self._channel.advance_day()

    def take_outcomes(self) -> list[Outcome]:
        self._fresh = True  # taken at a window's end: the next day opens a new one
        return self._channel.take_outcomes()

    def reached(self, cycle: Future[CycleReport]) -> bool:
        """Wait until the running ``cycle`` holds at its window's first day (``True``), or
        ends without one (``False``)."""
        while not self._opened.wait(0.02):
            if cycle.done():
                return False
        self._opened.clear()
        return True

    def release(self) -> None:
        """Let the held day close."""
        self._go.set()

    def stop(self) -> None:
        """Hold no day any more (the demo ends, or its script failed)."""
        self._stopped = True
        self._go.set()


def _run_approved(durable: DurableLifecycle, approved: list[str]) -> int:
    """Run what the script approved, now; how many executed."""
    ran = 0
    for action_id in approved:
        workflow = durable.on_approved(action_id)
        if workflow is not None and durable.wait(workflow).status == "executed":
            ran += 1
    return ran


# -- the scripted reviewer ---------------------------------------------------------------------

#: Two people per role, so a quorum of two distinct people can always be met.
_PEOPLE = {
    role: (f"script-{role.value.replace('_', '-')}-1", f"script-{role.value.replace('_', '-')}-2")
    for role in (Role.LEGAL, Role.BRAND, Role.STRATEGIST, Role.BUDGET_OWNER, Role.ANALYST)
}


def _enrol_reviewers(command: HumanCommand) -> dict[str, str]:
    """The scripted reviewer's people, an admin first; their tokens by user id."""
    command.add_user(None, "script-admin", f"Admin ({SCRIPTED})", frozenset({Role.ADMIN}))
    admin = command.issue_token(None, "script-admin").token
    tokens = {"script-admin": admin}
    for role, people in _PEOPLE.items():
        for user_id in people:
            command.add_user(admin, user_id, f"{role.value} ({SCRIPTED})", frozenset({role}))
            tokens[user_id] = command.issue_token(admin, user_id).token
    return tokens


def _review_as_script(
    command: HumanCommand, tokens: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """Answer every open request as the script would: reject display advertising, approve the
    rest, each answer by as many distinct people, in the asked roles, as the quorum needs.
    Returns the approved and the rejected action ids."""
    approved: list[str] = []
    rejected: list[str] = []
    command.expire_due()
    for request in command.store.requests(open_only=True):
        action = command.store.action(request.action_id)
        if action is None:
            continue
        if action.channel is not None and action.channel.value in REJECTED_CHANNELS:
            user, role = _answerer(request, 0)
            command.answer(
                request.id,
                tokens[user],
                role,
                "reject",
                f"{SCRIPTED}: no display advertising this season",
            )
            rejected.append(action.id)
            continue
        for slot in range(request.quorum):
            user, role = _answerer(request, slot)
            command.answer(
                request.id,
                tokens[user],
                role,
                "approve",
                SCRIPTED,
                seen_hash=request.content_hash,
            )
        approved.append(action.id)
    return approved, rejected


def _answerer(request: ApprovalRequest, slot: int) -> tuple[str, Role]:
    """Who of the script's people fills quorum slot ``slot`` of ``request``, and in which role:
    roles in turn, the first person of a role first."""
    roles = sorted(request.required_roles)
    role = roles[slot % len(roles)]
    if role is Role.ADMIN:
        return "script-admin", role
    return _PEOPLE[role][(slot // len(roles)) % 2], role


# -- the comparison runs -------------------------------------------------------------------


def _policy_profit(plan: Scenario, policy: str, seed: int, customers: int, days: int) -> Decimal:
    return run_policy(plan, policy, days=days, seed=seed, customers=customers).totals.profit


def _sprawl_profit(
    root: Path, plan: Scenario, seed: int, customers: int, cycles: int, days: int
) -> Decimal:
    """The same agents, uncoordinated, on a fresh copy of the market: each cycle their
    proposals are executed as proposed (no brain, no governance), then the same days pass."""
    market = Market(plan, seed, customers)
    store = open_context_store(root, Settings())
    try:
        snapshot = store.snapshot(1)  # the world as it started: sprawl learns nothing
        workspace = snapshot.workspace
        channel = SimulatorChannel(
            market, workspace.segments, budgets=workspace.budgets, angle_map=angle_map(market)
        )
        agents = [create(name) for name in AGENTS]
        per_cycle = max(days // max(cycles, 1), 1)
        for number in range(cycles):
            # The seed mios's cycle ``number + 1`` gives its agents (``seed + cycle number``).
            context = agent_context(snapshot, root, now=_clock(market), seed=seed + number + 1)
            for proposal in run_sprawl(agents, context).proposals:
                if proposal.kind not in _EXECUTES or proposal.channel not in channel.channels:
                    continue
                action = Action.from_proposal(proposal, f"s{number}-{proposal.id}")
                _execute_as_proposed(channel, action, market)
            for _ in range(per_cycle):
                if market.day < days:
                    channel.advance_day()
        while market.day < days:
            channel.advance_day()
    finally:
        store.close()
    return market.totals().profit


def _execute_as_proposed(channel: SimulatorChannel, action: Action, market: Market) -> None:
    now = _clock(market)
    action.decide(now)
    action.approve(now, "sprawl")
    action.start(now, "sprawl")
    # What the market refuses is lost to sprawl, as it would be in the world.
    with suppress(ChannelError, MarketError):
        channel.execute(action)


def _line(
    report: CycleReport, approved: int, rejected: int, executed: int, market: Market
) -> CycleLine:
    statuses = [d.status for d in report.decisions]
    states = [a.state.value for a in report.actions]
    return CycleLine(
        number=report.number,
        proposals=report.proposals,
        selected=statuses.count(DecisionStatus.SELECTED),
        deferred=statuses.count(DecisionStatus.DEFERRED),
        dropped=statuses.count(DecisionStatus.DROPPED),
        allowed=sum(1 for s in states if s in ("approved", "executing", "executed")),
        awaiting=len(report.awaiting_approval),
        blocked=states.count("blocked"),
        approved_by_script=approved,
        rejected_by_script=rejected,
        executed=executed,
        outcomes=report.measured.ingested,
        learnings=report.learnings,
        profit_so_far=market.totals().profit,
    )
