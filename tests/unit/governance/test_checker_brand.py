"""Brand: banned terms, disclaimers per offer type, cited claims, and claims found in the copy
itself (exact, reworded, or sounding like one with nothing behind it)."""

from __future__ import annotations

import pytest

from mios.domain.channel import ChannelName
from mios.governance.checkers.brand import BrandChecker
from tests.unit.governance.checker_world import (
    SMS,
    context,
    denied,
    finding,
    message,
    workspace,
)

STORMSHELL = "StormShell jackets are rated 20,000 mm waterproof and 15,000 g/m2 breathable."
DISCLAIMER = "Excludes sale items. One use per customer."

# (name, body, cited claims, offer, channel, expected rules)
CASES: list[tuple[str, str, tuple[str, ...], str | None, ChannelName, set[str]]] = [
    (
        "plain copy",
        "Layers for the cold. Free shipping over $50.",
        (),
        None,
        ChannelName.EMAIL,
        set(),
    ),
    ("a banned term", "Warmth, guaranteed.", (), None, ChannelName.EMAIL, {"banned-term"}),
    (
        "a banned term in capitals",
        "GUARANTEED warmth.",
        (),
        None,
        ChannelName.EMAIL,
        {"banned-term"},
    ),
    ("a banned phrase", "Try it risk-free.", (), None, ChannelName.EMAIL, {"banned-term"}),
    ("only whole words", "Our unguaranteed-looking hats.", (), None, ChannelName.EMAIL, set()),
    (
        "discount with its disclaimer",
        f"15% off. {DISCLAIMER}",
        (),
        "winback-15",
        ChannelName.EMAIL,
        set(),
    ),
    (
        "disclaimer in other case and spacing",
        "15% off.\nexcludes sale   items. one use per customer.",
        (),
        "winback-15",
        ChannelName.EMAIL,
        set(),
    ),
    (
        "disclaimer missing",
        "15% off everything.",
        (),
        "winback-15",
        ChannelName.EMAIL,
        {"disclaimer"},
    ),
    (
        "an offer type without a disclaimer",
        "Buy the bundle.",
        (),
        "bundle",
        ChannelName.EMAIL,
        set(),
    ),
    ("an unknown offer", "Buy now.", (), "nope", ChannelName.EMAIL, {"unknown-offer"}),
    (
        "a library claim, cited",
        STORMSHELL,
        ("stormshell-waterproof",),
        None,
        ChannelName.EMAIL,
        set(),
    ),
    ("a library claim, not cited", STORMSHELL, (), None, ChannelName.EMAIL, {"uncited-claim"}),
    (
        "a claim slightly reworded, not cited",
        "Our StormShell jacket is rated 20,000mm waterproof and 15,000 g/m2 breathable!",
        (),
        None,
        ChannelName.EMAIL,
        {"uncited-claim"},
    ),
    (
        "a claim reworded inside a longer sentence, not cited",
        "Stay dry: StormShell jackets are rated at 20,000 mm waterproofing and 15,000 g/m2 "
        "breathable, all winter long.",
        (),
        None,
        ChannelName.EMAIL,
        {"uncited-claim"},
    ),
    (
        "a claim slightly reworded, cited",
        "You can return anything unworn within 60 days and get a full refund.",
        ("returns-60-days",),
        None,
        ChannelName.EMAIL,
        set(),
    ),
    (
        "a cited claim with another figure",
        "StormShell jackets are rated 40,000 mm waterproof and 15,000 g/m2 breathable.",
        ("stormshell-waterproof",),
        None,
        ChannelName.EMAIL,
        {"altered-claim"},
    ),
    (
        "a cited claim with a quantifier for its figure",
        "Return anything unworn within all the days you like for a full refund.",
        ("returns-60-days",),
        None,
        ChannelName.EMAIL,
        {"altered-claim"},
    ),
    (
        "an uncited claim with another figure",
        "Return anything unworn within 90 days for a full refund.",
        (),
        None,
        ChannelName.EMAIL,
        {"uncited-claim"},
    ),
    (
        "a cited claim with a quantifier about something else",
        "StormShell jackets are rated 20,000 mm waterproof and 15,000 g/m2 breathable, all "
        "winter long.",
        ("stormshell-waterproof",),
        None,
        ChannelName.EMAIL,
        set(),
    ),
    (
        "a cited claim with its figures in another format",
        "Rated 20000 mm waterproof and 15,000 g/m2 breathable: StormShell jackets.",
        ("stormshell-waterproof",),
        None,
        ChannelName.EMAIL,
        set(),
    ),
    (
        "citing a claim not in the library",
        "Warm.",
        ("warmest-ever",),
        None,
        ChannelName.EMAIL,
        {"unknown-claim"},
    ),
    (
        "citing a claim not cleared for the channel",
        "Rated 4.8 out of 5 by more than 12,000 verified customers.",
        ("customer-rating",),
        None,
        SMS,
        {"claim-channel"},
    ),
    (
        "a superlative",
        "The fastest jacket on the trail.",
        (),
        None,
        ChannelName.EMAIL,
        {"unsubstantiated-claim"},
    ),
    (
        "a share with a quality",
        "100% waterproof seams.",
        (),
        None,
        ChannelName.EMAIL,
        {"unsubstantiated-claim"},
    ),
    (
        "a lifetime",
        "These boots last 10 years.",
        (),
        None,
        ChannelName.EMAIL,
        {"unsubstantiated-claim"},
    ),
    (
        "a multiple",
        "3x warmer than fleece.",
        (),
        None,
        ChannelName.EMAIL,
        {"unsubstantiated-claim"},
    ),
    (
        "a measure that is not the library's claim",
        "StormShell jackets keep you dry in a 20,000 mm storm.",
        ("stormshell-waterproof",),
        None,
        ChannelName.EMAIL,
        {"unsubstantiated-claim"},
    ),
    (
        "offers and sign-offs are not claims",
        "Save 20% off today. Save 20% on everything. Sale ends in 3 days. Best regards, the team.",
        (),
        None,
        ChannelName.EMAIL,
        set(),
    ),
]


