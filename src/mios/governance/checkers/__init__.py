"""The built-in checkers: what a policy expression cannot do, each configured by the
workspace's ``governance:`` section (``Workspace.guardrails``).

    consent              consent per channel, a lawful basis in the EU, SMS opt-in, suppression
    contact-policy       messages per customer per channel and in all, per day and week; cooldowns
    quiet-hours          SMS and push in the customer's local night
    commercial-email     unsubscribe link, sender, postal address, List-Unsubscribe header
    pii                  personal data in copy (Presidio pattern recognizers)
    brand                banned terms, disclaimers per offer type, cited and uncited claims
    budget               caps per action, day and cycle; budget change limit; the ledger
    sensitive-audience   sensitive segments need approval (legal by default)
"""

from __future__ import annotations

from mios.governance.checkers.brand import BrandChecker
from mios.governance.checkers.budget import BudgetChecker
from mios.governance.checkers.commercial_email import CommercialEmailChecker
from mios.governance.checkers.consent import ConsentChecker
from mios.governance.checkers.contact_policy import ContactPolicyChecker
from mios.governance.checkers.pii import PiiChecker
from mios.governance.checkers.quiet_hours import QuietHoursChecker
from mios.governance.checkers.sensitive_audience import SensitiveAudienceChecker
from mios.governance.review_context import Checker

__all__ = [
    "BUILT_IN_CHECKERS",
    "BrandChecker",
    "BudgetChecker",
    "CommercialEmailChecker",
    "ConsentChecker",
    "ContactPolicyChecker",
    "PiiChecker",
    "QuietHoursChecker",
    "SensitiveAudienceChecker",
    "built_in_checkers",
]

#: Stateless, so one instance of each serves every review.
BUILT_IN_CHECKERS: tuple[Checker, ...] = (
    ConsentChecker(),
    ContactPolicyChecker(),
    QuietHoursChecker(),
    CommercialEmailChecker(),
    PiiChecker(),
    BrandChecker(),
    BudgetChecker(),
    SensitiveAudienceChecker(),
)


def built_in_checkers() -> tuple[Checker, ...]:
    """What ``mios.bootstrap`` hands the ``Reviewer``; tests pass their own tuple instead."""
    return BUILT_IN_CHECKERS
