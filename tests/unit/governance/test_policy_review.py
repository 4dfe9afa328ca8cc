"""The review gate with the example workspace's own policy packs: each rule fires on its case,
stays quiet just beside it, and a broken rule or checker fails closed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mios.context.examples import write_example
from mios.context.translate import build_workspace
from mios.context.workspace_files import load_workspace
from mios.domain.action import Action
from mios.domain.budget import BudgetLedger
from mios.domain.channel import ChannelName
from mios.domain.customer_table import CustomerTable
from mios.domain.governance import FindingSeverity, Role, VerdictEffect
from mios.domain.money import Money
from mios.domain.policy import AutonomyMatrix, AutonomyMode, PolicyEffect, PolicyPack, PolicyRule
from mios.domain.proposal import ActionKind, Audience, Content, RiskTier
from mios.domain.workspace import Workspace
from mios.errors import DomainError, WorkspaceError
from mios.governance.review import Reviewer
from mios.governance.review_context import Check, ReviewContext

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, CustomerTable]:
    root = tmp_path_factory.mktemp("retail") / "w"
    root.mkdir()
    write_example(root, "retail", customers=3000, seed=3)
    loaded = load_workspace(root)
    assert loaded.customers is not None
    return build_workspace(loaded.spec), loaded.customers


def context(example: tuple[Workspace, CustomerTable]) -> ReviewContext:
    workspace, customers = example
    return ReviewContext(workspace, customers, BudgetLedger.for_budgets(workspace.budgets), NOW)


def action(kind: ActionKind = ActionKind.SEND_MESSAGE, **fields: Any) -> Action:
    fields.setdefault("channel", ChannelName.EMAIL)
    if kind is ActionKind.SEND_MESSAGE:
        if "audience" not in fields:
            fields["audience"] = Audience(segment_id="vip")
        if "content" not in fields:
            fields["content"] = Content(subject="Hello", body="Layers for the cold.")
    return Action(id="a1", proposal_id="p1", kind=kind, snapshot_version=1, **fields)


def consenting(example: tuple[Workspace, CustomerTable], channel: ChannelName, n: int) -> Audience:
    _, customers = example
    rows = np.flatnonzero(customers.granted(channel) & ~customers.suppressed)[:n]
    return Audience(customer_ids=tuple(customers.ids[rows].tolist()))


def review(
    example: tuple[Workspace, CustomerTable], a: Action, risk: RiskTier = RiskTier.LOW
) -> Any:
    return Reviewer(example[0]).review(a, context(example), risk)


def rule_ids(result: Any, severity: FindingSeverity) -> set[str]:
    return {f.rule_id for f in result.verdict.findings if f.severity is severity}


def test_a_clean_message_to_consenting_customers_is_allowed(example: Any) -> None:
    result = review(example, action(audience=consenting(example, ChannelName.EMAIL, 20)))
    assert result.verdict.effect is VerdictEffect.ALLOW, result.verdict.findings
    assert result.mode is AutonomyMode.AUTO


@pytest.mark.parametrize(
    ("body", "claims", "denied"),
    [
        ("This jacket is a miracle in the rain.", (), "brand-safety/banned-terms"),
        ("Warm.", ("warmest-ever",), "brand-safety/unapproved-claims"),
    ],
)
def test_brand_rules_deny(example: Any, body: str, claims: tuple[str, ...], denied: str) -> None:
    workspace, _ = example
    if denied.endswith("banned-terms"):
        body = f"This jacket is {workspace.brand.banned_terms[0]} in the rain."
    message = Content(subject="Hi", body=body, claims=claims)
    audience = consenting(example, ChannelName.EMAIL, 5)
    result = review(example, action(audience=audience, content=message))
    assert result.blocked
    assert denied in rule_ids(result, FindingSeverity.DENY)


def test_a_message_to_customers_without_consent_is_denied(example: Any) -> None:
    _, customers = example
    refused = np.flatnonzero(~customers.granted(ChannelName.SMS))[:3]
    audience = Audience(customer_ids=tuple(customers.ids[refused].tolist()))
    result = review(example, action(channel=ChannelName.SMS, audience=audience))
    assert "budget-compliance/consent-required" in rule_ids(result, FindingSeverity.DENY)


def test_a_sensitive_segment_needs_legal(example: Any) -> None:
    result = review(example, action(audience=Audience(segment_id="minors")))
    assert result.needs_approval or result.blocked
    assert Role.LEGAL in {role for r in result.requirements for role in r.roles}
    assert "brand-safety/sensitive-audience" in rule_ids(result, FindingSeverity.APPROVE)


def test_two_exclamation_marks_warn_and_one_does_not(example: Any) -> None:
    audience = consenting(example, ChannelName.EMAIL, 5)
    loud = review(example, action(audience=audience, content=Content("Hi", "Cold! Warm!")))
    quiet = review(example, action(audience=audience, content=Content("Hi", "Cold, warm!")))
    assert "brand-safety/exclamation-marks" in rule_ids(loud, FindingSeverity.WARN)
    assert loud.verdict.effect is VerdictEffect.ALLOW  # a warning informs, it does not block
    assert "brand-safety/exclamation-marks" not in rule_ids(quiet, FindingSeverity.WARN)


@pytest.mark.parametrize(("factor", "fires"), [("1.2", False), ("1.2001", True)])
def test_a_budget_raise_above_its_limit_needs_the_budget_owner(
    example: Any, factor: str, fires: bool
) -> None:
    workspace, _ = example
    base = next(b for b in workspace.budgets if b.channel is ChannelName.DISPLAY).amount
    spend = Money(base.amount * Decimal(factor), base.currency)
    result = review(
        example, action(ActionKind.SET_BUDGET, channel=ChannelName.DISPLAY, spend=spend)
    )
    fired = "budget-compliance/budget-increase" in rule_ids(result, FindingSeverity.APPROVE)
    assert fired is fires
    # set_budget always needs a person in this workspace's autonomy matrix.
    assert result.needs_approval
    assert Role.BUDGET_OWNER in result.verdict.required_roles


def test_autonomy_forbids_and_its_floor_holds(example: Any) -> None:
    change = Action(id="c", proposal_id="c", kind=ActionKind.CHANGE_POLICY, snapshot_version=1)
    assert "autonomy/forbid" in rule_ids(review(example, change), FindingSeverity.DENY)
    workspace, customers = example
    loose = replace(workspace, autonomy=AutonomyMatrix({}, AutonomyMode.AUTO))
    ctx = ReviewContext(loose, customers, BudgetLedger.for_budgets(loose.budgets), NOW)
    insight = Action(id="i", proposal_id="i", kind=ActionKind.INSIGHT, snapshot_version=1)
    critical = Reviewer(loose).review(insight, ctx, RiskTier.CRITICAL)
    assert critical.needs_approval  # critical risk always needs a person, whatever the matrix
    assert Role.STRATEGIST in critical.verdict.required_roles
    assert Reviewer(loose).review(insight, ctx, RiskTier.LOW).verdict.effect is VerdictEffect.ALLOW


def test_notify_mode_allows_and_tells_people(example: Any) -> None:
    result = review(
        example, action(audience=consenting(example, ChannelName.EMAIL, 5)), RiskTier.MEDIUM
    )
    assert result.verdict.effect is VerdictEffect.ALLOW
    assert result.notify


def test_an_unknown_segment_is_denied(example: Any) -> None:
    result = review(example, action(audience=Audience(segment_id="martians")))
    assert "governance/audience" in rule_ids(result, FindingSeverity.DENY)


def with_rule(example: Any, condition: str, effect: PolicyEffect = PolicyEffect.WARN) -> Workspace:
    workspace, _ = example
    rule = PolicyRule("probe", "A probe.", frozenset(), condition, effect, "Probe fired.")
    return replace(workspace, policies=(*workspace.policies, PolicyPack("probe", (rule,))))


def test_a_rule_that_cannot_be_evaluated_fails_closed(example: Any) -> None:
    workspace = with_rule(example, "action.content.no_such_field == 'x'", PolicyEffect.DENY)
    _, customers = example
    ctx = ReviewContext(workspace, customers, BudgetLedger.for_budgets(workspace.budgets), NOW)
    result = Reviewer(workspace).review(
        action(audience=consenting(example, ChannelName.EMAIL, 2)), ctx
    )
    assert result.blocked
    probe = next(f for f in result.verdict.findings if f.rule_id == "probe/probe")
    assert "could not be evaluated" in probe.message


def test_a_rule_reads_the_context_and_money_as_doubles(example: Any) -> None:
    workspace = with_rule(
        example,
        "action.spend.amount > 100.0 && context.currency == 'USD' && now.getHours() == 15",
    )
    _, customers = example
    ctx = ReviewContext(workspace, customers, BudgetLedger.for_budgets(workspace.budgets), NOW)
    spend = Money(Decimal("100.01"), "USD")
    budget = action(ActionKind.SET_BUDGET, channel=ChannelName.EMAIL, spend=spend)
    result = Reviewer(workspace).review(budget, ctx)
    assert "probe/probe" in rule_ids(result, FindingSeverity.WARN)


def test_a_failing_checker_denies_by_name(example: Any) -> None:
    class Broken:
        id = "broken"

        def check(self, action: Action, context: ReviewContext) -> Check:
            raise RuntimeError("lost its table")

    result = Reviewer(example[0], [Broken()]).review(
        action(audience=consenting(example, ChannelName.EMAIL, 2)), context(example)
    )
    assert "checker/broken" in rule_ids(result, FindingSeverity.DENY)


def test_a_rule_that_does_not_compile_is_refused_when_the_workspace_loads(tmp_path: Path) -> None:
    root = tmp_path / "w"
    root.mkdir()
    write_example(root, "retail", customers=100, seed=1)
    path = root / "policies" / "brand-safety.yaml"
    path.write_text(
        path.read_text()
        .replace("effect: warn", "effect: warn", 1)
        .replace('action.content.body.matches("!.*!")', 'action.content.body.matches("!.*!" &&')
    )
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(root)
    message = str(caught.value)
    assert "policies/brand-safety.yaml:" in message
    assert "rule exclamation-marks" in message
    assert "does not compile" in message


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("actoin.kind == 'x'", "unknown name 'actoin'"),
        ("lower(action.kind) == 'x'", "unknown function"),
    ],
)
def test_names_the_evaluator_lacks_are_refused_at_load(
    example: Any, condition: str, message: str
) -> None:
    with pytest.raises(DomainError, match=message):
        Reviewer(with_rule(example, condition))
