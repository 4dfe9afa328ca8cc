"""The gate: one action in, one ``Review`` out (a verdict on its exact content, and what the
autonomy matrix allows).

    reviewer = Reviewer(workspace, checkers)
    review = reviewer.review(action, context, risk=RiskTier.MEDIUM)
    review.verdict.effect        # allow | approve (roles, quorum) | deny, with every finding

Worst wins: any deny finding denies; otherwise any requirement (from a rule, a checker or the
autonomy matrix) makes the verdict ``approve`` with the union of the roles. A checker that fails
denies, naming itself: governance fails closed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mios.domain.action import Action
from mios.domain.governance import Finding, FindingSeverity, Role, Verdict, VerdictEffect
from mios.domain.policy import AutonomyMode
from mios.domain.proposal import ActionKind, RiskTier
from mios.domain.workspace import Workspace
from mios.governance.checkers import reach
from mios.governance.facts import action_facts, context_facts
from mios.governance.review_context import Check, Checker, Requirement, ReviewContext
from mios.governance.rules import Activation, Policies

#: Who approves when the autonomy matrix says ``approve`` and no rule named anyone.
DEFAULT_APPROVER: Mapping[ActionKind, Role] = {
    ActionKind.SEND_MESSAGE: Role.STRATEGIST,
    ActionKind.PUBLISH_CONTENT: Role.BRAND,
    ActionKind.SET_BUDGET: Role.BUDGET_OWNER,
    ActionKind.ADJUST_BID: Role.BUDGET_OWNER,
    ActionKind.LAUNCH_EXPERIMENT: Role.ANALYST,
    ActionKind.CREATE_SEGMENT: Role.STRATEGIST,
    ActionKind.INSIGHT: Role.STRATEGIST,
    ActionKind.CREATE_CONTENT: Role.BRAND,
    ActionKind.CHANGE_POLICY: Role.ADMIN,
    ActionKind.CHANGE_AUTONOMY: Role.ADMIN,
}


@dataclass(frozen=True)
class Review:
    verdict: Verdict
    mode: AutonomyMode  # what the autonomy matrix allows this kind at this risk
    risk: RiskTier
    requirements: tuple[Requirement, ...]

    @property
    def blocked(self) -> bool:
        return self.verdict.effect is VerdictEffect.DENY

    @property
    def needs_approval(self) -> bool:
        return self.verdict.effect is VerdictEffect.APPROVE

    @property
    def notify(self) -> bool:
        """Allowed to run alone, but people are told (the ``notify`` autonomy mode)."""
        return self.verdict.effect is VerdictEffect.ALLOW and self.mode is AutonomyMode.NOTIFY


class Reviewer:
    def __init__(self, workspace: Workspace, checkers: Sequence[Checker] = ()) -> None:
        self.workspace = workspace
        self.policies = Policies(workspace.policies)
        self.checkers = tuple(checkers)
        self._activation = Activation(context_facts(workspace))

    def review(
        self, action: Action, context: ReviewContext, risk: RiskTier = RiskTier.MEDIUM
    ) -> Review:
        workspace = self.workspace
        findings: list[Finding] = []
        requirements: list[Requirement] = []
        reached = reach.reached(action, context)  # the checkers reuse this resolution
        if reached.unknown_segment is not None:
            findings.append(
                Finding(
                    "governance/audience",
                    f"the audience names segment {reached.unknown_segment!r}, which the "
                    "workspace does not define",
                    FindingSeverity.DENY,
                    value=reached.unknown_segment,
                )
            )
        facts = action_facts(action, reached, workspace, context.customers)
        checks = [self.policies.check(action, self._activation(facts, context.now))]
        checks += [_run(checker, action, context) for checker in self.checkers]
        for check in checks:
            findings.extend(check.findings)
            requirements.extend(check.requirements)

        mode = workspace.autonomy.mode(action.kind, risk)
        if mode is AutonomyMode.FORBID:
            findings.append(
                Finding(
                    "autonomy/forbid",
                    f"the autonomy matrix forbids {action.kind} at {risk} risk",
                    FindingSeverity.DENY,
                )
            )
        elif mode is AutonomyMode.APPROVE and not requirements:
            role = DEFAULT_APPROVER[action.kind]
            requirements.append(Requirement("autonomy/approve", frozenset({role}), 1))
            findings.append(
                Finding(
                    "autonomy/approve",
                    f"the autonomy matrix asks a person to approve {action.kind} at {risk} risk",
                    FindingSeverity.APPROVE,
                )
            )
        if requirements and not any(f.severity is FindingSeverity.APPROVE for f in findings):
            # A checker may require approval without a finding of its own; say so once.
            findings.append(
                Finding("governance/approve", "people must approve this", FindingSeverity.APPROVE)
            )
        roles = frozenset(role for r in requirements for role in r.roles)
        quorum = max((r.quorum for r in requirements), default=0)
        verdict = Verdict.from_findings(
            action.id, action.content_hash(), findings, roles, max(quorum, len(roles) and 1)
        )
        return Review(verdict, mode, risk, tuple(requirements))


def _run(checker: Checker, action: Action, context: ReviewContext) -> Check:
    try:
        return checker.check(action, context)
    except Exception as exc:
        finding = Finding(
            f"checker/{checker.id}",
            f"the {checker.id} check failed, so the action is held: {exc}",
            FindingSeverity.DENY,
        )
        return Check((finding,))
