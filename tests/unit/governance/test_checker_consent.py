"""Consent and suppression: one row per rule and its edge, each against a few customers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.customer import BASIS_CODES, ConsentStatus, Customer, LawfulBasis
from mios.domain.customer_table import CustomerTable, consent_column
from mios.domain.proposal import ActionKind, Audience
from mios.governance.checkers.consent import ConsentChecker
from tests.unit.governance.checker_world import (
    EMAIL,
    SMS,
    context,
    customer,
    denied,
    finding,
    message,
    table,
)

GRANTED, DENIED, UNKNOWN = ConsentStatus.GRANTED, ConsentStatus.DENIED, ConsentStatus.UNKNOWN
CONSENT, INTEREST, NONE = LawfulBasis.CONSENT, LawfulBasis.LEGITIMATE_INTEREST, LawfulBasis.NONE
SOCIAL = ChannelName.PAID_SOCIAL


def without_basis(customers: CustomerTable, row: int, channel: ChannelName) -> CustomerTable:
    """A grant with no basis: the domain refuses to record one, so only bad data can hold it."""
    basis = customers.consent_basis.copy()
    basis[row, consent_column(channel)] = BASIS_CODES.index(NONE)
    return replace(customers, consent_basis=basis)


CASES = [
    ("granted email", EMAIL, customer("C2"), set()),
    ("email refused", EMAIL, customer("C2", consent={EMAIL: (DENIED, NONE)}), {"not-granted"}),
    ("email never asked", EMAIL, customer("C2", consent={}), {"not-granted"}),
    (
        "EU customer without a lawful basis",
        EMAIL,
        customer("C2", region="EU", country="DE", consent={EMAIL: (UNKNOWN, NONE)}),
        {"not-granted", "eu-lawful-basis"},
    ),
    (
        "EU by country, whatever the region",
        EMAIL,
        customer("C2", region="EMEA", country="FR", consent={EMAIL: (UNKNOWN, NONE)}),
        {"not-granted", "eu-lawful-basis"},
    ),
    (
        "EU customer on legitimate interest",
        EMAIL,
        customer("C2", region="EU", country="DE", consent={EMAIL: (GRANTED, INTEREST)}),
        set(),
    ),
    ("SMS opted in", SMS, customer("C2"), set()),
    (
        "SMS on legitimate interest is no opt-in",
        SMS,
        customer("C2", consent={SMS: (GRANTED, INTEREST)}),
        {"sms-opt-in"},
    ),
    (
        "SMS on contract is no opt-in",
        SMS,
        customer("C2", consent={SMS: (GRANTED, LawfulBasis.CONTRACT)}),
        {"sms-opt-in"},
    ),
    ("suppressed customer", EMAIL, customer("C2", suppressed=True), {"suppressed"}),
    (
        "customer list on paid social without consent",
        SOCIAL,
        customer("C2"),
        {"not-granted"},
    ),
    (
        "customer list on paid social with consent",
        SOCIAL,
        customer("C2", consent={SOCIAL: (GRANTED, CONSENT)}),
        set(),
    ),
]


@pytest.mark.parametrize(
    ("name", "channel", "second", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_consent_rules(
    name: str, channel: ChannelName, second: Customer, expected: set[str]
) -> None:
    first = customer("C1", consent=dict.fromkeys((EMAIL, SMS, SOCIAL), (GRANTED, CONSENT)))
    check = ConsentChecker().check(message(channel), context(customers=table(first, second)))
    assert denied(check) == {f"consent/{rule}" for rule in expected}
    for f in check.findings:
        assert f.message.startswith("1 customer ")
        assert f.value == "C2"


def test_a_grant_without_basis_is_caught_in_the_eu_only() -> None:
    people = table(customer("C1", region="EU", country="DE"), customer("C2"))
    check = ConsentChecker().check(
        message(), context(customers=without_basis(without_basis(people, 0, EMAIL), 1, EMAIL))
    )
    assert denied(check) == {"consent/eu-lawful-basis"}
    assert finding(check, "consent/eu-lawful-basis").value == "C1"


def test_an_unknown_customer_id_is_denied() -> None:
    check = ConsentChecker().check(message(ids=("C1", "C9")), context())
    assert denied(check) == {"consent/unknown-customer"}
    assert finding(check, "consent/unknown-customer").value == "C9"


def test_a_segment_audience_is_resolved_and_counted_with_five_examples() -> None:
    refused = [customer(f"R{i}", consent={}) for i in range(7)]
    people = table(customer("C1"), *refused)
    check = ConsentChecker().check(message(ids=(), segment="everyone"), context(customers=people))
    found = finding(check, "consent/not-granted")
    assert found.message == "7 customers without granted consent for email"
    assert found.value == "R0, R1, R2, R3, R4"


@pytest.mark.parametrize(
    "action",
    [
        Action(
            id="a",
            proposal_id="p",
            kind=ActionKind.SEND_MESSAGE,
            snapshot_version=1,
            channel=SOCIAL,
            audience=Audience(estimated_size=50_000),
            content=message().content,
        ),
        Action(
            id="a",
            proposal_id="p",
            kind=ActionKind.SEND_MESSAGE,
            snapshot_version=1,
            channel=ChannelName.PAID_SEARCH,
            audience=Audience(customer_ids=("C1",)),
            content=message().content,
        ),
        Action(
            id="a", proposal_id="p", kind=ActionKind.ADJUST_BID, snapshot_version=1, channel=EMAIL
        ),
    ],
    ids=["estimate-only audience", "channel without consent", "not a message"],
)
def test_actions_that_reach_nobody_by_name_are_not_checked(action: Action) -> None:
    people = table(customer("C1", consent={}))
    assert ConsentChecker().check(action, context(customers=people)).findings == ()


def test_a_large_audience_is_checked_as_arrays() -> None:
    n = 100_000
    people = table(customer("C1"), customer("C2", consent={}))
    big = people.take(np.arange(n) % 2)
    big = replace(big, ids=np.char.add("C", np.arange(n).astype(np.str_)))
    check = ConsentChecker().check(message(ids=(), segment="everyone"), context(customers=big))
    assert finding(check, "consent/not-granted").message.startswith(f"{n // 2:,} customers")
