"""A customer, as one record: where they are, what they agreed to, whether they are suppressed.

The brain never loops over these; it reads ``CustomerTable`` columns. This record is for one
customer at a time (a real-time decision, a CLI ``show``, a test).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from mios.domain.channel import ChannelName
from mios.errors import DomainError


class ConsentStatus(StrEnum):
    UNKNOWN = "unknown"
    GRANTED = "granted"
    DENIED = "denied"


class LawfulBasis(StrEnum):
    """GDPR Art. 6 bases that marketing relies on; ``none`` means no basis was recorded."""

    NONE = "none"
    CONSENT = "consent"
    LEGITIMATE_INTEREST = "legitimate_interest"
    CONTRACT = "contract"


#: Where the GDPR applies: a customer in region ``EU``, or in one of these countries (ISO 3166).
EU_REGIONS: tuple[str, ...] = ("EU",)
EU_COUNTRIES: tuple[str, ...] = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
)  # fmt: skip

#: Stable small-integer codes, so consent is an int8 column and never a string per customer.
CONSENT_CODES: tuple[ConsentStatus, ...] = tuple(ConsentStatus)
BASIS_CODES: tuple[LawfulBasis, ...] = tuple(LawfulBasis)


@dataclass(frozen=True)
class Consent:
    """A customer's standing for one channel, with the basis and the moment it was given."""

    status: ConsentStatus = ConsentStatus.UNKNOWN
    basis: LawfulBasis = LawfulBasis.NONE
    at: datetime | None = None

    def __post_init__(self) -> None:
        if self.at is not None and self.at.tzinfo is None:
            raise DomainError("consent timestamp must be timezone-aware")
        if self.status is ConsentStatus.GRANTED and self.basis is LawfulBasis.NONE:
            # A grant without a basis is how EU compliance incidents start; refuse to record it.
            raise DomainError("granted consent needs a lawful basis")

    @property
    def granted(self) -> bool:
        return self.status is ConsentStatus.GRANTED


NO_CONSENT = Consent()

AttributeValue = float | str


@dataclass(frozen=True)
class Customer:
    id: str
    region: str
    country: str
    time_zone: str
    consent: Mapping[ChannelName, Consent] = field(default_factory=dict)
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    suppressed: bool = False
    suppression_reason: str | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise DomainError("customer id must not be empty")
        if self.suppression_reason and not self.suppressed:
            raise DomainError(f"customer {self.id}: a suppression reason needs suppressed=true")

    def consent_for(self, channel: ChannelName) -> Consent:
        return self.consent.get(channel, NO_CONSENT)
