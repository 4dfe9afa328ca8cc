"""One contract for every GovernanceStore: in memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from mios.domain.action import Action, ActionState
from mios.domain.channel import ChannelName
from mios.domain.governance import (
    Actor,
    Approval,
    ApprovalRequest,
    ApprovalStatus,
    Role,
)
from mios.domain.money import Money
from mios.domain.proposal import ActionKind, Audience, Content
from mios.governance.codec import action_to_json, request_to_json
from mios.governance.people import TokenRecord, User
from mios.governance.store import GovernanceStore, InMemoryGovernanceStore, PauseState
from mios.persistence.engine import create_database_engine, migrate
from mios.persistence.governance_store import OPEN_STATUSES, SqlGovernanceStore

T0 = datetime(2026, 11, 24, 9, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[GovernanceStore]:
    if request.param == "memory":
        yield InMemoryGovernanceStore()
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    engine = create_database_engine(url)
    migrate(engine)
    yield SqlGovernanceStore(engine)
    engine.dispose()


def user(user_id: str, *roles: Role, minutes: int = 0) -> User:
    return User(
        user_id, user_id.title(), frozenset(roles or {Role.VIEWER}), T0 + timedelta(minutes)
    )


def message(action_id: str = "a1", version: int = 1) -> Action:
    return Action(
        id=action_id,
        proposal_id=f"p-{action_id}",
        kind=ActionKind.SEND_MESSAGE,
        snapshot_version=3,
        channel=ChannelName.EMAIL,
        audience=Audience("vip", ("c1", "c2")),
        content=Content("Hi", "Warm layers.", claims=("recycled-shell",)),
        spend=Money(Decimal("12.50"), "EUR"),
        parameters={"headers": {"List-Unsubscribe": "<mailto:u@x.example>"}, "cap": Decimal("1.0")},
        version=version,
    )


def request_for(action: Action, request_id: str | None = None) -> ApprovalRequest:
    return ApprovalRequest(
        id=request_id or f"req-{action.id}-v{action.version}",
        action_id=action.id,
        content_hash=action.content_hash(),
        proposer_id="agent:crm",
        required_roles=frozenset({Role.BRAND, Role.LEGAL}),
        quorum=2,
        created_at=T0,
        expires_at=T0 + timedelta(hours=24),
        escalate_to=(Role.ADMIN,),
    )


def approve(request: ApprovalRequest, who: str, role: Role) -> None:
    person = Actor(who, "person", frozenset({role}))
    request.record(
        Approval(
            request.id, person, role, request.content_hash, T0 + timedelta(minutes=5), "approve"
        ),
        T0 + timedelta(minutes=5),
    )


# -- users -----------------------------------------------------------------------------------------


def test_users_are_saved_read_listed_and_replaced(store: GovernanceStore) -> None:
    assert store.users() == []
    assert store.user("ada") is None
    ada = user("ada", Role.ADMIN, Role.LEGAL)
    store.save_user(ada)
    store.save_user(user("bo", Role.BRAND, minutes=1))
    assert store.user("ada") == ada
    assert store.user("ada").created_at.tzinfo is UTC  # type: ignore[union-attr]
    assert {u.id for u in store.users()} == {"ada", "bo"}
    store.save_user(replace(ada, name="Ada L.", active=False, roles=frozenset({Role.ANALYST})))
    again = store.user("ada")
    assert again is not None
    assert (again.name, again.active, again.roles) == ("Ada L.", False, frozenset({Role.ANALYST}))
    assert len(store.users()) == 2


# -- tokens ----------------------------------------------------------------------------------------


def test_tokens_are_found_by_digest_listed_per_user_and_revoked(store: GovernanceStore) -> None:
    store.save_user(user("ada", Role.ADMIN))
    store.save_user(user("bo", Role.BRAND))
    first = TokenRecord("a" * 64, "ada", T0, label="laptop")
    second = TokenRecord("b" * 64, "ada", T0 + timedelta(seconds=1))
    other = TokenRecord("c" * 64, "bo", T0)
    for record in (first, second, other):
        store.save_token(record)
    assert store.token("a" * 64) == first
    assert store.token("d" * 64) is None
    assert sorted(t.digest for t in store.tokens_of("ada")) == ["a" * 64, "b" * 64]
    assert store.tokens_of("nobody") == []
    store.save_token(replace(first, revoked=True))
    revoked = store.token("a" * 64)
    assert revoked is not None
    assert revoked.revoked
    assert revoked.label == "laptop"
    assert len(store.tokens_of("ada")) == 2


# -- actions ---------------------------------------------------------------------------------------


def test_the_newest_version_of_an_action_is_the_default(store: GovernanceStore) -> None:
    v1 = message()
    v1.decide(T0)
    v1.await_approval(T0)
    store.save_action(v1)
    v2 = v1.edited(at=T0 + timedelta(minutes=1), by="lee", content=Content("Hi", "Edited."))
    store.save_action(v2)
    newest = store.action("a1")
    assert newest is not None
    assert (newest.version, newest.content) == (2, Content("Hi", "Edited."))
    old = store.action("a1", version=1)
    assert old is not None
    assert old.state is ActionState.AWAITING_APPROVAL
    assert action_to_json(old) == action_to_json(v1)
    assert old.content_hash() == v1.content_hash()
    assert store.action("a1", version=3) is None
    assert store.action("nope") is None


def test_saving_an_action_version_again_replaces_it(store: GovernanceStore) -> None:
    action = message()
    store.save_action(action)
    action.decide(T0)
    action.approve(T0, "lee")
    store.save_action(action)
    found = store.action("a1", version=1)
    assert found is not None
    assert found.state is ActionState.APPROVED
    assert [t.to_state for t in found.history] == [ActionState.DECIDED, ActionState.APPROVED]


# -- requests --------------------------------------------------------------------------------------


def test_requests_keep_the_order_they_were_first_saved_in(store: GovernanceStore) -> None:
    ids = ["req-z", "req-a", "req-m"]
    for request_id in ids:
        store.save_request(request_for(message(), request_id))
    assert [r.id for r in store.requests()] == ids
    replaced = request_for(message(), "req-z")
    approve(replaced, "bo", Role.BRAND)
    store.save_request(replaced)
    assert [r.id for r in store.requests()] == ids
    found = store.request("req-z")
    assert found is not None
    assert request_to_json(found) == request_to_json(replaced)
    assert store.request("req-none") is None


def test_open_only_leaves_out_every_closed_request(store: GovernanceStore) -> None:
    for status in ApprovalStatus:
        store.save_request(replace(request_for(message(), f"req-{status}"), status=status))
    open_ids = [r.id for r in store.requests(open_only=True)]
    assert open_ids == [
        f"req-{s}" for s in ApprovalStatus if replace(request_for(message()), status=s).is_open
    ]
    assert sorted(open_ids) == sorted(f"req-{s}" for s in OPEN_STATUSES)
    assert len(store.requests()) == len(ApprovalStatus)


def test_an_approved_request_reads_back_with_its_approvals(store: GovernanceStore) -> None:
    request = request_for(message())
    approve(request, "bo", Role.BRAND)
    approve(request, "lee", Role.LEGAL)
    store.save_request(request)
    found = store.request(request.id)
    assert found is not None
    assert found.status is ApprovalStatus.APPROVED
    assert [a.approver.id for a in found.approvals] == ["bo", "lee"]
    assert found.escalation_window == timedelta(hours=24)


# -- the kill switch -------------------------------------------------------------------------------


def test_the_pause_state_is_set_and_cleared(store: GovernanceStore) -> None:
    assert store.pause_state() is None
    state = PauseState("lee", T0, "a claim went out wrong")
    store.set_pause_state(state)
    assert store.pause_state() == state
    store.set_pause_state(PauseState("ada", T0 + timedelta(hours=1), "again"))
    assert store.pause_state() == PauseState("ada", T0 + timedelta(hours=1), "again")
    store.set_pause_state(None)
    assert store.pause_state() is None
    store.set_pause_state(None)  # clearing twice is fine
    assert store.pause_state() is None


# -- copies ----------------------------------------------------------------------------------------


def test_stored_objects_are_copies(store: GovernanceStore) -> None:
    action = message()
    store.save_action(action)
    action.decide(T0)
    action.parameters["cap"] = Decimal("9")
    assert store.action("a1").state is ActionState.PROPOSED  # type: ignore[union-attr]
    read = store.action("a1")
    assert read is not None
    read.history.append(action.history[0])
    read.parameters.clear()
    again = store.action("a1")
    assert again is not None
    assert again.history == []
    assert again.parameters["cap"] == Decimal("1.0")

    request = request_for(message())
    store.save_request(request)
    approve(request, "bo", Role.BRAND)
    assert store.request(request.id).approvals == []  # type: ignore[union-attr]
    got = store.request(request.id)
    assert got is not None
    got.supersede()
    assert store.request(request.id).status is ApprovalStatus.PENDING  # type: ignore[union-attr]
    assert [r.status for r in store.requests()] == [ApprovalStatus.PENDING]
