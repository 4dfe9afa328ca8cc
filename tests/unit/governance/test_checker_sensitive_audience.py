"""Sensitive audiences: a sensitive segment, or listed customers who fall in one, need the
approval roles the workspace names (legal by default)."""

from __future__ import annotations

from typing import Any

import pytest

from mios.domain.governance import FindingSeverity, Role
from mios.governance.checkers.sensitive_audience import SensitiveAudienceChecker
from mios.governance.review_context import Requirement
from tests.unit.governance.checker_world import context, customer, message, table, workspace

PEOPLE = table(customer("A1"), customer("A2"), customer("K1", age_band="under_18"))
LEGAL = Requirement("sensitive-audience/approval", frozenset({Role.LEGAL}), 1)

CASES = [
    ("the sensitive segment", {"segment": "minors", "ids": ()}, (LEGAL,)),
    ("listed adults", {"ids": ("A1", "A2")}, ()),
    ("a listed minor", {"ids": ("A1", "K1")}, (LEGAL,)),
    ("an ordinary segment holding minors", {"segment": "everyone", "ids": ()}, (LEGAL,)),
    ("unknown ids", {"ids": ("Z9",)}, ()),
]


@pytest.mark.parametrize(("name", "audience", "expected"), CASES, ids=[c[0] for c in CASES])
def test_sensitive_audience(
    name: str, audience: dict[str, Any], expected: tuple[Requirement, ...]
) -> None:
    check = SensitiveAudienceChecker().check(message(**audience), context(customers=PEOPLE))
    assert check.requirements == expected
    assert all(f.severity is FindingSeverity.APPROVE for f in check.findings)
    assert len(check.findings) == len(expected)


def test_the_finding_names_the_segment() -> None:
    check = SensitiveAudienceChecker().check(message(ids=("K1",)), context(customers=PEOPLE))
    (found,) = check.findings
    assert found.value == "minors"
    assert "legal must approve" in found.message


def test_the_roles_come_from_the_workspace() -> None:
    shop = workspace(governance={"approvals": {"sensitive_audience_roles": ["legal", "brand"]}})
    check = SensitiveAudienceChecker().check(message(segment="minors", ids=()), context(shop))
    assert check.requirements == (
        Requirement("sensitive-audience/approval", frozenset({Role.LEGAL, Role.BRAND}), 1),
    )
