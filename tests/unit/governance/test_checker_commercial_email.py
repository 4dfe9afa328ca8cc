"""Commercial email: each required element missing on its own, the forms each may take, and
the switches in the workspace."""

from __future__ import annotations

from typing import Any

import pytest

from mios.governance.checkers.commercial_email import CommercialEmailChecker
from tests.unit.governance.checker_world import (
    ADDRESS,
    HEADERS,
    SMS,
    UNSUBSCRIBE,
    context,
    denied,
    message,
    workspace,
)

LINK_FORMS = [
    UNSUBSCRIBE,
    "Unsubscribe: {{ unsubscribe_url }}",
    "Manage mail: https://shop.example/unsubscribe?c=1",
    "https://shop.example/prefs/opt-out",
    '<a href="https://shop.example/p?c=1">Unsubscribe</a>',
    "[Opt out of these emails](https://shop.example/p?c=1)",
]
CASES: list[tuple[str, str, dict[str, Any], set[str]]] = [
    ("everything present", f"Hi. Test Shop, {ADDRESS}. {UNSUBSCRIBE}", HEADERS, set()),
    (
        "no unsubscribe link",
        f"Hi. Test Shop, {ADDRESS}. Reply STOP to unsubscribe.",
        HEADERS,
        {"unsubscribe-link"},
    ),
    ("no sender", f"Hi. {ADDRESS}. {UNSUBSCRIBE}", HEADERS, {"sender-identity"}),
    (
        "no postal address",
        f"Hi. Test Shop, Springfield. {UNSUBSCRIBE}",
        HEADERS,
        {"postal-address"},
    ),
    (
        "no List-Unsubscribe header",
        f"Hi. Test Shop, {ADDRESS}. {UNSUBSCRIBE}",
        {},
        {"list-unsubscribe-header"},
    ),
    (
        "an empty List-Unsubscribe header",
        f"Hi. Test Shop, {ADDRESS}. {UNSUBSCRIBE}",
        {"headers": {"List-Unsubscribe": " "}},
        {"list-unsubscribe-header"},
    ),
    (
        "header names in any case",
        f"Hi. Test Shop, {ADDRESS}. {UNSUBSCRIBE}",
        {"headers": {"list-unsubscribe": "<mailto:u@shop.example>"}},
        set(),
    ),
    (
        "address over several lines",
        f"Hi.\n\nTEST SHOP\n1 Main St\nSpringfield, US 12345\n{UNSUBSCRIBE}",
        HEADERS,
        set(),
    ),
    (
        "nothing at all",
        "Hi.",
        {},
        {"unsubscribe-link", "sender-identity", "postal-address", "list-unsubscribe-header"},
    ),
]


@pytest.mark.parametrize(
    ("name", "text", "parameters", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_commercial_email(
    name: str, text: str, parameters: dict[str, Any], expected: set[str]
) -> None:
    check = CommercialEmailChecker().check(message(text=text, parameters=parameters), context())
    assert denied(check) == {f"commercial-email/{rule}" for rule in expected}


@pytest.mark.parametrize("link", LINK_FORMS)
def test_unsubscribe_link_forms(link: str) -> None:
    text = f"Hi. Test Shop, {ADDRESS}. {link}"
    assert CommercialEmailChecker().check(message(text=text), context()).findings == ()


def test_each_element_can_be_switched_off() -> None:
    off = {
        "unsubscribe_link": False,
        "sender_identity": False,
        "postal_address": False,
        "list_unsubscribe_header": False,
    }
    lenient = workspace(governance={"commercial_email": off})
    action = message(text="Hi.", parameters={})
    assert CommercialEmailChecker().check(action, context(lenient)).findings == ()


def test_only_email_is_checked() -> None:
    assert CommercialEmailChecker().check(message(SMS, text="Hi."), context()).findings == ()
