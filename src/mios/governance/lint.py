"""``mios policy lint``: every rule compiles, and evaluates on a sample of each kind it applies to.

Compiling catches syntax and unknown names. Evaluating on samples catches what only shows at run
time: ``action.spend.amount > "500"`` compares a number with text, ``action.parameters.cap``
reads a key no action carries; a review would then fail closed on every such action. Samples are
built from the workspace itself (its first segment, offer, claim and channels), so a rule about
them meets real values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.customer_table import CustomerTable
from mios.domain.money import Money
from mios.domain.proposal import ActionKind, Audience, Content
from mios.domain.workspace import Workspace
from mios.governance.audience import recipients
from mios.governance.facts import action_facts, context_facts
from mios.governance.rules import Activation, Policies

SAMPLE_PARAMETERS = {
    "holdout": 0.1,
    "holdout_share": 0.1,
    "multiplier": 1.1,
    "headers": {"List-Unsubscribe": "<mailto:unsubscribe@example.com>"},
}


@dataclass(frozen=True)
class LintProblem:
    rule: str  # pack/rule id
    kind: ActionKind
    message: str

    def __str__(self) -> str:
        return f"{self.rule} on a sample {self.kind}: {self.message}"


def lint(workspace: Workspace, customers: CustomerTable, now: datetime) -> list[LintProblem]:
    """Problems of every rule; compiling raises ``DomainError`` first if a rule cannot compile."""
    policies = Policies(workspace.policies)
    activation = Activation(context_facts(workspace))
    problems: list[LintProblem] = []
    for compiled in policies.rules:
        kinds = sorted(compiled.rule.applies_to) or list(ActionKind)
        for kind, sample in ((k, a) for k in kinds for a in sample_actions(k, workspace)):
            reached = recipients(sample, workspace, customers)
            facts = action_facts(sample, reached, workspace, customers)
            try:
                result = compiled.program.execute(activation(facts, now))
            except Exception as exc:  # whatever the evaluator raises is the finding
                detail = str(exc).split("\n")[0].split(". Check that")[0]
                message = f"cannot be evaluated ({detail}); a review would fail closed"
                problems.append(LintProblem(f"{compiled.pack}/{compiled.rule.id}", kind, message))
                continue
            if not isinstance(result, bool):
                message = f"gives {result!r}, not true or false; a review would fail closed"
                problems.append(LintProblem(f"{compiled.pack}/{compiled.rule.id}", kind, message))
    return problems


def sample_actions(kind: ActionKind, workspace: Workspace) -> list[Action]:
    """Complete actions of ``kind`` as an agent of this workspace might propose them: one per
    channel the kind can use here, so a rule about one channel meets that channel."""
    enabled = [c.name for c in workspace.channels if c.enabled]
    channels: list[ChannelName | None] = [None]
    if kind is ActionKind.SEND_MESSAGE:
        channels = [c for c in enabled if c.addresses_customers] or [ChannelName.EMAIL]
    elif kind is ActionKind.PUBLISH_CONTENT:
        channels = [ChannelName.CONTENT]
    elif kind in (ActionKind.SET_BUDGET, ActionKind.ADJUST_BID):
        channels = [b.channel for b in workspace.budgets] or [ChannelName.PAID_SEARCH]
    offer = workspace.offers[0].id if workspace.offers else None
    claims = (workspace.brand.claims[0].id,) if workspace.brand.claims else ()
    content = Content(
        "A sample subject", "A sample body.", "A sample headline", claims, None, offer
    )
    audience = Audience(segment_id=workspace.segments[0].id) if workspace.segments else None
    if kind is ActionKind.SEND_MESSAGE:
        audience = audience or Audience(estimated_size=100)
    return [
        Action(
            id=f"sample-{kind}",
            proposal_id=f"sample-{kind}",
            kind=kind,
            snapshot_version=1,
            channel=channel,
            audience=audience,
            content=content,
            spend=Money(Decimal("100.00"), workspace.currency),
            parameters=SAMPLE_PARAMETERS,
        )
        for channel in channels
    ]
