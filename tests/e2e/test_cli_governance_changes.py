"""Changing the rules through the files: ``context sync`` holds a change of policies or autonomy
until an admin approves it, syncs everything else meanwhile, and applies the change on approval."""

from __future__ import annotations

from pathlib import Path

from mios.bootstrap import open_context_store
from mios.config import Settings
from mios.domain.policy import PolicyEffect
from tests.support.cli import ok, run


def banned_terms_effect(shop: Path) -> PolicyEffect:
    store = open_context_store(shop, Settings())
    try:
        workspace = store.snapshot().workspace
    finally:
        store.close()
    [pack] = [p for p in workspace.policies if p.name == "brand-safety"]
    [rule] = [r for r in pack.rules if r.id == "banned-terms"]
    return rule.effect


def soften_banned_terms(shop: Path) -> None:
    policy = shop / "policies" / "brand-safety.yaml"
    text = policy.read_text(encoding="utf-8")
    marker = "effect: deny\n    message: The copy uses a banned term"
    assert marker in text
    policy.write_text(text.replace(marker, marker.replace("deny", "warn")), encoding="utf-8")


def test_the_first_rules_are_in_the_audit_trail(shop: Path, tokens: dict[str, str]) -> None:
    first = ok("-w", str(shop), "audit", "show", "--event", "governance", token=tokens["ada"])
    assert [(r["event"], r["reason"]) for r in first] == [("governance.loaded", "first load")]


def test_a_policy_change_waits_for_an_admin_while_the_rest_syncs(
    shop: Path, tokens: dict[str, str]
) -> None:
    w = str(shop)
    soften_banned_terms(shop)
    config = shop / "mios.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "  name: Northwind Outfitters\n  currency", "  name: Northwind Gear\n  currency", 1
        ),
        encoding="utf-8",
    )
    synced = ok("-w", w, "context", "sync")
    assert synced["changed"]  # the new name is in
    held = synced["governance"]
    assert held["outcome"] == "awaiting"
    assert held["changes"] == [
        "policy pack brand-safety: rule banned-terms changed (effect: deny -> warn)"
    ]
    assert banned_terms_effect(shop) is PolicyEffect.DENY  # the old rule still holds
    shown = ok("-w", w, "context", "show")
    assert shown["workspace"]["config"]["workspace"]["name"] == "Northwind Gear"
    # A second sync asks nobody twice; brand may not approve; an admin does, and it applies.
    assert ok("-w", w, "context", "sync")["governance"]["request"] == held["request"]
    refused = run("-w", w, "approvals", "approve", held["request"], "--role", "brand",
                  token=tokens["bo"])  # fmt: skip
    assert refused.exit_code == 3
    approved = ok(
        "-w", w, "approvals", "approve", held["request"], "--role", "admin", token=tokens["ada"]
    )
    assert approved["status"] == "approved"
    assert approved["governance"]["outcome"] == "applied"
    assert banned_terms_effect(shop) is PolicyEffect.WARN
    assert ok("-w", w, "context", "sync")["governance"] is None  # nothing left to judge
    trail = ok("-w", w, "audit", "show", "--event", "governance", token=tokens["ada"])
    assert [r["event"] for r in trail] == ["governance.loaded", "governance.applied"]
    assert ok("-w", w, "audit", "verify", token=tokens["ada"])["ok"]


def test_a_rejected_change_is_reported_and_can_be_asked_again(
    shop: Path, tokens: dict[str, str]
) -> None:
    w = str(shop)
    soften_banned_terms(shop)
    request_id = ok("-w", w, "context", "sync")["governance"]["request"]
    ok("-w", w, "approvals", "reject", request_id, "--role", "admin", "--reason", "keep it",
       token=tokens["ada"])  # fmt: skip
    text = run("-w", w, "context", "sync")
    assert text.exit_code == 0, text.output
    assert "refused earlier" in text.stdout
    assert "--ask-again" in text.stdout
    assert banned_terms_effect(shop) is PolicyEffect.DENY
    anew = ok("-w", w, "context", "sync", "--ask-again")["governance"]
    assert anew["outcome"] == "awaiting"
    assert anew["request"] != request_id
