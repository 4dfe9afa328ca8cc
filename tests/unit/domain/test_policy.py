"""Policy rules and packs, and the autonomy matrix with its floor."""

from __future__ import annotations

from typing import Any

import pytest

from mios.domain.governance import Role
from mios.domain.policy import (
    AutonomyMatrix,
    AutonomyMode,
    PolicyEffect,
    PolicyPack,
    PolicyRule,
    parse_autonomy,
    stricter,
)
from mios.domain.proposal import ActionKind, RiskTier
from mios.errors import DomainError

K = ActionKind
M = AutonomyMode


def rule(**overrides: Any) -> PolicyRule:
    fields: dict[str, Any] = {
        "id": "claims.unapproved",
        "description": "only approved claims",
        "applies_to": frozenset({K.SEND_MESSAGE, K.PUBLISH_CONTENT}),
        "condition": "action.content.claims.exists(c, !(c in context.approved_claims))",
        "effect": PolicyEffect.DENY,
        "message": "uses a claim legal has not approved",
    }
    fields.update(overrides)
    return PolicyRule(**fields)


class TestPolicyRule:
    @pytest.mark.parametrize("good", ["a", "brand.tone-1", "legal_health.v2"])
    def test_good_ids(self, good: str) -> None:
        assert rule(id=good).id == good

    @pytest.mark.parametrize("bad", ["", "Claims", "has space", "ünï", "a/b"])
    def test_bad_ids(self, bad: str) -> None:
        with pytest.raises(DomainError, match=r"must match \[a-z0-9_.-\]\+"):
            rule(id=bad)

    def test_condition_is_required(self) -> None:
        with pytest.raises(DomainError, match="condition"):
            rule(condition=" ")

    def test_message_is_required(self) -> None:
        with pytest.raises(DomainError, match="message"):
            rule(message="")

    def test_approve_needs_roles(self) -> None:
        with pytest.raises(DomainError, match="approve needs roles"):
            rule(effect=PolicyEffect.APPROVE, quorum=1)

    def test_approve_needs_a_quorum(self) -> None:
        with pytest.raises(DomainError, match="quorum >= 1"):
            rule(effect=PolicyEffect.APPROVE, roles=(Role.LEGAL,))

    def test_a_complete_approve_rule(self) -> None:
        made = rule(effect=PolicyEffect.APPROVE, roles=[Role.LEGAL], quorum=1)
        assert made.roles == (Role.LEGAL,)

    @pytest.mark.parametrize("effect", [PolicyEffect.DENY, PolicyEffect.WARN])
    def test_deny_and_warn_name_no_roles(self, effect: PolicyEffect) -> None:
        with pytest.raises(DomainError, match="only an approve rule"):
            rule(effect=effect, roles=(Role.LEGAL,))
        with pytest.raises(DomainError, match="only an approve rule"):
            rule(effect=effect, quorum=1)

    def test_a_role_once(self) -> None:
        with pytest.raises(DomainError, match="listed twice"):
            rule(effect=PolicyEffect.APPROVE, roles=(Role.LEGAL, Role.LEGAL), quorum=1)

    def test_applies_to_its_kinds_or_all_when_empty(self) -> None:
        assert rule().applies(K.SEND_MESSAGE)
        assert not rule().applies(K.SET_BUDGET)
        assert rule(applies_to=frozenset()).applies(K.SET_BUDGET)


class TestPolicyPack:
    def test_duplicate_rule_ids_are_named(self) -> None:
        with pytest.raises(DomainError, match=r"rule id 'claims\.unapproved' is used twice"):
            PolicyPack("brand", (rule(), rule()))

    def test_a_pack_needs_a_name(self) -> None:
        with pytest.raises(DomainError, match="name"):
            PolicyPack("", ())

    def test_rules_for_a_kind(self) -> None:
        everywhere = rule(id="all", applies_to=frozenset())
        pack = PolicyPack("brand", [rule(), everywhere])  # type: ignore[arg-type]
        assert pack.rules_for(K.SEND_MESSAGE) == (rule(), everywhere)
        assert pack.rules_for(K.SET_BUDGET) == (everywhere,)


