"""Human Command: people, tokens, the authorization matrix, approvals bound to content, expiry and
escalation, edits, the kill switch, and an audit record for every outcome (refusals included)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest

from mios.context.translate import build_workspace
from mios.domain.action import Action, ActionState
from mios.domain.budget import BudgetLedger
from mios.domain.channel import ChannelName
from mios.domain.customer_table import CustomerTable
from mios.domain.governance import ApprovalClosed, ApprovalStatus, Role, StaleApproval
from mios.domain.guardrails import ApprovalRules
from mios.domain.money import Money
from mios.domain.policy import AutonomyMatrix, AutonomyMode, PolicyEffect, PolicyPack, PolicyRule
from mios.domain.proposal import ActionKind, Audience, Content, RiskTier
from mios.errors import AccessDenied, DomainError
from mios.governance.audit import InMemoryAuditLog, verify_log
from mios.governance.command import HumanCommand
from mios.governance.people import PERMISSIONS, Operation, authorize
from mios.governance.review import Reviewer
from mios.governance.review_context import ReviewContext
from mios.governance.store import InMemoryGovernanceStore
from tests.support.workspaces import minimal_spec

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class World:
    """A workspace whose one rule asks brand and legal (two people) to approve every message."""

    def __init__(
        self, ttl_hours: float = 24, escalate_to: tuple[Role, ...] = (Role.ADMIN,)
    ) -> None:
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
        self.workspace = replace(
            build_workspace(minimal_spec()),
            policies=(PolicyPack("review", (rule,)),),
            autonomy=AutonomyMatrix({}, AutonomyMode.AUTO),
        )
        self.clock = Clock()
        self.store = InMemoryGovernanceStore()
        self.audit = InMemoryAuditLog()
        self.command = HumanCommand(
            self.store, self.audit, self.clock, ApprovalRules(ttl_hours, escalate_to)
        )
        self.reviewer = Reviewer(self.workspace)
        self.context = ReviewContext(
            self.workspace,
            CustomerTable.empty(),
            BudgetLedger.for_budgets(self.workspace.budgets),
            START,
        )
        self.tokens: dict[str, str] = {}
        self.command.add_user(None, "ada", "Ada Admin", frozenset({Role.ADMIN}))
        self.tokens["ada"] = self.command.issue_token(None, "ada").token
        for user_id, roles in {
            "bo": {Role.BRAND},
            "lee": {Role.LEGAL},
            "lou": {Role.LEGAL},
            "both": {Role.BRAND, Role.LEGAL},
            "sam": {Role.STRATEGIST},
            "bud": {Role.BUDGET_OWNER},
            "ana": {Role.ANALYST},
            "vic": {Role.VIEWER},
        }.items():
            self.command.add_user(self.tokens["ada"], user_id, user_id.title(), frozenset(roles))
            self.tokens[user_id] = self.command.issue_token(self.tokens["ada"], user_id).token

    def message(self, action_id: str = "a1") -> Action:
        return Action(
            id=action_id,
            proposal_id=f"p-{action_id}",
            kind=ActionKind.SEND_MESSAGE,
            snapshot_version=1,
            channel=ChannelName.EMAIL,
            audience=Audience(customer_ids=("c1",)),
            content=Content("Hi", "Warm layers."),
        )

    def submit(self, proposer: str = "agent:crm", action_id: str = "a1") -> str:
        action = self.message(action_id)
        review = self.reviewer.review(action, self.context, RiskTier.MEDIUM)
        submission = self.command.submit(action, review, proposer)
        assert submission.request is not None
        return submission.request.id

    def events(self) -> list[str]:
        return [r.event for r in self.audit.records()]


@pytest.fixture
def world() -> World:
    return World()


def test_two_people_in_the_two_roles_approve_and_the_action_may_run(world: World) -> None:
    request_id = world.submit()
    assert world.store.action("a1").state is ActionState.AWAITING_APPROVAL  # type: ignore[union-attr]
    world.command.answer(request_id, world.tokens["bo"], Role.BRAND, "approve")
    assert world.store.request(request_id).status is ApprovalStatus.PENDING  # type: ignore[union-attr]
    world.command.answer(request_id, world.tokens["lee"], Role.LEGAL, "approve")
    assert world.store.request(request_id).status is ApprovalStatus.APPROVED  # type: ignore[union-attr]
    action = world.store.action("a1")
    assert action is not None
    assert action.state is ActionState.APPROVED
    world.command.use_approval(action)
    with pytest.raises(ApprovalClosed, match="single-use"):
        world.command.use_approval(action)
    assert verify_log(world.audit).ok
    assert "approval.used" in world.events()


@pytest.mark.parametrize(
    ("who", "role", "refusal"),
    [
        ("vic", Role.BRAND, AccessDenied),  # a viewer does not hold brand
        ("sam", Role.LEGAL, AccessDenied),  # a strategist does not hold legal
        ("ana", Role.ANALYST, AccessDenied),  # analyst is not a role this request needs
        ("bud", Role.BUDGET_OWNER, AccessDenied),
        ("ada", Role.ADMIN, AccessDenied),  # admin is not asked (until escalation)
    ],
)
def test_people_without_a_required_role_cannot_approve(
    world: World, who: str, role: Role, refusal: type[Exception]
) -> None:
    request_id = world.submit()
    with pytest.raises(refusal):
        world.command.answer(request_id, world.tokens[who], role, "approve")
    assert world.events()[-1] == "approval.refused.approve"
    assert world.store.request(request_id).approvals == []  # type: ignore[union-attr]


def test_the_proposer_never_approves_and_agents_have_no_token(world: World) -> None:
    request_id = world.submit(proposer="bo")
    with pytest.raises(AccessDenied, match="proposed this"):
        world.command.answer(request_id, world.tokens["bo"], Role.BRAND, "approve")
    with pytest.raises(AccessDenied, match="not valid"):
        world.command.answer(request_id, "mios_agent-made-this-up", Role.BRAND, "approve")
    with pytest.raises(AccessDenied, match="no token"):
        world.command.answer(request_id, None, Role.BRAND, "approve")


def test_one_person_fills_one_quorum_slot(world: World) -> None:
    request_id = world.submit()
    world.command.answer(request_id, world.tokens["both"], Role.BRAND, "approve")
    with pytest.raises(AccessDenied, match="one person, one slot"):
        world.command.answer(request_id, world.tokens["both"], Role.LEGAL, "approve")
    world.command.answer(request_id, world.tokens["lee"], Role.LEGAL, "approve")
    assert world.store.request(request_id).status is ApprovalStatus.APPROVED  # type: ignore[union-attr]


def test_a_rejection_needs_a_reason_and_blocks_the_action(world: World) -> None:
    request_id = world.submit()
    with pytest.raises(DomainError, match="needs a reason"):
        world.command.answer(request_id, world.tokens["lee"], Role.LEGAL, "reject")
    world.command.answer(request_id, world.tokens["lee"], Role.LEGAL, "reject", "claims")
    assert world.store.action("a1").state is ActionState.BLOCKED  # type: ignore[union-attr]
    assert "action.blocked" in world.events()


def test_an_edit_voids_the_request_and_the_editor_cannot_approve_the_new_version(
    world: World,
) -> None:
    request_id = world.submit()
    world.command.answer(request_id, world.tokens["bo"], Role.BRAND, "approve")
    new = world.command.edit(
        request_id,
        world.tokens["lee"],
        world.reviewer,
        world.context,
        content=Content("Hi", "Warm layers, reviewed."),
    )
    assert world.store.request(request_id).status is ApprovalStatus.SUPERSEDED  # type: ignore[union-attr]
    assert new.action.version == 2
    assert new.request is not None
    with pytest.raises(AccessDenied, match="proposed this"):
        world.command.answer(new.request.id, world.tokens["lee"], Role.LEGAL, "approve")
    # An answer bound to the old version's content cannot count for the new one.
    with pytest.raises(ApprovalClosed):
        world.command.answer(request_id, world.tokens["lou"], Role.LEGAL, "approve")
    world.command.answer(new.request.id, world.tokens["bo"], Role.BRAND, "approve")
    world.command.answer(new.request.id, world.tokens["lou"], Role.LEGAL, "approve")
    assert world.store.action("a1").state is ActionState.APPROVED  # type: ignore[union-attr]
    old = world.store.action("a1", version=1)
    assert old is not None
    with pytest.raises(StaleApproval):
        world.store.request(new.request.id).use(old.content_hash())  # type: ignore[union-attr]


def test_an_unanswered_request_escalates_then_expires_and_fails_closed() -> None:
    world = World(ttl_hours=1, escalate_to=(Role.ADMIN,))
    request_id = world.submit()
    world.clock.now = START + timedelta(hours=1)
    world.command.expire_due()
    request = world.store.request(request_id)
    assert request is not None
    assert request.status is ApprovalStatus.ESCALATED
    assert request.required_roles == frozenset({Role.ADMIN})
    world.clock.now = START + timedelta(hours=2, minutes=1)
    with pytest.raises(ApprovalClosed, match="expired"):
        world.command.answer(request_id, world.tokens["ada"], Role.ADMIN, "approve")
    assert world.store.request(request_id).status is ApprovalStatus.EXPIRED  # type: ignore[union-attr]
    assert world.store.action("a1").state is ActionState.BLOCKED  # type: ignore[union-attr]
    events = world.events()
    assert events.index("approval.escalated") < events.index("approval.expired")


def test_a_removed_users_token_stops_working(world: World) -> None:
    world.command.remove_user(world.tokens["ada"], "lee", "left the company")
    request_id = world.submit()
    with pytest.raises(AccessDenied, match="not valid"):
        world.command.answer(request_id, world.tokens["lee"], Role.LEGAL, "approve")


@pytest.mark.parametrize("who", ["ada", "bo", "lee", "sam", "bud", "ana", "vic", "both"])
@pytest.mark.parametrize("operation", list(Operation))
def test_the_authorization_matrix(world: World, who: str, operation: Operation) -> None:
    user = world.store.user(who)
    assert user is not None
    allowed = bool(user.roles & PERMISSIONS[operation])
    token = world.tokens[who]
    attempt: Callable[[], object]
    if operation is Operation.MANAGE_USERS:
        viewer = frozenset({Role.VIEWER})
        attempt = partial(world.command.add_user, token, f"new-{who}", "New", viewer)
    elif operation is Operation.PAUSE:
        attempt = partial(world.command.pause, token, "something looks wrong")
    elif operation is Operation.RESUME:
        world.command.pause(world.tokens["ada"], "set up")
        attempt = partial(world.command.resume, token, "all clear")
    else:
        attempt = partial(authorize, user, operation)
    if allowed:
        attempt()
    else:
        with pytest.raises(AccessDenied):
            attempt()


def test_the_kill_switch_is_audited_and_only_an_admin_resumes(world: World) -> None:
    world.command.pause(world.tokens["lee"], "a claim went out wrong")
    assert world.command.paused is not None
    assert world.command.paused.by == "lee"
    with pytest.raises(AccessDenied, match="resume needs one of: admin"):
        world.command.resume(world.tokens["lee"], "fixed")
    world.command.resume(world.tokens["ada"], "fixed")
    assert world.command.paused is None
    assert [e for e in world.events() if e.startswith("killswitch")] == [
        "killswitch.paused",
        "killswitch.resumed",
    ]


def test_the_first_user_must_be_an_admin_and_later_ones_need_an_admin_token() -> None:
    store, audit, clock = InMemoryGovernanceStore(), InMemoryAuditLog(), Clock()
    command = HumanCommand(store, audit, clock)
    with pytest.raises(AccessDenied, match="first user must be an admin"):
        command.add_user(None, "eve", "Eve", frozenset({Role.VIEWER}))
    command.add_user(None, "ada", "Ada", frozenset({Role.ADMIN}))
    with pytest.raises(AccessDenied, match="no token"):
        command.add_user(None, "eve", "Eve", frozenset({Role.VIEWER}))


def test_no_token_ever_reaches_the_store_or_the_audit_trail(world: World) -> None:
    for token in world.tokens.values():
        assert all(token not in str(record) for record in world.audit.records())
        assert all(
            token not in str(t) for u in world.store.users() for t in world.store.tokens_of(u.id)
        )


def test_a_denied_action_is_blocked_and_the_denial_is_audited(world: World) -> None:
    action = Action(
        id="b1",
        proposal_id="p",
        kind=ActionKind.SET_BUDGET,
        snapshot_version=1,
        channel=ChannelName.EMAIL,
        spend=Money(Decimal("10"), "USD"),
    )
    forbidding = replace(
        world.workspace,
        autonomy=AutonomyMatrix({(ActionKind.SET_BUDGET, RiskTier.LOW): AutonomyMode.FORBID}),
    )
    review = Reviewer(forbidding).review(action, world.context, RiskTier.LOW)
    submission = world.command.submit(action, review, "agent:ads")
    assert submission.action.state is ActionState.BLOCKED
    verdicts = [r for r in world.audit.records() if r.event == "verdict"]
    assert verdicts[-1].data["effect"] == "deny"


def test_a_version_goes_through_the_gate_once(world: World) -> None:
    request_id = world.submit()
    world.command.answer(request_id, world.tokens["lee"], Role.LEGAL, "reject", "claims")
    again = world.message()
    review = world.reviewer.review(again, world.context, RiskTier.MEDIUM)
    with pytest.raises(DomainError, match="already submitted"):
        world.command.submit(again, review, "agent:crm")
    assert world.store.request(request_id).status is ApprovalStatus.REJECTED  # type: ignore[union-attr]


def test_the_last_admin_cannot_be_removed(world: World) -> None:
    with pytest.raises(DomainError, match="last admin"):
        world.command.remove_user(world.tokens["ada"], "ada", "leaving")
    world.command.add_user(world.tokens["ada"], "adb", "Second Admin", frozenset({Role.ADMIN}))
    second = world.command.issue_token(world.tokens["ada"], "adb").token
    world.command.remove_user(world.tokens["ada"], "ada", "leaving")
    with pytest.raises(DomainError, match="no active user"):
        world.command.remove_user(second, "ada", "twice")


def test_an_approval_is_not_spent_while_paused_or_before_approval(world: World) -> None:
    request_id = world.submit()
    waiting = world.store.action("a1")
    assert waiting is not None
    with pytest.raises(DomainError, match="not approved"):
        world.command.use_approval(waiting)
    world.command.answer(request_id, world.tokens["bo"], Role.BRAND, "approve")
    world.command.answer(request_id, world.tokens["lee"], Role.LEGAL, "approve")
    approved = world.store.action("a1")
    assert approved is not None
    world.command.pause(world.tokens["lee"], "hold everything")
    with pytest.raises(DomainError, match="paused"):
        world.command.use_approval(approved)
    world.command.resume(world.tokens["ada"], "clear")
    world.command.use_approval(approved)


def test_an_answer_binds_to_the_hash_the_person_saw(world: World) -> None:
    request_id = world.submit()
    with pytest.raises(StaleApproval, match="content changed"):
        world.command.answer(
            request_id, world.tokens["bo"], Role.BRAND, "approve", seen_hash="f" * 12
        )
    seen = world.store.request(request_id).content_hash[:12]  # type: ignore[union-attr]
    world.command.answer(request_id, world.tokens["bo"], Role.BRAND, "approve", seen_hash=seen)


def test_refusals_of_every_kind_stay_on_record(world: World) -> None:
    with pytest.raises(AccessDenied):
        world.command.resume(world.tokens["lee"], "not mine")
    with pytest.raises(AccessDenied):
        world.command.add_user(world.tokens["sam"], "eve", "Eve", frozenset({Role.VIEWER}))
    request_id = world.submit()
    with pytest.raises(AccessDenied):
        world.command.answer(request_id, "mios_not-a-real-token", Role.LEGAL, "approve")
    with pytest.raises(AccessDenied):
        world.command.edit(
            request_id,
            world.tokens["sam"],
            world.reviewer,
            world.context,
            content=Content("x", "y"),
        )
    refusals = [
        (r.actor_id, r.event) for r in world.audit.records() if r.event.startswith("refused")
    ]
    assert refusals == [
        ("lee", "refused.resume"),
        ("sam", "refused.add_user"),
        ("unauthenticated", "refused.answer.approve"),
        ("sam", "refused.edit"),
    ]
    assert all("mios_not-a-real-token" not in str(r) for r in world.audit.records())
    assert verify_log(world.audit).ok


def test_records_name_the_proposer_and_the_editors_role(world: World) -> None:
    request_id = world.submit(proposer="agent:crm")
    world.command.edit(
        request_id,
        world.tokens["lee"],
        world.reviewer,
        world.context,
        content=Content("Hi", "New."),
    )
    records = list(world.audit.records())
    verdicts = [r.data["proposer"] for r in records if r.event == "verdict"]
    assert verdicts == ["agent:crm", "lee"]  # the editor proposed the new version
    asked = [r.data["proposer"] for r in records if r.event == "approval.requested"]
    assert asked == ["agent:crm", "lee"]
    [edited] = [r for r in records if r.event == "action.edited"]
    assert (edited.actor_id, edited.actor_role) == ("lee", "legal")