@pytest.mark.parametrize(
    ("name", "text", "claims", "offer", "channel", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_brand(
    name: str,
    text: str,
    claims: tuple[str, ...],
    offer: str | None,
    channel: ChannelName,
    expected: set[str],
) -> None:
    action = message(channel, text=text, claims=claims, offer=offer)
    assert denied(BrandChecker().check(action, context())) == {f"brand/{r}" for r in expected}


def test_an_uncited_claim_names_the_claim_and_the_sentence() -> None:
    text = (
        "Warm hats. Our StormShell jacket is rated 20,000mm waterproof and 15,000 g/m2 breathable!"
    )
    found = finding(BrandChecker().check(message(text=text), context()), "brand/uncited-claim")
    assert found.value == "stormshell-waterproof"
    assert found.span == text.removeprefix("Warm hats. ")
    assert "stormshell-waterproof" in found.message


def test_the_subject_is_read_for_claims_and_banned_terms() -> None:
    check = BrandChecker().check(message(subject="The warmest coat, guaranteed"), context())
    assert denied(check) == {"brand/banned-term", "brand/unsubstantiated-claim"}


def test_the_similarity_threshold_comes_from_the_workspace() -> None:
    # The sentence holds 10 of the claim's 11 content words (91%).
    text = "StormShell jackets: 20,000 mm waterproof, 15,000 g/m2 breathable."
    strict = workspace(governance={"claims": {"similarity": 0.95}})
    assert denied(BrandChecker().check(message(text=text), context())) == {"brand/uncited-claim"}
    strict_check = BrandChecker().check(message(text=text), context(strict))
    assert denied(strict_check) == {"brand/unsubstantiated-claim"}


def test_copy_read_before_is_judged_by_what_this_action_cites() -> None:
    """The reading of a text is kept between reviews; citing is judged per action."""
    checker = BrandChecker()
    uncited = message(ChannelName.EMAIL, text=STORMSHELL)
    cited = message(ChannelName.EMAIL, text=STORMSHELL, claims=("stormshell-waterproof",))
    for _ in range(2):
        assert denied(checker.check(uncited, context())) == {"brand/uncited-claim"}
        assert denied(checker.check(cited, context())) == set()
