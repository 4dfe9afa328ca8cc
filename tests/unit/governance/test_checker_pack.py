"""All built-in checkers together, through the review gate."""

from __future__ import annotations

from mios.domain.governance import FindingSeverity, Role, VerdictEffect
from mios.governance.checkers import BUILT_IN_CHECKERS, built_in_checkers
from mios.governance.review import Reviewer
from mios.governance.review_context import ContactHistory
from tests.unit.governance.checker_world import (
    SMS,
    body,
    context,
    customer,
    message,
    table,
    workspace,
)


def test_every_checker_has_its_own_id() -> None:
    ids = [c.id for c in built_in_checkers()]
    assert len(set(ids)) == len(ids) == 8
    assert built_in_checkers() == BUILT_IN_CHECKERS


def test_a_compliant_message_passes_every_checker() -> None:
    people = table()
    ctx = context(customers=people, contacts=ContactHistory.empty(len(people)))
    action = message(text=body("Layers for the cold. 15% off base layers this week."))
    findings = [f for c in built_in_checkers() for f in c.check(action, ctx).findings]
    assert findings == []


def test_a_review_without_contact_history_says_so_and_still_allows() -> None:
    action = message(text=body("Layers for the cold. 15% off base layers this week."))
    review = Reviewer(workspace(), built_in_checkers()).review(action, context())
    assert review.verdict.effect is not VerdictEffect.DENY
    found = {f.rule_id: f.severity for f in review.verdict.findings}
    assert found["contact-policy/no-history"] is FindingSeverity.WARN


def test_the_gate_denies_on_any_checker_and_asks_legal_for_minors() -> None:
    shop = workspace()
    people = table(customer("C1"), customer("K1", age_band="under_18", suppressed=True))
    reviewer = Reviewer(shop, built_in_checkers())
    review = reviewer.review(message(ids=("C1", "K1")), context(shop, people))
    assert review.verdict.effect is VerdictEffect.DENY
    denied = {f.rule_id for f in review.verdict.findings if f.severity is FindingSeverity.DENY}
    assert "consent/suppressed" in denied
    assert Role.LEGAL in {role for r in review.requirements for role in r.roles}


def test_the_gate_allows_what_every_checker_allows() -> None:
    shop = workspace()
    review = Reviewer(shop, built_in_checkers()).review(
        message(SMS, text="Boots are back."), context(shop)
    )
    assert review.verdict.effect is not VerdictEffect.DENY, review.verdict.findings
