"""The brand book: banned terms, the claims library, the sender identity."""

from __future__ import annotations

from typing import Any

import pytest

from mios.domain.brand import Brand, Claim, PostalAddress, SenderIdentity
from mios.errors import DomainError

ADDRESS = PostalAddress("1 Main St", "Springfield", "12345", "US")
SENDER = SenderIdentity("Shop", "hello@shop.example", ADDRESS)


def brand(**overrides: Any) -> Brand:
    fields: dict[str, Any] = {"name": "Shop", "sender": SENDER}
    fields.update(overrides)
    return Brand(**fields)


class TestBannedTerms:
    book = brand(banned_terms=("free", "Guaranteed", "act now", "100%", "risk-free"))

    @pytest.mark.parametrize(
        ("text", "found"),
        [
            ("Get it FREE today", ("free",)),
            ("free", ("free",)),
            ("Free!", ("free",)),
            ("(free)", ("free",)),
            ("results guaranteed.", ("Guaranteed",)),
            ("ACT   NOW", ()),  # the phrase is matched as written, spaces included
            ("Act now, or regret", ("act now",)),
            ("100% cotton", ("100%",)),
            ("a risk-free trial", ("free", "risk-free")),  # a hyphen separates words
            ("Free and guaranteed", ("free", "Guaranteed")),
        ],
    )
    def test_whole_words_case_insensitively(self, text: str, found: tuple[str, ...]) -> None:
        assert self.book.banned_terms_in(text) == found

    @pytest.mark.parametrize(
        "text",
        ["freedom", "carefree", "freely", "unguaranteed", "guaranteedly", "free_shipping", "1100%"],
    )
    def test_not_inside_other_words(self, text: str) -> None:
        assert self.book.banned_terms_in(text) == ()

    def test_term_with_regex_characters_is_literal(self) -> None:
        book = brand(banned_terms=("a.b",))
        assert book.banned_terms_in("see a.b now") == ("a.b",)
        assert book.banned_terms_in("see axb now") == ()

    def test_no_banned_terms(self) -> None:
        assert brand().banned_terms_in("free free free") == ()


class TestClaims:
    warm = Claim("warm", "Keeps you warm", "LAB-1")
    dry = Claim("dry", "Keeps you dry", "LAB-2", channels=("email",))

    def test_lookup(self) -> None:
        book = brand(claims=(self.warm, self.dry))
        assert book.claim("dry") is self.dry
        assert book.claim("warm").substantiation_id == "LAB-1"

    def test_unknown_claim_raises(self) -> None:
        with pytest.raises(DomainError, match="no claim 'cool'"):
            brand(claims=(self.warm,)).claim("cool")

    def test_duplicate_claim_ids_raise(self) -> None:
        with pytest.raises(DomainError, match="claim id 'warm' appears twice"):
            brand(claims=(self.warm, self.dry, Claim("warm", "Other", "LAB-3")))

    @pytest.mark.parametrize("substantiation", ["", "   ", "\t"])
    def test_empty_substantiation_raises(self, substantiation: str) -> None:
        with pytest.raises(DomainError, match="without substantiation"):
            Claim("x", "Text", substantiation)


class TestSenderAndDisclaimers:
    @pytest.mark.parametrize(
        "email",
        [
            "",
            "hello",
            "hello@",
            "@shop.example",
            "hello@shop",
            "a b@shop.example",
            "a@b@shop.example",
            "hello@shop.example ",
        ],
    )
    def test_bad_sender_email_raises(self, email: str) -> None:
        with pytest.raises(DomainError, match="is not an address"):
            SenderIdentity("Shop", email, ADDRESS)

    @pytest.mark.parametrize("email", ["hello@shop.example", "a.b+c@mail.shop.co.uk"])
    def test_good_sender_email(self, email: str) -> None:
        assert SenderIdentity("Shop", email, ADDRESS).email == email

    def test_address_one_line_skips_empty_parts(self) -> None:
        assert ADDRESS.one_line() == "1 Main St, Springfield, 12345, US"
        with_region = PostalAddress("1 Main St", "Springfield", "12345", "US", region="IL")
        assert with_region.one_line() == "1 Main St, Springfield, IL, 12345, US"

    def test_disclaimer_for(self) -> None:
        book = brand(required_disclaimers={"discount": "Terms apply."})
        assert book.disclaimer_for("discount") == "Terms apply."
        assert book.disclaimer_for("bundle") is None
