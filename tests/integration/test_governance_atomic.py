"""A governance change and its audit records commit together, on SQLite and PostgreSQL: a
failure in between leaves neither, and a refused approval stays on record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.governance import ApprovalRequest, Role
from mios.domain.proposal import ActionKind, Audience, Content
from mios.errors import AccessDenied, StorageError
from mios.governance.audit import AuditEntry, verify_log
from mios.governance.command import HumanCommand
from mios.persistence.audit_log import SqlAuditLog
from mios.persistence.engine import create_database_engine, migrate
from mios.persistence.governance_store import SqlGovernanceStore
from mios.persistence.shared_transaction import SharedTransaction

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class Parts:
    def __init__(self, url: str) -> None:
        self.engine = create_database_engine(url)
        migrate(self.engine)
        self.shared = SharedTransaction(self.engine)
        self.store = SqlGovernanceStore(self.engine, self.shared)
        self.audit = SqlAuditLog(self.engine, shared=self.shared)
        self.command = HumanCommand(self.store, self.audit, lambda: NOW, transaction=self.shared)
        self.command.add_user(None, "ada", "Ada", frozenset({Role.ADMIN}))
        self.token = self.command.issue_token(None, "ada").token

    def fresh(self) -> tuple[SqlGovernanceStore, SqlAuditLog]:
        """Adapters without the shared transaction: what another process would read."""
        return SqlGovernanceStore(self.engine), SqlAuditLog(self.engine)


@pytest.fixture
def parts(database_url: str) -> Iterator[Parts]:
    built = Parts(database_url)
    yield built
    built.engine.dispose()


def test_a_failed_audit_append_undoes_the_change(
    parts: Parts, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(entry: AuditEntry) -> None:
        raise StorageError("the disk is full")

    monkeypatch.setattr(parts.audit, "append", disk_full)
    with pytest.raises(StorageError, match="disk is full"):
        parts.command.pause(parts.token, "a claim went out wrong")
    monkeypatch.undo()
    store, audit = parts.fresh()
    assert store.pause_state() is None  # the pause did not land without its record
    assert audit.head()[0] == 2  # user.added and credential.issued only
    assert verify_log(audit).ok


def test_a_change_and_its_record_land_together(parts: Parts) -> None:
    parts.command.pause(parts.token, "a claim went out wrong")
    store, audit = parts.fresh()
    state = store.pause_state()
    assert state is not None
    assert state.by == "ada"
    assert [r.event for r in audit.records()][-1] == "killswitch.paused"


def test_a_refused_approval_is_committed_before_it_is_raised(parts: Parts) -> None:
    parts.command.add_user(parts.token, "vic", "Vic", frozenset({Role.VIEWER}))
    viewer = parts.command.issue_token(parts.token, "vic").token
    action = Action(
        id="a1",
        proposal_id="p1",
        kind=ActionKind.SEND_MESSAGE,
        snapshot_version=1,
        channel=ChannelName.EMAIL,
        audience=Audience(segment_id="vip"),
        content=Content("Hi", "Warm layers."),
    )
    action.decide(NOW)
    action.await_approval(NOW)
    request = ApprovalRequest(
        "req-a1", "a1", action.content_hash(), "agent:crm", frozenset({Role.LEGAL}), 1,
        NOW, NOW + timedelta(hours=1),
    )  # fmt: skip
    parts.store.save_action(action)
    parts.store.save_request(request)
    with pytest.raises(AccessDenied, match="does not hold role legal"):
        parts.command.answer("req-a1", viewer, Role.LEGAL, "approve")
    _, audit = parts.fresh()
    refusal = [r for r in audit.records() if r.event == "approval.refused.approve"]
    assert [(r.actor_id, r.subject) for r in refusal] == [("vic", "req-a1")]
    assert verify_log(audit).ok


def test_two_people_answering_at_once_both_count(
    parts: Parts, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time

    for user_id, role in (("bo", Role.BRAND), ("lee", Role.LEGAL)):
        parts.command.add_user(parts.token, user_id, user_id, frozenset({role}))
    tokens = {u: parts.command.issue_token(parts.token, u).token for u in ("bo", "lee")}
    action = Action(
        id="a2",
        proposal_id="p2",
        kind=ActionKind.SEND_MESSAGE,
        snapshot_version=1,
        channel=ChannelName.EMAIL,
        audience=Audience(segment_id="vip"),
        content=Content("Hi", "Warm layers."),
    )
    action.decide(NOW)
    action.await_approval(NOW)
    roles = frozenset({Role.BRAND, Role.LEGAL})
    request = ApprovalRequest(
        "req-a2", "a2", action.content_hash(), "agent:crm", roles, 2, NOW, NOW + timedelta(hours=1)
    )
    parts.store.save_action(action)
    parts.store.save_request(request)
    read = parts.store.request

    def slow_read(request_id: str) -> ApprovalRequest | None:
        found = read(request_id)
        time.sleep(0.1)  # both answers hold what they read while the other one runs
        return found

    monkeypatch.setattr(parts.store, "request", slow_read)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def answer(user_id: str, role: Role) -> None:
        start.wait()
        try:
            parts.command.answer("req-a2", tokens[user_id], role, "approve")
        except BaseException as exc:  # reported below, so a failure in a thread is not lost
            errors.append(exc)

    threads = [
        threading.Thread(target=answer, args=("bo", Role.BRAND)),
        threading.Thread(target=answer, args=("lee", Role.LEGAL)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store, audit = parts.fresh()
    saved = store.request("req-a2")
    assert saved is not None
    assert {a.approver.id for a in saved.approvals} == {"bo", "lee"}  # neither overwrote the other
    assert str(saved.status) == "approved"
    assert verify_log(audit).ok
