"""Policy rules compiled once and evaluated against each action.

A rule whose condition holds adds its effect: a deny finding, a warning, or a requirement that
its roles approve. A rule that cannot be evaluated on an action (a field the action lacks, a type
the condition did not expect) fails closed: it takes its effect as if it held, with a message
saying it could not be evaluated, so a broken rule never lets an action through silently.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import cel

from mios.context.conditions import compile_condition
from mios.domain.action import Action
from mios.domain.governance import Finding, FindingSeverity
from mios.domain.policy import PolicyEffect, PolicyPack, PolicyRule
from mios.errors import DomainError
from mios.governance.facts import Facts
from mios.governance.review_context import Check, Requirement

_SEVERITY = {
    PolicyEffect.DENY: FindingSeverity.DENY,
    PolicyEffect.WARN: FindingSeverity.WARN,
    PolicyEffect.APPROVE: FindingSeverity.APPROVE,
}


@dataclass(frozen=True)
class CompiledRule:
    pack: str
    rule: PolicyRule
    program: Any  # cel.Program; the package ships no type information


class Policies:
    """Every rule of every pack, compiled; ``check`` evaluates those that apply to an action."""

    def __init__(self, packs: Iterable[PolicyPack]) -> None:
        compiled: list[CompiledRule] = []
        for pack in packs:
            for rule in pack.rules:
                try:
                    program = compile_condition(rule.condition)
                except ValueError as exc:
                    raise DomainError(f"policy {pack.name}, rule {rule.id}: {exc}") from None
                compiled.append(CompiledRule(pack.name, rule, program))
        self.rules: tuple[CompiledRule, ...] = tuple(compiled)

    def check(self, action: Action, activation: Any) -> Check:
        """Evaluate the rules that apply to ``action`` on ``activation`` (a ``cel.Context``
        holding ``action``, ``context`` and ``now``: see ``activation``)."""
        findings: list[Finding] = []
        requirements: list[Requirement] = []
        for compiled in self.rules:
            rule = compiled.rule
            if not rule.applies(action.kind):
                continue
            message = rule.message
            try:
                holds = compiled.program.execute(activation)
            except Exception as exc:
                holds = True
                message = f"{rule.message} (the rule could not be evaluated: {_first_line(exc)})"
            else:
                if not isinstance(holds, bool):
                    message = f"{rule.message} (the rule gave {holds!r}, not true or false)"
                    holds = True
            if not holds:
                continue
            rule_id = f"{compiled.pack}/{rule.id}"
            findings.append(Finding(rule_id, message, _SEVERITY[rule.effect]))
            if rule.effect is PolicyEffect.APPROVE:
                requirements.append(Requirement(rule_id, frozenset(rule.roles), rule.quorum))
        return Check(tuple(findings), tuple(requirements))


def _first_line(exc: Exception) -> str:
    return str(exc).split("\n")[0].split(". Check that")[0]


class Activation:
    """The evaluator's variables for one workspace: ``context`` is converted once, ``action``
    and ``now`` per review. Converting the workspace facts costs more than every rule together,
    so it is not repeated. One per thread: a ``cel.Context`` is changed in place."""

    def __init__(self, context_facts: Facts) -> None:
        self._facts = context_facts
        self._local = threading.local()

    def __call__(self, action_facts: Facts, now: datetime) -> Any:
        base = getattr(self._local, "base", None)
        if base is None:
            base = self._local.base = cel.Context({"context": self._facts})
        base.update({"action": action_facts, "now": now})
        return base
