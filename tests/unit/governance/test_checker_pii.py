"""PII in copy with Presidio's pattern recognizers: what is found, what is allowed, and that
looking only at candidate runs finds exactly what a scan of the whole text finds."""

from __future__ import annotations

import pytest

from mios.domain.governance import FindingSeverity
from mios.governance.checkers import pii
from mios.governance.checkers.pii import PII_ENTITIES, PiiChecker
from tests.unit.governance.checker_world import (
    body,
    context,
    denied,
    finding,
    message,
    workspace,
)

CASES = [
    ("clean copy", "Layers for the cold, 20% off until Sunday, since 2009.", set()),
    ("an e-mail address", "Write to jane.doe@gmail.com for help.", {"email-address"}),
    ("a phone number", "Call Jane on +1 (415) 555-0132 today.", {"phone-number"}),
    ("a German phone number", "Ruf an: 030 1234567.", {"phone-number"}),
    ("a card number", "Your card 4111 1111 1111 1111 is saved.", {"credit-card"}),
    ("an IBAN", "Pay to DE89 3704 0044 0532 0130 00 now.", {"iban-code"}),
    ("an SSN", "Your SSN 536-22-1234 is on file.", {"us-ssn"}),
    ("an IP address", "You logged in from 203.0.113.54 yesterday.", {"ip-address"}),
    ("an order number is not an SSN", "Order 123456789 has shipped.", set()),
    (
        "several at once",
        "Mail jane.doe@gmail.com or call +1 (415) 555-0132 with card 4111 1111 1111 1111.",
        {"email-address", "phone-number", "credit-card"},
    ),
]


@pytest.mark.parametrize(("name", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_pii_in_the_body(name: str, text: str, expected: set[str]) -> None:
    check = PiiChecker().check(message(text=body(text)), context())
    assert denied(check) == {f"pii/{entity}" for entity in expected}


def test_a_finding_says_where_and_never_repeats_the_value() -> None:
    text = body("Write to jane.doe@gmail.com for help.")
    found = finding(PiiChecker().check(message(text=text), context()), "pii/email-address")
    start = text.index("jane")
    assert found.span == f"body[{start}:{start + len('jane.doe@gmail.com')}]"
    assert found.value == "ja**************om"
    assert "jane.doe" not in found.message
    assert found.severity is FindingSeverity.DENY


def test_the_subject_and_headline_are_read_too() -> None:
    check = PiiChecker().check(message(subject="For jane.doe@gmail.com"), context())
    assert finding(check, "pii/email-address").span == "subject[4:22]"


def test_allowed_values_and_the_brands_own_addresses_are_not_findings() -> None:
    shop = workspace(governance={"pii": {"allowed_values": ["+1 303 555 0142"]}})
    text = body("Call care on +1 (303) 555-0142 or write to hello@shop.example.")
    assert PiiChecker().check(message(text=text), context(shop)).findings == ()
    other = body("Call +1 (303) 555-0199.")
    assert denied(PiiChecker().check(message(text=other), context(shop))) == {"pii/phone-number"}


def test_only_the_configured_entities_are_looked_for() -> None:
    cards_only = workspace(governance={"pii": {"entities": ["CREDIT_CARD"]}})
    text = body("Mail jane.doe@gmail.com about card 4111 1111 1111 1111.")
    check = PiiChecker().check(message(text=text), context(cards_only))
    assert denied(check) == {"pii/credit-card"}


TEXTS = [
    "Mail jane.doe@gmail.com or call +1 (415) 555-0132 with card 4111 1111 1111 1111.",
    "Pay DE89 3704 0044 0532 0130 00, SSN 536-22-1234, from 203.0.113.54 or 2001:db8::1.",
    "Ruf an: 030 1234567 oder 089 1234. NHS 401 023 2137. ITIN 912-70-1234.",
    "Save 20% on orders over $50 until 2026-12-01, at 10:30:00, 3 for 2, since 1998.",
    "Numbers 415 555 0132\n\n\n212 555 0199 and 4111111111111111 and a@b.co.",
    "(jane@gmail.com), tel:+14155550132, email:jo@mail.example; IP:203.0.113.54.",
    "Runs apart stay apart: call 415 555 then 0132 212 or DE89 3704 and 0044 0532 0130 00.",
]


@pytest.mark.parametrize("text", TEXTS)
def test_looking_at_candidate_runs_finds_what_a_full_scan_finds(text: str) -> None:
    full = pii._analyzer().analyze(
        text, language="en", entities=list(PII_ENTITIES), score_threshold=pii.MIN_SCORE
    )
    expected = sorted((r.entity_type, r.start, r.end) for r in full)
    found = sorted((h.entity, h.start, h.end) for h in pii._find("body", text, PII_ENTITIES))
    assert found == expected


def test_the_engine_serves_exactly_the_entities_a_workspace_may_name() -> None:
    assert sorted(pii._analyzer().get_supported_entities()) == sorted(PII_ENTITIES)