class TestAutonomy:
    def test_modes_are_ordered_by_strictness(self) -> None:
        assert [m.strictness for m in (M.AUTO, M.NOTIFY, M.APPROVE, M.FORBID)] == [0, 1, 2, 3]
        assert stricter(M.NOTIFY, M.APPROVE) is M.APPROVE
        assert stricter(M.FORBID, M.AUTO) is M.FORBID

    def test_entries_then_default(self) -> None:
        matrix = AutonomyMatrix({(K.SEND_MESSAGE, RiskTier.LOW): M.AUTO})
        assert matrix.mode(K.SEND_MESSAGE, RiskTier.LOW) is M.AUTO
        assert matrix.mode(K.SEND_MESSAGE, RiskTier.HIGH) is M.APPROVE
        assert AutonomyMatrix({}, default=M.NOTIFY).mode(K.ADJUST_BID, RiskTier.LOW) is M.NOTIFY

    def test_critical_risk_never_runs_without_a_person(self) -> None:
        matrix = AutonomyMatrix({(K.SEND_MESSAGE, RiskTier.CRITICAL): M.AUTO}, default=M.AUTO)
        assert matrix.mode(K.SEND_MESSAGE, RiskTier.CRITICAL) is M.APPROVE

    @pytest.mark.parametrize("kind", [K.CHANGE_POLICY, K.CHANGE_AUTONOMY])
    def test_governance_changes_never_run_without_a_person(self, kind: ActionKind) -> None:
        matrix = AutonomyMatrix({(kind, RiskTier.LOW): M.NOTIFY}, default=M.AUTO)
        assert matrix.mode(kind, RiskTier.LOW) is M.APPROVE

    def test_the_floor_does_not_loosen_forbid(self) -> None:
        matrix = AutonomyMatrix({(K.CHANGE_POLICY, RiskTier.CRITICAL): M.FORBID})
        assert matrix.mode(K.CHANGE_POLICY, RiskTier.CRITICAL) is M.FORBID

    def test_overrides_apply_at_every_risk_tier_above_the_floor(self) -> None:
        matrix = AutonomyMatrix({(K.SEND_MESSAGE, RiskTier.LOW): M.AUTO}, default=M.NOTIFY)
        overridden = matrix.overridden({K.SEND_MESSAGE: M.AUTO, K.SET_BUDGET: M.FORBID})
        assert overridden.mode(K.SEND_MESSAGE, RiskTier.HIGH) is M.AUTO
        assert overridden.mode(K.SEND_MESSAGE, RiskTier.CRITICAL) is M.APPROVE
        assert overridden.mode(K.SET_BUDGET, RiskTier.LOW) is M.FORBID
        assert overridden.mode(K.ADJUST_BID, RiskTier.LOW) is M.NOTIFY
        assert matrix.mode(K.SEND_MESSAGE, RiskTier.HIGH) is M.NOTIFY

    def test_entries_must_be_typed(self) -> None:
        with pytest.raises(DomainError, match="must be \\(ActionKind, RiskTier\\)"):
            AutonomyMatrix({("send_message", "low"): M.AUTO})  # type: ignore[dict-item]
        with pytest.raises(DomainError, match="must be an AutonomyMode"):
            AutonomyMatrix({(K.SEND_MESSAGE, RiskTier.LOW): "auto"})  # type: ignore[dict-item]

    def test_parse_autonomy_names_the_bad_part(self) -> None:
        assert parse_autonomy([("insight", "auto")], "mios.yaml") == {K.INSIGHT: M.AUTO}
        with pytest.raises(DomainError, match=r"mios\.yaml: unknown action kind 'x'"):
            parse_autonomy([("x", "auto")], "mios.yaml")
        with pytest.raises(DomainError, match=r"mios\.yaml: insight: unknown autonomy 'often'"):
            parse_autonomy([("insight", "often")], "mios.yaml")
