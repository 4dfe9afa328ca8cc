"""The ``governance:`` section of mios.yaml: defaults equal the domain's, every field reaches
``Workspace.guardrails``, and bad values are refused naming the file, line and field."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from mios.context.examples import EXAMPLES, write_example
from mios.context.spec import GuardrailsSpec, PiiEntity, WorkspaceFileSpec
from mios.context.translate import build_workspace, guardrails
from mios.context.workspace_files import load_workspace
from mios.domain.channel import ChannelName
from mios.domain.governance import Role
from mios.domain.guardrails import ContactCaps, Guardrails
from mios.errors import WorkspaceError
from mios.governance.checkers.pii import PII_ENTITIES
from tests.unit.governance.checker_world import CONFIG, workspace

DOCS = Path(__file__).resolve().parents[3] / "docs" / "workspace.md"

FULL: dict[str, Any] = {
    "contact": {
        "per_channel": {"email": {"day": 1, "week": 2}, "sms": {"week": 1}},
        "all_channels": {"day": 2, "week": 3},
        "cooldown_after_unsubscribe_days": 45,
        "ignored_messages_before_cooldown": 3,
        "cooldown_after_ignored_days": 7,
    },
    "commercial_email": {"postal_address": False},
    "pii": {"entities": ["EMAIL_ADDRESS", "US_ITIN"], "allowed_values": ["+1 303 555 0142"]},
    "claims": {"similarity": 0.7},
    "budget": {
        "per_action_max": 2500,
        "daily_max": {"paid_search": "600.50"},
        "cycle_max": {"paid_search": 4000},
    },
    "approvals": {
        "ttl_hours": 48,
        "escalate_to": ["strategist", "admin"],
        "sensitive_audience_roles": ["legal", "brand"],
    },
}


def test_an_absent_section_means_the_domain_defaults() -> None:
    assert guardrails(GuardrailsSpec()) == Guardrails()
    assert workspace().guardrails == Guardrails()


def test_every_field_reaches_the_workspace() -> None:
    rules = workspace(governance=FULL).guardrails
    assert rules.contact.per_channel == {
        ChannelName.EMAIL: ContactCaps(1, 2),
        ChannelName.SMS: ContactCaps(None, 1),
    }
    assert rules.contact.all_channels == ContactCaps(2, 3)
    assert (
        rules.contact.cooldown_after_unsubscribe_days,
        rules.contact.ignored_messages_before_cooldown,
        rules.contact.cooldown_after_ignored_days,
    ) == (45, 3, 7)
    assert not rules.commercial_email.postal_address
    assert rules.commercial_email.unsubscribe_link
    assert rules.pii.entities == ("EMAIL_ADDRESS", "US_ITIN")
    assert rules.pii.allowed_values == ("+1 303 555 0142",)
    assert rules.claims.similarity == 0.7
    assert rules.budget.per_action_max == Decimal(2500)
    assert rules.budget.daily_max == {ChannelName.PAID_SEARCH: Decimal("600.50")}
    assert rules.budget.cycle_max == {ChannelName.PAID_SEARCH: Decimal(4000)}
    assert rules.approvals.ttl_hours == 48
    assert rules.approvals.escalate_to == (Role.STRATEGIST, Role.ADMIN)
    assert rules.approvals.sensitive_audience_roles == (Role.LEGAL, Role.BRAND)


BAD = [
    (
        {"budget": {"per_action_max": -1}},
        "governance.budget.per_action_max",
        "greater than or equal to 0",
    ),
    (
        {"budget": {"daily_max": {"email": -5}}},
        "governance.budget.daily_max.email",
        "greater than or equal to 0",
    ),
    (
        {"contact": {"all_channels": {"week": -1}}},
        "governance.contact.all_channels.week",
        "greater than or equal to 0",
    ),
    ({"budget": {"daily_max": {"telegram": 5}}}, "governance.budget.daily_max.telegram", "email"),
    (
        {"contact": {"per_channel": {"paid_search": {"day": 1}}}},
        "governance.contact.per_channel.paid_search",
        "'email', 'sms' or 'push'",
    ),
    (
        {"approvals": {"sensitive_audience_roles": ["lawyer"]}},
        "governance.approvals.sensitive_audience_roles[0]",
        "'legal'",
    ),
    (
        {"approvals": {"sensitive_audience_roles": []}},
        "governance.approvals.sensitive_audience_roles",
        "at least 1",
    ),
    ({"pii": {"entities": ["PERSON"]}}, "governance.pii.entities[0]", "'EMAIL_ADDRESS'"),
    ({"claims": {"similarity": 1.5}}, "governance.claims.similarity", "less than or equal to 1"),
    ({"claims": {"similarity": 0}}, "governance.claims.similarity", "greater than 0"),
    ({"claims": {"threshold": 0.8}}, "governance.claims.threshold", "unknown field"),
]


@pytest.mark.parametrize(("section", "field", "says"), BAD, ids=[b[1] for b in BAD])
def test_bad_values_name_the_file_line_and_field(
    tmp_path: Path, section: dict[str, Any], field: str, says: str
) -> None:
    text = yaml.safe_dump({**CONFIG, "governance": section}, sort_keys=False)
    (tmp_path / "mios.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(tmp_path, with_customers=False)
    line = 1 + next(i for i, row in enumerate(text.splitlines()) if row.startswith("governance:"))
    match = re.search(rf"mios\.yaml:(\d+), {re.escape(field)}: (.*)", str(caught.value))
    assert match, str(caught.value)
    assert int(match[1]) > line
    assert says in match[2]


def test_the_pii_entities_a_workspace_may_name_are_the_checkers() -> None:
    assert sorted(get_args(PiiEntity)) == sorted(PII_ENTITIES)


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_examples_configure_their_governance(example: str, tmp_path: Path) -> None:
    write_example(tmp_path, example, customers=10)
    shop = build_workspace(load_workspace(tmp_path, with_customers=False).spec)
    assert shop.guardrails != Guardrails()
    assert shop.guardrails.budget.per_action_max is not None
    assert Role.LEGAL in shop.guardrails.approvals.sensitive_audience_roles


def test_the_documented_examples_are_valid() -> None:
    blocks = re.findall(
        r"<!-- (?:governance|example: mios\.yaml) -->\n```yaml\n(.*?)```", DOCS.read_text(), re.S
    )
    assert len(blocks) == 2
    fragment, complete = (yaml.safe_load(b) for b in blocks)
    GuardrailsSpec.model_validate(fragment["governance"])
    assert WorkspaceFileSpec.model_validate(complete).governance != GuardrailsSpec()
