"""``mios brain nba`` end to end, on a workspace written by ``mios init``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.cli import run

DAY = ("--on", "2026-11-16")  # the example data's day, so every offer but one is active


def nba_json(shop: Path, *extra: str) -> dict[str, Any]:
    result = run("-w", str(shop), "brain", "nba", *DAY, "--json", *extra)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_nba_summarises_actions_value_and_the_constraints_that_bound(shop: Path) -> None:
    summary = nba_json(shop, "--seed", "3")
    funnel = summary["funnel"]
    assert summary["customers"] == funnel["customers"] == 300
    assert funnel["chosen"] > 0
    left_out = sum(v for k, v in funnel.items() if k not in ("customers", "chosen"))
    assert left_out + funnel["chosen"] == 300
    assert sum(a["customers"] for a in summary["actions"]) == funnel["chosen"]
    channels = {c["channel"] for c in summary["channels"]}
    assert channels == {"email", "sms", "push", "paid_social", "display"}
    assert {a["channel"] for a in summary["actions"]} <= channels
    assert summary["inactive_offers"] == ["free-shipping-weekend"]
    assert not any(a["offer"] == "free-shipping-weekend" for a in summary["actions"])
    expected = summary["expected"]
    low, high = expected["value_interval"]
    assert low <= expected["value"] <= high
    assert expected["interval"] == 0.9
    priors = {p["channel"]: p for p in summary["priors"]}
    assert priors["email"]["source"] == "history"
    assert priors["email"]["weeks"] == 104
    assert priors["push"]["source"] == "history of other channels"
    assert summary["binding"]["consent"] == funnel["no_consent"]


def test_the_same_seed_gives_the_same_summary(shop: Path) -> None:
    assert nba_json(shop, "--seed", "5") == nba_json(shop, "--seed", "5")


def test_a_zero_budget_leaves_only_free_contacts_and_says_the_budget_bound(shop: Path) -> None:
    summary = nba_json(shop, "--budget", "0", "--exploration", "mean")
    assert summary["expected"]["cost"] == 0.0
    assert {a["channel"] for a in summary["actions"]} <= {"push"}
    assert summary["funnel"]["budget"] > 0
    assert summary["binding"]["budget_bound"] is True


def test_text_output_shows_the_tables(shop: Path) -> None:
    result = run("-w", str(shop), "brain", "nba", *DAY, "--budget", "1")
    assert result.exit_code == 0, result.output
    for text in (
        "Actions chosen",
        "Expected value:",
        "90% interval",
        "cut by the budget",
        "contact caps reached",
        "email: prior from history",
        "Offers not active on 2026-11-16: free-shipping-weekend",
    ):
        assert text in result.stdout


def test_help_shows_an_example() -> None:
    result = run("brain", "nba", "--help")
    assert result.exit_code == 0
    assert "Example: mios -w shop brain nba" in result.stdout


def test_a_bad_date_is_bad_input(shop: Path) -> None:
    result = run("-w", str(shop), "brain", "nba", "--on", "16/11/2026")
    assert result.exit_code == 2
    assert "not a date" in result.output


LATER_OFFERS = """offers:
  - {id: winback-15, name: Later, type: discount, margin: 0.3, average_order_value: 90,
     valid_from: 2026-12-01}
  - {id: layering-bundle, name: Later too, type: bundle, margin: 0.3, average_order_value: 200,
     valid_from: 2026-12-01}
"""


def test_a_day_without_any_active_offer_is_bad_input_with_a_clear_message(shop: Path) -> None:
    (shop / "data" / "offers.yaml").write_text(LATER_OFFERS)
    synced = run("-w", str(shop), "context", "sync")
    assert synced.exit_code == 0, synced.output
    empty = run("-w", str(shop), "brain", "nba", *DAY)
    assert empty.exit_code == 2
    assert "no candidate actions on 2026-11-16" in empty.output
    later = run("-w", str(shop), "brain", "nba", "--on", "2026-12-02", "--json")
    assert later.exit_code == 0, later.output
    assert json.loads(later.stdout)["candidates"] > 0


def test_a_folder_without_a_workspace_is_bad_input(tmp_path: Path) -> None:
    result = run("-w", str(tmp_path), "brain", "nba")
    assert result.exit_code == 2
    assert "mios init" in result.output
