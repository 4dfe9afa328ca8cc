"""Consent and suppression: no message to a customer without granted consent for the channel,
without a lawful basis where the GDPR applies, without explicit opt-in for SMS, or while
suppressed. Applies to messages on email, SMS and push, and to customer-list audiences on
paid social and display (an estimate-only audience names nobody, so there is nothing to check).
"""

from __future__ import annotations

import numpy as np

from mios.domain.action import Action
from mios.domain.channel import CONSENT_CHANNELS, ChannelName
from mios.domain.customer import (
    BASIS_CODES,
    CONSENT_CODES,
    ConsentStatus,
    LawfulBasis,
)
from mios.domain.customer_table import consent_column
from mios.domain.governance import Finding
from mios.domain.proposal import ActionKind
from mios.governance.audience import in_eu
from mios.governance.checkers.reach import about_customers, reached
from mios.governance.review_context import Check, ReviewContext
from mios.types import BoolArray

_GRANTED = CONSENT_CODES.index(ConsentStatus.GRANTED)
_NO_BASIS = BASIS_CODES.index(LawfulBasis.NONE)
_CONSENT_BASIS = BASIS_CODES.index(LawfulBasis.CONSENT)


class ConsentChecker:
    id: str = "consent"

    def check(self, action: Action, context: ReviewContext) -> Check:
        channel = action.channel
        if action.kind is not ActionKind.SEND_MESSAGE or channel not in CONSENT_CHANNELS:
            return Check()
        table = context.customers
        audience = reached(action, context)
        findings: list[Finding] = []
        if audience.unknown_ids:
            unknown = np.asarray(audience.unknown_ids, dtype=np.str_)
            rows = np.arange(len(unknown), dtype=np.int64)
            findings.append(
                about_customers(
                    "consent/unknown-customer", "not in the customer table", unknown, rows
                )
            )
        rows = audience.positions
        column = consent_column(channel)
        granted = table.consent_status[rows, column] == _GRANTED
        basis = table.consent_basis[rows, column]
        eu = in_eu(table, rows)
        rules: list[tuple[str, BoolArray, str]] = [
            ("consent/not-granted", ~granted, f"without granted consent for {channel}"),
            (
                "consent/eu-lawful-basis",
                eu & (basis == _NO_BASIS),
                f"in the EU without a lawful basis recorded for {channel}",
            ),
            ("consent/suppressed", table.suppressed[rows], "suppressed"),
        ]
        if channel is ChannelName.SMS:
            # A grant on legitimate interest or contract is not an opt-in; SMS law wants one.
            rules.append(
                (
                    "consent/sms-opt-in",
                    granted & (basis != _CONSENT_BASIS),
                    "without an explicit SMS opt-in (consent granted with consent as the basis)",
                )
            )
        findings += [
            about_customers(rule_id, what, table.ids, rows[hit])
            for rule_id, hit, what in rules
            if hit.any()
        ]
        return Check(tuple(findings))
