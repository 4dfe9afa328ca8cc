"""``mios policy check`` and ``mios policy lint`` through the CLI, on an initialised workspace."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from mios.cli.app import app


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"MIOS_DATABASE_URL": "", "COLUMNS": "200"})


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("template") / "shop"
    result = run("init", str(root), "--customers", "300", "--seed", "3")
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def shop(template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "shop"
    shutil.copytree(template, target)
    return target


def action_file(tmp_path: Path, **fields: Any) -> Path:
    data = {
        "id": "spring-email",
        "kind": "send_message",
        "channel": "email",
        "audience": {"segment_id": "vip"},
        "content": {"subject": "New layers", "body": "Warm layers for the cold."},
    }
    data.update(fields)
    path = tmp_path / "action.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def check(shop: Path, path: Path) -> dict[str, Any]:
    result = run("-w", str(shop), "policy", "check", str(path), "--json")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_a_banned_term_and_a_made_up_claim_are_denied(shop: Path, tmp_path: Path) -> None:
    content = {"subject": "Hi", "body": "A miracle jacket.", "claims": ["warmest-ever"]}
    verdict = check(shop, action_file(tmp_path, content=content))
    assert verdict["verdict"] == "deny"
    rules = {f["rule"] for f in verdict["findings"] if f["severity"] == "deny"}
    assert {"brand-safety/banned-terms", "brand-safety/unapproved-claims"} <= rules
    assert verdict["context_version"] == 1
    assert len(verdict["content_hash"]) == 64


def test_a_budget_change_needs_the_budget_owner(shop: Path, tmp_path: Path) -> None:
    path = action_file(
        tmp_path,
        kind="set_budget",
        channel="display",
        spend="40000.00 USD",
        audience=None,
        content=None,
    )
    verdict = check(shop, path)
    assert verdict["verdict"] == "approve"
    assert "budget_owner" in verdict["required_roles"]


def test_the_text_verdict_names_the_roles_and_findings(shop: Path, tmp_path: Path) -> None:
    path = action_file(tmp_path, audience={"segment_id": "minors"}, risk="low")
    result = run("-w", str(shop), "policy", "check", str(path))
    assert result.exit_code == 0, result.output
    assert "spring-email:" in result.stdout
    assert "legal" in result.stdout
    assert "sensitive-audience" in result.stdout


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"kind": "send_mesage"}, "kind: invalid value 'send_mesage'"),
        ({"channel": "fax"}, "channel"),
        ({"content": {"subject": "No body"}}, "content.body: required field is missing"),
        ({"spend": -5}, "spend"),
        ({"surprise": 1}, "surprise: unknown field"),
    ],
)
def test_a_bad_action_file_names_its_field_and_exits_2(
    shop: Path, tmp_path: Path, fields: dict[str, Any], where: str
) -> None:
    result = run("-w", str(shop), "policy", "check", str(action_file(tmp_path, **fields)))
    assert result.exit_code == 2, result.output
    assert "action.json" in result.output
    assert where in result.output


def test_a_missing_or_broken_action_file_exits_2(shop: Path, tmp_path: Path) -> None:
    assert run("-w", str(shop), "policy", "check", str(tmp_path / "none.json")).exit_code == 2
    broken = tmp_path / "broken.json"
    broken.write_text('{"id": "x", "kind": ')
    result = run("-w", str(shop), "policy", "check", str(broken))
    assert result.exit_code == 2
    assert "broken.json:" in result.output


def test_lint_passes_the_example_and_catches_a_rule_that_cannot_run(shop: Path) -> None:
    clean = run("-w", str(shop), "policy", "lint", "--json")
    assert clean.exit_code == 0, clean.output
    report = json.loads(clean.stdout)
    assert report["rules"] == 11
    assert report["problems"] == []
    path = shop / "policies" / "budget-compliance.yaml"
    path.write_text(
        path.read_text().replace("action.spend.amount > 500.0", 'action.spend.amount > "500"')
    )
    broken = run("-w", str(shop), "policy", "lint")
    assert broken.exit_code == 2
    assert "budget-compliance/large-sms-send" in broken.stdout
    assert "a review would fail closed" in broken.stdout


def test_a_rule_that_does_not_compile_names_file_line_and_rule(shop: Path) -> None:
    path = shop / "policies" / "brand-safety.yaml"
    text = path.read_text()
    path.write_text(
        text.replace('action.content.body.matches("!.*!")', 'action.content.body.matches("!.*!" &&')
    )
    result = run("-w", str(shop), "policy", "lint")
    assert result.exit_code == 2
    line = next(i for i, row in enumerate(path.read_text().splitlines(), 1) if '"!.*!" &&' in row)
    assert f"policies/brand-safety.yaml:{line}" in result.output
    assert "rule exclamation-marks" in result.output


def test_minors_are_never_targeted_on_paid_media(shop: Path, tmp_path: Path) -> None:
    path = action_file(
        tmp_path, kind="set_budget", channel="paid_search", spend="100.00 USD", content=None
    )
    data = json.loads(path.read_text())
    data["audience"] = {"segment_id": "minors"}
    path.write_text(json.dumps(data))
    verdict = check(shop, path)
    assert verdict["verdict"] == "deny"
    assert "brand-safety/no-minors-on-paid-or-sms" in {f["rule"] for f in verdict["findings"]}
