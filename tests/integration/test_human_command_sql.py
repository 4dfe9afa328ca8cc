"""Human Command end to end on a real database: the SQL governance store and the SQL audit log on
SQLite and PostgreSQL, every flow read back through a second, fresh store (as another process
would), and an audit trail that verifies afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mios.context.translate import build_workspace
from mios.domain.action import Action, ActionState
from mios.domain.budget import BudgetLedger
from mios.domain.channel import ChannelName
from mios.domain.customer_table import CustomerTable
from mios.domain.governance import ApprovalClosed, ApprovalStatus, Role
from mios.domain.guardrails import ApprovalRules
from mios.domain.policy import AutonomyMatrix, AutonomyMode, PolicyEffect, PolicyPack, PolicyRule
from mios.domain.proposal import ActionKind, Audience, Content, RiskTier
from mios.errors import AccessDenied
from mios.governance.audit import verify_log
from mios.governance.command import HumanCommand
from mios.governance.review import Reviewer
from mios.governance.review_context import ReviewContext
from mios.persistence.audit_log import SqlAuditLog
from mios.persistence.engine import create_database_engine, migrate
from mios.persistence.governance_store import SqlGovernanceStore
from tests.support.workspaces import minimal_spec

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class World:
    """Brand and legal (two people) approve every message; the parts live in a real database."""

    def __init__(self, url: str, ttl_hours: float = 24) -> None:
        rule = PolicyRule(
            "two-eyes",
            "Messages need brand and legal.",
            frozenset({ActionKind.SEND_MESSAGE}),
            "true",
            PolicyEffect.APPROVE,
            "Brand and legal approve every message.",
            (Role.BRAND, Role.LEGAL),
            2,
        )
        workspace = replace(
            build_workspace(minimal_spec()),
            policies=(PolicyPack("review", (rule,)),),
            autonomy=AutonomyMatrix({}, AutonomyMode.AUTO),
        )
        self.engine = create_database_engine(url)
        migrate(self.engine)
        self.clock = Clock()
        self.rules = ApprovalRules(ttl_hours, (Role.ADMIN,))
        self.command = self.fresh()
        self.reviewer = Reviewer(workspace)
        self.context = ReviewContext(
            workspace, CustomerTable.empty(), BudgetLedger.for_budgets(workspace.budgets), START
        )
        self.tokens: dict[str, str] = {}
        self.command.add_user(None, "ada", "Ada Admin", frozenset({Role.ADMIN}))
        self.tokens["ada"] = self.command.issue_token(None, "ada").token
        for user_id, role in {"bo": Role.BRAND, "lee": Role.LEGAL, "lou": Role.LEGAL}.items():
            self.command.add_user(self.tokens["ada"], user_id, user_id.title(), frozenset({role}))
            self.tokens[user_id] = self.command.issue_token(self.tokens["ada"], user_id).token

    def fresh(self) -> HumanCommand:
        """Human Command over new store objects: nothing is shared but the database."""
        return HumanCommand(
            SqlGovernanceStore(self.engine), SqlAuditLog(self.engine), self.clock, self.rules
        )

    def submit(self, action_id: str = "a1") -> str:
        action = Action(
            id=action_id,
            proposal_id=f"p-{action_id}",
            kind=ActionKind.SEND_MESSAGE,
            snapshot_version=1,
            channel=ChannelName.EMAIL,
            audience=Audience(customer_ids=("c1",)),
            content=Content("Hi", "Warm layers."),
        )
        review = self.reviewer.review(action, self.context, RiskTier.MEDIUM)
        request = self.fresh().submit(action, review, "agent:crm").request
        assert request is not None
        return request.id

    def events(self) -> list[str]:
        return [r.event for r in SqlAuditLog(self.engine).records()]

    def audit_is_intact(self) -> bool:
        log = SqlAuditLog(self.engine)
        return verify_log(log, head=log.head()).ok


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    made = World(database_url)
    yield made
    made.engine.dispose()


def test_two_people_in_two_roles_approve_and_the_approval_is_used_once(world: World) -> None:
    request_id = world.submit()
    world.fresh().answer(request_id, world.tokens["bo"], Role.BRAND, "approve")
    store = SqlGovernanceStore(world.engine)
    assert store.request(request_id).status is ApprovalStatus.PENDING  # type: ignore[union-attr]
    world.fresh().answer(request_id, world.tokens["lee"], Role.LEGAL, "approve", "fine")
    request = store.request(request_id)
    assert request is not None
    assert request.status is ApprovalStatus.APPROVED
    assert [(a.approver.id, a.role) for a in request.approvals] == [
        ("bo", Role.BRAND),
        ("lee", Role.LEGAL),
    ]
    action = store.action("a1")
    assert action is not None
    assert action.state is ActionState.APPROVED
    world.fresh().use_approval(action)
    with pytest.raises(ApprovalClosed, match="single-use"):
        world.fresh().use_approval(action)
    assert store.request(request_id).status is ApprovalStatus.USED  # type: ignore[union-attr]
    assert world.audit_is_intact()
    assert world.events()[-3:] == ["approval.approve", "action.approved", "approval.used"]


def test_a_refused_approval_is_recorded_and_changes_nothing(world: World) -> None:
    request_id = world.submit()
    with pytest.raises(AccessDenied, match="does not hold role legal"):
        world.fresh().answer(request_id, world.tokens["bo"], Role.LEGAL, "approve")
    assert world.events()[-1] == "approval.refused.approve"
    assert SqlGovernanceStore(world.engine).request(request_id).approvals == []  # type: ignore[union-attr]
    assert world.audit_is_intact()


def test_a_rejection_blocks_the_action(world: World) -> None:
    request_id = world.submit()
    world.fresh().answer(request_id, world.tokens["lee"], Role.LEGAL, "reject", "unsupported claim")
    store = SqlGovernanceStore(world.engine)
    assert store.request(request_id).status is ApprovalStatus.REJECTED  # type: ignore[union-attr]
    action = store.action("a1")
    assert action is not None
    assert action.state is ActionState.BLOCKED
    assert action.history[-1].reason == "rejected by lee: unsupported claim"
    with pytest.raises(ApprovalClosed):
        world.fresh().answer(request_id, world.tokens["bo"], Role.BRAND, "approve")
    assert world.audit_is_intact()


def test_an_edit_makes_a_new_version_that_others_must_approve(world: World) -> None:
    request_id = world.submit()
    new = world.fresh().edit(
        request_id,
        world.tokens["lee"],
        world.reviewer,
        world.context,
        content=Content("Hi", "Warm layers, reviewed."),
    )
    assert new.request is not None
    store = SqlGovernanceStore(world.engine)
    assert store.request(request_id).status is ApprovalStatus.SUPERSEDED  # type: ignore[union-attr]
    assert [r.id for r in store.requests(open_only=True)] == [new.request.id]
    with pytest.raises(AccessDenied, match="proposed this"):
        world.fresh().answer(new.request.id, world.tokens["lee"], Role.LEGAL, "approve")
    world.fresh().answer(new.request.id, world.tokens["bo"], Role.BRAND, "approve")
    world.fresh().answer(new.request.id, world.tokens["lou"], Role.LEGAL, "approve")
    newest = store.action("a1")
    old = store.action("a1", version=1)
    assert newest is not None
    assert old is not None
    assert (newest.version, newest.state) == (2, ActionState.APPROVED)
    assert old.content_hash() != newest.content_hash()
    assert world.audit_is_intact()


def test_an_unanswered_request_escalates_then_expires_and_fails_closed(database_url: str) -> None:
    world = World(database_url, ttl_hours=1)
    try:
        request_id = world.submit()
        world.clock.now = START + timedelta(hours=1)
        assert [r.id for r in world.fresh().expire_due()] == [request_id]
        store = SqlGovernanceStore(world.engine)
        escalated = store.request(request_id)
        assert escalated is not None
        assert escalated.status is ApprovalStatus.ESCALATED
        assert escalated.required_roles == frozenset({Role.ADMIN})
        assert escalated.expires_at == START + timedelta(hours=2)
        world.clock.now = START + timedelta(hours=2, seconds=1)
        with pytest.raises(ApprovalClosed, match="expired"):
            world.fresh().answer(request_id, world.tokens["ada"], Role.ADMIN, "approve")
        assert store.request(request_id).status is ApprovalStatus.EXPIRED  # type: ignore[union-attr]
        assert store.action("a1").state is ActionState.BLOCKED  # type: ignore[union-attr]
        assert store.requests(open_only=True) == []
        events = world.events()
        assert events.index("approval.escalated") < events.index("approval.expired")
        assert world.audit_is_intact()
    finally:
        world.engine.dispose()


def test_the_kill_switch_holds_across_processes_and_only_an_admin_resumes(world: World) -> None:
    world.fresh().pause(world.tokens["lee"], "a claim went out wrong")
    paused = world.fresh().paused
    assert paused is not None
    assert (paused.by, paused.at, paused.reason) == ("lee", START, "a claim went out wrong")
    with pytest.raises(AccessDenied, match="resume needs one of: admin"):
        world.fresh().resume(world.tokens["lee"], "fixed")
    assert world.fresh().paused is not None
    world.fresh().resume(world.tokens["ada"], "fixed")
    assert world.fresh().paused is None
    assert [e for e in world.events() if e.startswith("killswitch")] == [
        "killswitch.paused",
        "killswitch.resumed",
    ]
    assert world.audit_is_intact()


def test_a_removed_user_is_locked_out_and_no_token_is_stored(world: World) -> None:
    world.fresh().remove_user(world.tokens["ada"], "lee", "left the company")
    request_id = world.submit()
    with pytest.raises(AccessDenied, match="not valid"):
        world.fresh().answer(request_id, world.tokens["lee"], Role.LEGAL, "approve")
    store = SqlGovernanceStore(world.engine)
    assert all(t.revoked for t in store.tokens_of("lee"))
    with world.engine.connect() as conn:
        dumped = "\n".join(
            str(row)
            for table in ("users", "api_tokens", "actions", "approval_requests", "audit_log")
            for row in conn.exec_driver_sql(f"SELECT * FROM {table}")
        )
    assert all(token not in dumped for token in world.tokens.values())
    assert world.audit_is_intact()
