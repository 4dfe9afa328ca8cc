"""A change to the rules themselves (policy packs, the autonomy matrix, the ``governance:``
settings) is an action like any other: an admin approves it, it is audited, and it takes effect
only as approved.

The action binds the exact transition, from the current rules to the proposed ones (both as
canonical hashes), so an approval can neither be replayed onto other rules nor stretched to a
later edit of the files. ``summary`` tells the approver what moves, in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mios.domain.action import Action
from mios.domain.canonical import canonical_hash
from mios.domain.governance import (
    ApprovalRequest,
    Finding,
    FindingSeverity,
    Role,
    Verdict,
    VerdictEffect,
)
from mios.domain.policy import AutonomyMode
from mios.domain.proposal import ActionKind, RiskTier
from mios.governance.review import Review

CHANGE_RULE = "governance.change"
CHANGE_KINDS = frozenset({ActionKind.CHANGE_POLICY, ActionKind.CHANGE_AUTONOMY})

Outcome = Literal["loaded", "applied", "awaiting", "refused"]


@dataclass(frozen=True)
class GovernanceChange:
    """What happened to one proposed change of the rules.

    ``loaded``: the first rules of a workspace, or no admin is enrolled yet to approve (recorded
    in the audit trail either way); ``applied``: an admin approved exactly this change;
    ``awaiting``: ``request`` waits for an admin; ``refused``: the last request for it was
    rejected or expired, and the files must change before it is asked again (or ask again).
    """

    outcome: Outcome
    action_id: str
    changes: tuple[str, ...]
    request: ApprovalRequest | None = None

    @property
    def takes_effect(self) -> bool:
        return self.outcome in ("loaded", "applied")


def change_action(
    current: Mapping[str, Any], proposed: Mapping[str, Any], snapshot_version: int, version: int
) -> Action:
    """The action that asks for ``current`` → ``proposed``; its id names the transition."""
    before, after = canonical_hash(current), canonical_hash(proposed)
    parts = sorted(k for k in proposed if current.get(k) != proposed.get(k))
    kind = ActionKind.CHANGE_AUTONOMY if parts == ["autonomy"] else ActionKind.CHANGE_POLICY
    transition = canonical_hash({"from": before, "to": after})
    return Action(
        id=f"governance-{transition[:16]}",
        proposal_id=f"governance-{transition[:16]}",
        kind=kind,
        snapshot_version=max(snapshot_version, 1),
        parameters={
            "parts": parts,
            "from_digest": before,
            "to_digest": after,
            "changes": list(summary(current, proposed)),
        },
        version=version,
    )


def admin_review(action: Action) -> Review:
    """The fixed verdict on a change of the rules: one admin approves it. Not the workspace's
    own rules: a policy pack could otherwise wave through the change that weakens it."""
    verdict = Verdict(
        action.id,
        action.content_hash(),
        VerdictEffect.APPROVE,
        (
            Finding(
                CHANGE_RULE,
                "a change to policies, autonomy or governance settings needs an admin",
                FindingSeverity.APPROVE,
            ),
        ),
        frozenset({Role.ADMIN}),
        1,
    )
    return Review(verdict, AutonomyMode.APPROVE, RiskTier.CRITICAL, ())


def summary(current: Mapping[str, Any], proposed: Mapping[str, Any]) -> tuple[str, ...]:
    """One line per moved piece: packs and rules by id, autonomy and settings by key."""
    lines: list[str] = []
    old_packs: Mapping[str, Any] = current.get("policies", {})
    new_packs: Mapping[str, Any] = proposed.get("policies", {})
    for name in sorted(old_packs.keys() | new_packs.keys()):
        if name not in new_packs:
            lines.append(f"policy pack {name} removed")
        elif name not in old_packs:
            lines.append(f"policy pack {name} added ({len(new_packs[name]['rules'])} rules)")
        else:
            lines.extend(
                f"policy pack {name}: {line}"
                for line in _keyed_diff(_rules(old_packs[name]), _rules(new_packs[name]), "rule")
            )
    old_autonomy, new_autonomy = current.get("autonomy", {}), proposed.get("autonomy", {})
    if old_autonomy.get("default") != new_autonomy.get("default"):
        lines.append(
            f"autonomy: default {old_autonomy.get('default')} -> {new_autonomy.get('default')}"
        )
    lines.extend(
        f"autonomy: {line}"
        for line in _keyed_diff(
            _autonomy_rules(old_autonomy), _autonomy_rules(new_autonomy), "mode for"
        )
    )
    lines.extend(
        f"governance: {line}"
        for line in _keyed_diff(
            current.get("guardrails", {}), proposed.get("guardrails", {}), "setting"
        )
    )
    return tuple(lines)


def _autonomy_rules(matrix: Mapping[str, Any]) -> dict[str, Any]:
    """Autonomy rules keyed by what they match (kind, and risk when given)."""
    keyed = {}
    for rule in matrix.get("rules", []):
        risk = rule.get("risk", "any")
        keyed[rule["kind"] + ("" if risk == "any" else f" at {risk} risk")] = rule["mode"]
    return keyed


def _rules(pack: Mapping[str, Any]) -> dict[str, Any]:
    return {rule["id"]: rule for rule in pack["rules"]}


def _keyed_diff(old: Mapping[str, Any], new: Mapping[str, Any], noun: str) -> list[str]:
    out = []
    for key in sorted(old.keys() | new.keys()):
        if key not in new:
            out.append(f"{noun} {key} removed")
        elif key not in old:
            out.append(f"{noun} {key} added")
        elif old[key] != new[key]:
            out.append(f"{noun} {key} changed{_how(old[key], new[key])}")
    return out


def _how(old: Any, new: Any) -> str:
    """`` (effect: deny -> warn)`` for plain values; nested ones are named, not spelled out."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        moved = [k for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)]
        return " (" + "; ".join(f"{k}{_how(old.get(k), new.get(k))}" for k in moved) + ")"
    if all(v is None or isinstance(v, str | int | float) for v in (old, new)):
        return f": {old} -> {new}"
    return ""
