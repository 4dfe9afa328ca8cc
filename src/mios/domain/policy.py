"""Policies as data, and the autonomy matrix that says how much a kind of action may do alone.

A ``PolicyRule``'s condition is CEL source; compiling and evaluating it is the governance
layer's job, so the domain only keeps the text and checks that the rule's shape makes sense.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from mios.domain.governance import Role
from mios.domain.proposal import ActionKind, RiskTier
from mios.errors import DomainError

_RULE_ID = re.compile(r"^[a-z0-9_.-]+$")


class PolicyEffect(StrEnum):
    DENY = "deny"
    APPROVE = "approve"
    WARN = "warn"


@dataclass(frozen=True)
class PolicyRule:
    """When ``condition`` holds for an action of a kind in ``applies_to`` (empty: every kind),
    ``effect`` follows: deny it, require approval by ``roles`` (``quorum`` people), or warn."""

    id: str
    description: str
    applies_to: frozenset[ActionKind]
    condition: str
    effect: PolicyEffect
    message: str
    roles: tuple[Role, ...] = ()
    quorum: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "applies_to", frozenset(self.applies_to))
        object.__setattr__(self, "roles", tuple(self.roles))
        if not _RULE_ID.match(self.id):
            raise DomainError(f"policy rule id {self.id!r} must match [a-z0-9_.-]+")
        where = f"policy rule {self.id}"
        if not self.condition.strip():
            raise DomainError(f"{where}: condition must not be empty")
        if not self.message.strip():
            raise DomainError(f"{where}: message must not be empty; it is what people read")
        if len(set(self.roles)) != len(self.roles):
            raise DomainError(f"{where}: a role is listed twice")
        if self.effect is PolicyEffect.APPROVE:
            if not self.roles or self.quorum < 1:
                raise DomainError(f"{where}: approve needs roles and a quorum >= 1")
        elif self.roles or self.quorum:
            raise DomainError(f"{where}: only an approve rule names roles and a quorum")

    def applies(self, kind: ActionKind) -> bool:
        return not self.applies_to or kind in self.applies_to


@dataclass(frozen=True)
class PolicyPack:
    """A named set of rules, as loaded from one policy file. Rule ids are unique in a pack."""

    name: str
    rules: tuple[PolicyRule, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        if not self.name.strip():
            raise DomainError("a policy pack needs a name")
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise DomainError(f"policy pack {self.name}: rule id {rule.id!r} is used twice")
            seen.add(rule.id)

    def rules_for(self, kind: ActionKind) -> tuple[PolicyRule, ...]:
        return tuple(r for r in self.rules if r.applies(kind))


class AutonomyMode(StrEnum):
    """How much an action may do without a person, from most to least freedom."""

    AUTO = "auto"
    NOTIFY = "notify"
    APPROVE = "approve"
    FORBID = "forbid"

    @property
    def strictness(self) -> int:
        return _ORDER.index(self)


_ORDER = (AutonomyMode.AUTO, AutonomyMode.NOTIFY, AutonomyMode.APPROVE, AutonomyMode.FORBID)

#: Changes to governance itself, and critical-risk actions, always need a person: no matrix entry
#: or playbook override can go below this, so an agent can never loosen its own leash.
_FLOOR_BY_KIND: Mapping[ActionKind, AutonomyMode] = {
    ActionKind.CHANGE_POLICY: AutonomyMode.APPROVE,
    ActionKind.CHANGE_AUTONOMY: AutonomyMode.APPROVE,
}
_FLOOR_BY_RISK: Mapping[RiskTier, AutonomyMode] = {RiskTier.CRITICAL: AutonomyMode.APPROVE}


def stricter(a: AutonomyMode, b: AutonomyMode) -> AutonomyMode:
    return a if a.strictness >= b.strictness else b


@dataclass(frozen=True)
class AutonomyMatrix:
    """The autonomy mode per (action kind, risk tier); unlisted pairs get ``default``.

    ``mode`` never answers below the floor (``approve`` for critical risk and for changes to
    policy or autonomy), whatever the entries say.
    """

    entries: Mapping[tuple[ActionKind, RiskTier], AutonomyMode]
    default: AutonomyMode = AutonomyMode.APPROVE

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", dict(self.entries))
        for key, mode in self.entries.items():
            kind, risk = key
            if not (isinstance(kind, ActionKind) and isinstance(risk, RiskTier)):
                raise DomainError(f"autonomy entry {key!r} must be (ActionKind, RiskTier)")
            if not isinstance(mode, AutonomyMode):
                raise DomainError(f"autonomy for {kind}/{risk} must be an AutonomyMode")

    def mode(self, kind: ActionKind, risk: RiskTier) -> AutonomyMode:
        chosen = self.entries.get((kind, risk), self.default)
        chosen = stricter(chosen, _FLOOR_BY_KIND.get(kind, AutonomyMode.AUTO))
        return stricter(chosen, _FLOOR_BY_RISK.get(risk, AutonomyMode.AUTO))

    def overridden(self, overrides: Mapping[ActionKind, AutonomyMode]) -> AutonomyMatrix:
        """A matrix where each overridden kind takes its mode at every risk tier (floor kept)."""
        entries = dict(self.entries)
        for kind, mode in overrides.items():
            entries.update({(kind, risk): mode for risk in RiskTier})
        return AutonomyMatrix(entries, self.default)


def parse_autonomy(pairs: Iterable[tuple[str, str]], where: str) -> dict[ActionKind, AutonomyMode]:
    """Typed overrides from ``(kind, mode)`` text, naming the bad kind or mode in the error."""
    parsed: dict[ActionKind, AutonomyMode] = {}
    kinds = ", ".join(ActionKind)
    modes = ", ".join(AutonomyMode)
    for kind, mode in pairs:
        try:
            typed_kind = ActionKind(kind)
        except ValueError:
            raise DomainError(f"{where}: unknown action kind {kind!r} (one of {kinds})") from None
        try:
            parsed[typed_kind] = AutonomyMode(mode)
        except ValueError:
            raise DomainError(
                f"{where}: {kind}: unknown autonomy {mode!r} (one of {modes})"
            ) from None
    return parsed
