"""A change of the rules (policy packs, autonomy, governance settings) is an action an admin
approves: it waits, takes effect once, is never replayed, and every step is audited."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mios.domain.action import ActionState
from mios.domain.governance import ApprovalStatus, Role
from mios.domain.proposal import ActionKind
from mios.errors import AccessDenied, DomainError
from mios.governance.audit import InMemoryAuditLog, verify_log
from mios.governance.changes import summary
from mios.governance.command import HumanCommand
from mios.governance.review import Reviewer
from mios.governance.store import InMemoryGovernanceStore

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def rules(effect: str = "deny", insight: str = "auto") -> dict[str, Any]:
    """Governance parts as ``mios.context.service.governance_parts`` writes them."""
    return {
        "policies": {
            "brand": {
                "pack": "brand",
                "rules": [{"id": "banned", "effect": effect, "when": "true"}],
            }
        },
        "autonomy": {"default": "approve", "rules": [{"kind": "insight", "mode": insight}]},
        "guardrails": {"pii": {"entities": ["EMAIL_ADDRESS"]}},
    }


A, B, C = rules(), rules("warn"), rules(insight="notify")


@pytest.fixture
def world() -> tuple[HumanCommand, dict[str, str]]:
    command = HumanCommand(InMemoryGovernanceStore(), InMemoryAuditLog(), lambda: NOW)
    command.add_user(None, "ada", "Ada", frozenset({Role.ADMIN}))
    tokens = {"ada": command.issue_token(None, "ada").token}
    for user_id, roles in {"max": {Role.ADMIN}, "bo": {Role.BRAND}}.items():
        command.add_user(tokens["ada"], user_id, user_id.title(), frozenset(roles))
        tokens[user_id] = command.issue_token(tokens["ada"], user_id).token
    return command, tokens


def events(command: HumanCommand) -> list[str]:
    return [r.event for r in command.audit.records()]


def approve(command: HumanCommand, token: str, request_id: str) -> None:
    request = command.store.request(request_id)
    assert request is not None
    command.answer(request_id, token, Role.ADMIN, "approve", seen_hash=request.content_hash)


def test_the_first_rules_and_changes_before_any_admin_take_effect_and_are_recorded() -> None:
    command = HumanCommand(InMemoryGovernanceStore(), InMemoryAuditLog(), lambda: NOW)
    first = command.admit_governance_change("cli:kim", None, A, 1)
    assert (first.outcome, first.takes_effect, first.changes) == ("loaded", True, ())
    later = command.admit_governance_change("cli:kim", A, B, 2)
    assert later.outcome == "loaded"
    assert later.changes == ("policy pack brand: rule banned changed (effect: deny -> warn)",)
    [loaded, unguarded] = command.audit.records()
    assert (loaded.event, loaded.actor_id) == ("governance.loaded", "cli:kim")
    assert loaded.reason == "first load"
    assert unguarded.reason == "no admin is enrolled to approve it"
    assert unguarded.data["changes"] == list(later.changes)


def test_a_change_waits_for_one_admin_then_takes_effect_once(
    world: tuple[HumanCommand, dict[str, str]],
) -> None:
    command, tokens = world
    asked = command.admit_governance_change("cli:kim", A, B, 2)
    assert (asked.outcome, asked.takes_effect) == ("awaiting", False)
    assert asked.request is not None
    assert (asked.request.required_roles, asked.request.quorum) == ({Role.ADMIN}, 1)
    action = command.store.action(asked.action_id)
    assert action is not None
    assert action.kind is ActionKind.CHANGE_POLICY
    assert action.parameters["changes"] == list(asked.changes)
    # Syncing again neither asks twice nor lets it through.
    again = command.admit_governance_change("cli:kim", A, B, 3)
    assert (again.outcome, again.request) == ("awaiting", asked.request)
    with pytest.raises(AccessDenied):  # brand may not approve a change of the rules
        command.answer(asked.request.id, tokens["bo"], Role.BRAND, "approve")
    approve(command, tokens["ada"], asked.request.id)
    applied = command.admit_governance_change("cli:kim", A, B, 3)
    assert (applied.outcome, applied.takes_effect) == ("applied", True)
    used = command.store.request(asked.request.id)
    assert used is not None
    assert used.status is ApprovalStatus.USED
    assert events(command)[-1] == "governance.applied"
    assert verify_log(command.audit).ok


def test_an_approval_is_never_replayed_onto_the_same_transition_later(
    world: tuple[HumanCommand, dict[str, str]],
) -> None:
    """A → B approved and applied, then B → A; A → B again must be asked anew."""
    command, tokens = world
    first = command.admit_governance_change("cli:kim", A, B, 2)
    assert first.request is not None
    approve(command, tokens["ada"], first.request.id)
    assert command.admit_governance_change("cli:kim", A, B, 2).outcome == "applied"
    back = command.admit_governance_change("cli:kim", B, A, 3)
    assert back.request is not None
    approve(command, tokens["ada"], back.request.id)
    assert command.admit_governance_change("cli:kim", B, A, 3).outcome == "applied"
    forth = command.admit_governance_change("cli:kim", A, B, 4)
    assert forth.outcome == "awaiting"
    assert forth.request is not None
    assert forth.request.id.endswith("-v2")  # the same transition, a new version to approve


def test_the_proposer_cannot_approve_their_own_change(
    world: tuple[HumanCommand, dict[str, str]],
) -> None:
    command, tokens = world
    asked = command.admit_governance_change("ada", A, C, 2)
    assert asked.request is not None
    action = command.store.action(asked.action_id)
    assert action is not None
    assert action.kind is ActionKind.CHANGE_AUTONOMY  # only the matrix moved
    with pytest.raises(AccessDenied, match="proposed"):
        approve(command, tokens["ada"], asked.request.id)
    approve(command, tokens["max"], asked.request.id)
    assert command.admit_governance_change("ada", A, C, 2).outcome == "applied"


def test_a_rejected_change_stays_refused_until_asked_again(
    world: tuple[HumanCommand, dict[str, str]],
) -> None:
    command, tokens = world
    asked = command.admit_governance_change("cli:kim", A, B, 2)
    assert asked.request is not None
    command.answer(asked.request.id, tokens["max"], Role.ADMIN, "reject", "keep it a deny")
    refused = command.admit_governance_change("cli:kim", A, B, 2)
    assert (refused.outcome, refused.takes_effect) == ("refused", False)
    assert events(command).count("approval.requested") == 1  # no second request on its own
    anew = command.admit_governance_change("cli:kim", A, B, 2, ask_again=True)
    assert anew.outcome == "awaiting"
    assert anew.request is not None
    assert anew.request.id != asked.request.id


def test_files_that_move_on_supersede_the_older_request(
    world: tuple[HumanCommand, dict[str, str]],
) -> None:
    command, tokens = world
    old = command.admit_governance_change("cli:kim", A, B, 2)
    new = command.admit_governance_change("cli:kim", A, C, 3)
    assert old.request is not None
    assert new.request is not None
    closed = command.store.request(old.request.id)
    assert closed is not None
    assert closed.status is ApprovalStatus.SUPERSEDED
    assert "approval.superseded" in events(command)
    with pytest.raises(DomainError):  # nothing left to approve on the old one
        approve(command, tokens["ada"], old.request.id)


def test_a_change_of_the_rules_is_edited_in_the_files_not_through_approvals(
    world: tuple[HumanCommand, dict[str, str]],
) -> None:
    command, tokens = world
    asked = command.admit_governance_change("cli:kim", A, B, 2)
    assert asked.request is not None
    action = command.store.action(asked.action_id)
    assert action is not None
    assert action.state is ActionState.AWAITING_APPROVAL
    with pytest.raises(DomainError, match="edit the files"):
        command.edit(asked.request.id, tokens["ada"], Reviewer.__new__(Reviewer), None)  # type: ignore[arg-type]


def test_the_summary_names_what_moves() -> None:
    removed = {**A, "policies": {}}
    assert summary(A, removed) == ("policy pack brand removed",)
    assert summary(removed, A) == ("policy pack brand added (1 rules)",)
    assert summary(A, C) == ("autonomy: mode for insight changed: auto -> notify",)
    stricter = {**A, "autonomy": {"default": "forbid", "rules": A["autonomy"]["rules"]}}
    assert summary(A, stricter) == ("autonomy: default approve -> forbid",)
    more_pii = {**A, "guardrails": {"pii": {"entities": ["EMAIL_ADDRESS", "PHONE_NUMBER"]}}}
    assert summary(A, more_pii) == ("governance: setting pii changed (entities)",)
