"""The brand book: how the brand speaks, what it must never say, what it may claim and prove."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from mios.errors import DomainError


@dataclass(frozen=True)
class Claim:
    """A statement the brand may make, because evidence (``substantiation_id``) backs it."""

    id: str
    text: str
    substantiation_id: str
    channels: tuple[str, ...] = ()  # empty: usable everywhere

    def __post_init__(self) -> None:
        if not self.substantiation_id.strip():
            raise DomainError(f"claim {self.id}: a claim without substantiation is not a claim")


@dataclass(frozen=True)
class VoiceRules:
    tone: tuple[str, ...] = ()
    do: tuple[str, ...] = ()
    dont: tuple[str, ...] = ()
    reading_level_max: int | None = None
    max_exclamation_marks: int | None = None


@dataclass(frozen=True)
class PostalAddress:
    street: str
    city: str
    postal_code: str
    country: str
    region: str | None = None

    def one_line(self) -> str:
        parts = [self.street, self.city, self.region, self.postal_code, self.country]
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class SenderIdentity:
    """Who commercial messages come from (CAN-SPAM and CASL want this in every email)."""

    name: str
    email: str
    postal_address: PostalAddress
    reply_to: str | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", self.email):
            raise DomainError(f"sender email {self.email!r} is not an address")


@dataclass(frozen=True)
class Brand:
    name: str
    sender: SenderIdentity
    voice: VoiceRules = field(default_factory=VoiceRules)
    banned_terms: tuple[str, ...] = ()
    claims: tuple[Claim, ...] = ()
    required_disclaimers: Mapping[str, str] = field(default_factory=dict)  # offer type -> text

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for claim in self.claims:
            if claim.id in seen:
                raise DomainError(f"claim id {claim.id!r} appears twice in the claims library")
            seen.add(claim.id)

    def claim(self, claim_id: str) -> Claim:
        for claim in self.claims:
            if claim.id == claim_id:
                return claim
        raise DomainError(f"no claim {claim_id!r} in the claims library")

    def disclaimer_for(self, offer_type: str) -> str | None:
        return self.required_disclaimers.get(offer_type)

    def banned_terms_in(self, text: str) -> tuple[str, ...]:
        lowered = text.lower()
        return tuple(
            term
            for term in self.banned_terms
            if re.search(rf"(?<!\w){re.escape(term.lower())}(?!\w)", lowered)
        )
