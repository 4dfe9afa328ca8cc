"""Verdicts, approvals with separation of duties, and the hash-chained audit log."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mios.domain.audit import GENESIS, AuditRecord, audit_hash, verify_chain
from mios.domain.governance import (
    Actor,
    Approval,
    ApprovalClosed,
    ApprovalRefused,
    ApprovalRequest,
    ApprovalStatus,
    Finding,
    FindingSeverity,
    Role,
    SeparationOfDuties,
    StaleApproval,
    Verdict,
    VerdictEffect,
    WrongRole,
)
from mios.errors import DomainError

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
HASH = "a" * 64
OTHER_HASH = "b" * 64
DENY = Finding("claims.unapproved", "claim c9 is not approved", FindingSeverity.DENY, span="c9")
WARN = Finding("tone.exclaim", "three exclamation marks", FindingSeverity.WARN)
NEEDS_LEGAL = Finding("legal.health", "health claim", FindingSeverity.APPROVE)

ANA = Actor("ana", "person", frozenset({Role.BRAND}))
LEO = Actor("leo", "person", frozenset({Role.LEGAL}))
BOB = Actor("bob", "person", frozenset({Role.BRAND, Role.LEGAL}))
CRM_AGENT = Actor("crm", "agent", frozenset({Role.BRAND}))

Decision = Literal["approve", "reject", "request_changes"]


def request(**overrides: Any) -> ApprovalRequest:
    fields: dict[str, Any] = {
        "id": "r1",
        "action_id": "a1",
        "content_hash": HASH,
        "proposer_id": "crm",
        "required_roles": frozenset({Role.BRAND}),
        "quorum": 1,
        "created_at": T0,
        "expires_at": T0 + timedelta(hours=24),
    }
    fields.update(overrides)
    return ApprovalRequest(**fields)


def answer(
    who: Actor,
    role: Role = Role.BRAND,
    *,
    decision: Decision = "approve",
    content_hash: str = HASH,
    request_id: str = "r1",
    reason: str | None = None,
) -> Approval:
    return Approval(request_id, who, role, content_hash, T0, decision, reason)


NOW = T0 + timedelta(hours=1)


class TestFindingAndVerdict:
    def test_a_finding_needs_a_rule_and_a_message(self) -> None:
        with pytest.raises(DomainError, match="rule"):
            Finding("", "msg", FindingSeverity.INFO)
        with pytest.raises(DomainError, match="message"):
            Finding("r", " ", FindingSeverity.INFO)

    def test_approve_needs_a_role(self) -> None:
        with pytest.raises(DomainError, match="at least one role"):
            Verdict("a1", HASH, VerdictEffect.APPROVE, quorum=1)

    def test_approve_needs_a_quorum(self) -> None:
        with pytest.raises(DomainError, match="quorum >= 1"):
            Verdict("a1", HASH, VerdictEffect.APPROVE, required_roles=frozenset({Role.LEGAL}))

    def test_deny_needs_a_deny_finding(self) -> None:
        with pytest.raises(DomainError, match="deny needs at least one deny finding"):
            Verdict("a1", HASH, VerdictEffect.DENY, (WARN,))

    def test_a_deny_finding_cannot_be_allowed(self) -> None:
        with pytest.raises(DomainError, match="makes the verdict deny"):
            Verdict("a1", HASH, VerdictEffect.ALLOW, (DENY,))

    def test_only_approve_names_roles(self) -> None:
        with pytest.raises(DomainError, match="only an approve verdict"):
            Verdict("a1", HASH, VerdictEffect.ALLOW, required_roles=frozenset({Role.BRAND}))

    def test_an_approve_finding_cannot_be_allowed(self) -> None:
        with pytest.raises(DomainError, match="approve finding needs roles"):
            Verdict("a1", HASH, VerdictEffect.ALLOW, (NEEDS_LEGAL,))

    def test_a_verdict_names_its_action_and_content(self) -> None:
        with pytest.raises(DomainError, match="action id and a content hash"):
            Verdict("a1", "", VerdictEffect.ALLOW)

    def test_from_findings_worst_wins(self) -> None:
        denied = Verdict.from_findings("a1", HASH, [WARN, DENY], {Role.LEGAL}, 1)
        assert denied.effect is VerdictEffect.DENY
        assert denied.required_roles == frozenset()
        approve = Verdict.from_findings("a1", HASH, [WARN, NEEDS_LEGAL], {Role.LEGAL})
        assert approve.effect is VerdictEffect.APPROVE
        assert approve.quorum == 1
        allowed = Verdict.from_findings("a1", HASH, [WARN])
        assert allowed.effect is VerdictEffect.ALLOW
        assert allowed.findings == (WARN,)

    def test_from_findings_refuses_an_approve_finding_with_nobody_to_approve(self) -> None:
        with pytest.raises(DomainError, match="approve finding needs roles"):
            Verdict.from_findings("a1", HASH, [NEEDS_LEGAL])


class TestActorAndApproval:
    def test_actor_kind_is_checked(self) -> None:
        with pytest.raises(DomainError, match="person, agent or system"):
            Actor("x", "robot")  # type: ignore[arg-type]

    def test_actor_needs_an_id(self) -> None:
        with pytest.raises(DomainError, match="id"):
            Actor("", "person")

    @pytest.mark.parametrize("decision", ["reject", "request_changes"])
    def test_saying_no_needs_a_reason(self, decision: Decision) -> None:
        with pytest.raises(DomainError, match="needs a reason"):
            answer(ANA, decision=decision)
        with pytest.raises(DomainError, match="needs a reason"):
            answer(ANA, decision=decision, reason="  ")

    def test_unknown_decision_is_refused(self) -> None:
        with pytest.raises(DomainError, match="unknown approval decision"):
            Approval("r1", ANA, Role.BRAND, HASH, T0, "maybe")  # type: ignore[arg-type]

    def test_approval_time_must_be_aware(self) -> None:
        with pytest.raises(DomainError, match="approval time"):
            Approval("r1", ANA, Role.BRAND, HASH, datetime(2025, 1, 1), "approve")


class TestApprovalRequestShape:
    def test_needs_a_role(self) -> None:
        with pytest.raises(DomainError, match="at least one role"):
            request(required_roles=frozenset())

    def test_needs_a_quorum(self) -> None:
        with pytest.raises(DomainError, match="quorum >= 1"):
            request(quorum=0)

    def test_must_expire_after_creation(self) -> None:
        with pytest.raises(DomainError, match="expire after"):
            request(expires_at=T0)

    def test_times_must_be_aware(self) -> None:
        with pytest.raises(DomainError, match="expires_at"):
            request(expires_at=datetime(2025, 3, 2))

    def test_needs_a_proposer(self) -> None:
        with pytest.raises(DomainError, match="proposer"):
            request(proposer_id="")

    def test_built_from_an_approve_verdict(self) -> None:
        verdict = Verdict.from_findings("a1", HASH, [NEEDS_LEGAL], {Role.LEGAL}, 2)
        made = ApprovalRequest.for_verdict(
            "r1", verdict, proposer_id="crm", created_at=T0, ttl=timedelta(hours=4)
        )
        assert (made.action_id, made.content_hash, made.quorum) == ("a1", HASH, 2)
        assert made.required_roles == frozenset({Role.LEGAL})
        assert made.expires_at == T0 + timedelta(hours=4)
        assert made.status is ApprovalStatus.PENDING

    def test_not_built_from_an_allow_verdict(self) -> None:
        verdict = Verdict.from_findings("a1", HASH, [])
        with pytest.raises(DomainError, match="not approve"):
            ApprovalRequest.for_verdict(
                "r1", verdict, proposer_id="crm", created_at=T0, ttl=timedelta(hours=4)
            )


class TestRecording:
    def test_one_approval_in_the_required_role_approves(self) -> None:
        pending = request()
        assert pending.record(answer(ANA), NOW) is ApprovalStatus.APPROVED
        assert pending.approvals[0].approver == ANA

    def test_quorum_needs_that_many_different_people(self) -> None:
        pending = request(quorum=2)
        assert pending.record(answer(ANA), NOW) is ApprovalStatus.PENDING
        assert pending.record(answer(BOB), NOW) is ApprovalStatus.APPROVED

    def test_every_required_role_must_be_covered(self) -> None:
        pending = request(required_roles=frozenset({Role.BRAND, Role.LEGAL}), quorum=1)
        assert pending.record(answer(ANA), NOW) is ApprovalStatus.PENDING
        assert pending.record(answer(BOB), NOW) is ApprovalStatus.PENDING  # brand again
        assert pending.record(answer(LEO, Role.LEGAL), NOW) is ApprovalStatus.APPROVED

    def test_an_agent_can_never_approve_even_its_own_proposal(self) -> None:
        pending = request()
        with pytest.raises(SeparationOfDuties, match="agent crm cannot approve"):
            pending.record(answer(CRM_AGENT), NOW)
        assert pending.approvals == []

    def test_the_system_cannot_approve(self) -> None:
        system = Actor("scheduler", "system", frozenset({Role.BRAND}))
        with pytest.raises(SeparationOfDuties, match="system scheduler cannot approve"):
            request().record(answer(system), NOW)

    def test_the_proposer_cannot_approve(self) -> None:
        with pytest.raises(SeparationOfDuties, match="ana proposed this"):
            request(proposer_id="ana").record(answer(ANA), NOW)

    def test_the_same_person_fills_one_slot(self) -> None:
        pending = request(quorum=2)
        pending.record(answer(BOB), NOW)
        with pytest.raises(SeparationOfDuties, match="already answered"):
            pending.record(answer(BOB), NOW)
        assert len(pending.approvals) == 1
        assert pending.status is ApprovalStatus.PENDING

    def test_one_person_cannot_cover_two_roles(self) -> None:
        pending = request(required_roles=frozenset({Role.BRAND, Role.LEGAL}))
        pending.record(answer(BOB, Role.BRAND), NOW)
        with pytest.raises(SeparationOfDuties):
            pending.record(answer(BOB, Role.LEGAL), NOW)

    def test_a_role_the_request_does_not_need_is_refused(self) -> None:
        with pytest.raises(WrongRole, match="role legal is not required"):
            request().record(answer(LEO, Role.LEGAL), NOW)

    def test_a_role_the_person_does_not_hold_is_refused(self) -> None:
        with pytest.raises(WrongRole, match="leo does not hold role brand"):
            request().record(answer(LEO, Role.BRAND), NOW)

    def test_an_approval_of_other_content_is_refused(self) -> None:
        pending = request()
        with pytest.raises(StaleApproval, match="content changed"):
            pending.record(answer(ANA, content_hash=OTHER_HASH), NOW)
        assert pending.status is ApprovalStatus.PENDING

    def test_an_approval_of_another_request_is_refused(self) -> None:
        with pytest.raises(StaleApproval, match="request r2"):
            request().record(answer(ANA, request_id="r2"), NOW)

    def test_after_expiry_nothing_counts_and_the_request_expires(self) -> None:
        pending = request()
        late = pending.expires_at
        with pytest.raises(ApprovalClosed, match="expired"):
            pending.record(answer(ANA), late)
        assert pending.status is ApprovalStatus.EXPIRED
        assert pending.approvals == []
        with pytest.raises(ApprovalClosed, match="is expired"):
            pending.record(answer(BOB), late)

    def test_a_late_answer_triggers_escalation_but_still_does_not_count(self) -> None:
        pending = request(escalate_to=(Role.ADMIN,))
        with pytest.raises(ApprovalClosed):
            pending.record(answer(ANA), pending.expires_at + timedelta(minutes=1))
        assert pending.status is ApprovalStatus.ESCALATED
        assert pending.approvals == []

    def test_after_rejection_nothing_counts(self) -> None:
        pending = request(quorum=2)
        rejected = pending.record(answer(ANA, decision="reject", reason="off brand"), NOW)
        assert rejected is ApprovalStatus.REJECTED
        with pytest.raises(ApprovalClosed, match="is rejected"):
            pending.record(answer(BOB), NOW)

    def test_a_request_for_changes_closes_the_request(self) -> None:
        pending = request()
        status = pending.record(answer(ANA, decision="request_changes", reason="softer"), NOW)
        assert status is ApprovalStatus.CHANGES_REQUESTED
        assert not pending.is_open

    def test_every_refusal_is_an_approval_refused_and_a_domain_error(self) -> None:
        with pytest.raises(ApprovalRefused):
            request().record(answer(CRM_AGENT), NOW)
        assert issubclass(ApprovalRefused, DomainError)

    def test_now_must_be_aware(self) -> None:
        with pytest.raises(DomainError, match="now"):
            request().record(answer(ANA), datetime(2025, 3, 1))


class TestExpiryAndUse:
    def test_expiring_before_the_deadline_is_refused(self) -> None:
        with pytest.raises(DomainError, match="not due"):
            request().expire(NOW)

    def test_escalation_hands_the_decision_to_the_next_role(self) -> None:
        pending = request(quorum=2, escalate_to=(Role.LEGAL, Role.ADMIN))
        pending.record(answer(ANA), NOW)
        deadline = pending.expires_at
        assert pending.expire(deadline) is ApprovalStatus.ESCALATED
        assert pending.required_roles == frozenset({Role.LEGAL})
        assert pending.quorum == 1
        assert pending.escalate_to == (Role.ADMIN,)
        assert pending.expires_at == deadline + timedelta(hours=24)
        assert not pending.is_satisfied  # ana's brand approval no longer counts
        assert pending.record(answer(LEO, Role.LEGAL), deadline) is ApprovalStatus.APPROVED

    def test_with_no_one_left_to_escalate_to_it_expires(self) -> None:
        pending = request(escalate_to=(Role.ADMIN,))
        pending.expire(pending.expires_at)
        assert pending.expire(pending.expires_at) is ApprovalStatus.EXPIRED

    def test_a_closed_request_cannot_expire(self) -> None:
        pending = request()
        pending.record(answer(ANA), NOW)
        with pytest.raises(ApprovalClosed):
            pending.expire(pending.expires_at)

    def test_an_approval_is_used_exactly_once(self) -> None:
        pending = request()
        pending.record(answer(ANA), NOW)
        pending.use(HASH)
        assert pending.status is ApprovalStatus.USED
        with pytest.raises(ApprovalClosed, match="single-use"):
            pending.use()

    def test_a_pending_request_cannot_be_used(self) -> None:
        with pytest.raises(ApprovalClosed, match="not approved"):
            request().use()

    def test_it_cannot_be_used_for_other_content(self) -> None:
        pending = request()
        pending.record(answer(ANA), NOW)
        with pytest.raises(StaleApproval):
            pending.use(OTHER_HASH)
        assert pending.status is ApprovalStatus.APPROVED


def chain(length: int, data: list[dict[str, Any]] | None = None) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    prev = GENESIS
    for i in range(length):
        record = AuditRecord.create(
            seq=i + 1,
            prev_hash=prev,
            at=T0 + timedelta(seconds=i),
            actor_id=f"user{i % 3}",
            actor_role="brand" if i % 2 else None,
            event="action.approved",
            subject=f"action:{i}",
            data=(data[i] if data else {"n": i}),
            reason="ok" if i % 2 else None,
        )
        records.append(record)
        prev = record.hash
    return records


def tamper(record: AuditRecord, field: str) -> AuditRecord:
    changed: dict[str, Any] = {
        "seq": record.seq + 100,
        "at": record.at + timedelta(microseconds=1),
        "actor_id": record.actor_id + "x",
        "actor_role": (record.actor_role or "") + "x",
        "event": record.event + "x",
        "subject": record.subject + "x",
        "data": {**record.data, "tampered": True},
        "reason": (record.reason or "") + "x",
        "prev_hash": "f" * 64 if record.prev_hash != "f" * 64 else "e" * 64,
        "hash": "f" * 64 if record.hash != "f" * 64 else "e" * 64,
    }
    return replace(record, **{field: changed[field]})


FIELDS = ["seq", "at", "actor_id", "actor_role", "event", "subject", "data", "reason"]
FIELDS += ["prev_hash", "hash"]


class TestAuditChain:
    def test_an_intact_chain_verifies(self) -> None:
        records = chain(5)
        assert verify_chain(records) is None
        assert verify_chain(records, head=records[-1].hash) is None
        assert verify_chain([]) is None

    def test_each_record_links_to_the_one_before(self) -> None:
        records = chain(3)
        assert records[0].prev_hash == GENESIS
        assert [r.prev_hash for r in records[1:]] == [r.hash for r in records[:-1]]
        assert records[1].hash == audit_hash(records[1].prev_hash, records[1].body())
        assert "hash" not in records[1].body()

    def test_the_hash_depends_on_the_previous_hash(self) -> None:
        body = chain(1)[0].body()
        assert audit_hash(GENESIS, body) != audit_hash("1" * 64, body)

    def test_dropping_the_last_record_shows_only_against_a_head(self) -> None:
        records = chain(4)
        assert verify_chain(records[:-1]) is None
        assert verify_chain(records[:-1], head=records[-1].hash) == 4

    def test_a_segment_verifies_from_its_own_start(self) -> None:
        records = chain(6)
        assert verify_chain(records[3:], genesis=records[2].hash, start_seq=4) is None
        assert verify_chain(records[3:]) == 1

    def test_a_record_must_be_well_formed(self) -> None:
        with pytest.raises(DomainError, match="seq must be >= 1"):
            replace(chain(1)[0], seq=0)
        with pytest.raises(DomainError, match="audit time"):
            replace(chain(1)[0], at=datetime(2025, 1, 1))
        with pytest.raises(DomainError, match="actor, an event and a subject"):
            replace(chain(1)[0], event="")
        with pytest.raises(DomainError, match="cannot encode"):
            replace(chain(1)[0], data={"when": object()})

    @settings(database=None, max_examples=200)
    @given(st.data())
    def test_any_single_tampering_is_caught_at_its_seq(self, data: st.DataObject) -> None:
        length = data.draw(st.integers(1, 8), label="length")
        payloads = data.draw(
            st.lists(
                st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5)),
                min_size=length,
                max_size=length,
            ),
            label="payloads",
        )
        records = chain(length, payloads)
        head = records[-1].hash
        assert verify_chain(records, head=head) is None
        kinds = ["modify", "remove"] + (["swap"] if length > 1 else [])
        kind = data.draw(st.sampled_from(kinds), label="kind")
        i = data.draw(st.integers(0, length - 1), label="i")
        broken = list(records)
        if kind == "modify":
            broken[i] = tamper(records[i], data.draw(st.sampled_from(FIELDS), label="field"))
        elif kind == "remove":
            del broken[i]
        else:
            j = data.draw(st.integers(0, length - 1).filter(lambda j: j != i), label="j")
            i, j = min(i, j), max(i, j)
            broken[i], broken[j] = broken[j], broken[i]
        assert verify_chain(broken, head=head) == i + 1
