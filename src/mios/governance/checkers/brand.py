"""Brand: banned terms, the disclaimer an offer type requires, and claims.

Claims are checked both ways. Every claim id the content cites must be in the claims library
(where each claim has a substantiation id) and cleared for the channel. And the copy itself is
read sentence by sentence (``claim_text``): a sentence that restates a library claim (even
reworded) must cite it, and a sentence that sounds like a claim but matches none is an
unsubstantiated claim. Both deny: an uncited claim cannot be traced to its evidence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from mios.domain.action import Action
from mios.domain.brand import Brand, Claim
from mios.domain.governance import Finding, FindingSeverity
from mios.domain.proposal import Content
from mios.domain.workspace import Workspace
from mios.governance.checkers.claim_text import (
    ClaimMatch,
    Reading,
    best_claims,
    claim_index,
    content_words,
    quantities,
    readings,
    words_only,
)
from mios.governance.review_context import Check, ReviewContext

_NUMBER = re.compile(r"\d[\d,.]*\d|\d")


class BrandChecker:
    id: str = "brand"

    def check(self, action: Action, context: ReviewContext) -> Check:
        content = action.content
        if content is None:
            return Check()
        workspace = context.workspace
        brand = workspace.brand
        texts = [t for t in (content.subject, content.headline, content.body) if t]
        findings = _banned(brand, "\n".join(texts))
        findings += _disclaimer(content, workspace)
        findings += _cited_claims(content, brand, action)
        threshold = workspace.guardrails.claims.similarity
        library = {c.id: c for c in brand.claims}
        for text in texts:
            for sentence, match, restated in _claim_sentences(text, brand.claims, threshold):
                findings += _claims_in(sentence, match, restated, content, library)
        return Check(tuple(findings))


@lru_cache(maxsize=1024)
def _claim_sentences(
    text: str, library: tuple[Claim, ...], threshold: float
) -> tuple[tuple[Reading, ClaimMatch | None, ClaimMatch | None], ...]:
    """The sentences of ``text`` that restate a library claim or sound like one, with their
    matches; kept per text, since one copy is reviewed for many audiences and again before it
    runs. What an action cites is judged per action (``_claims_in``)."""
    index, words = claim_index(library), claim_index(library, figures=False)
    found = []
    for sentence in readings(text):
        match, restated = best_claims(sentence.content, index, words, threshold)
        if match is not None or restated is not None or sentence.claim_like is not None:
            found.append((sentence, match, restated))
    return tuple(found)


def _banned(brand: Brand, text: str) -> list[Finding]:
    lowered = text.lower()
    # A substring test is far cheaper than the whole-word search, and most copy holds no term.
    if not any(term.lower() in lowered for term in brand.banned_terms):
        return []
    return [
        _deny("brand/banned-term", f"the copy uses the banned term {term!r}", value=term)
        for term in brand.banned_terms_in(text)
    ]


def _disclaimer(content: Content, workspace: Workspace) -> list[Finding]:
    if content.offer_id is None:
        return []
    offer = next((o for o in workspace.offers if o.id == content.offer_id), None)
    if offer is None:
        return [_deny("brand/unknown-offer", f"offer {content.offer_id!r} is not in the workspace")]
    required = workspace.brand.disclaimer_for(offer.type)
    if required is None or _folded(required) in _folded(content.body):
        return []
    return [
        _deny(
            "brand/disclaimer",
            f"a {offer.type} offer needs its disclaimer in the body: {required!r}",
            value=offer.type,
        )
    ]


def _cited_claims(content: Content, brand: Brand, action: Action) -> list[Finding]:
    library = {c.id: c for c in brand.claims}
    findings = []
    for claim_id in content.claims:
        claim = library.get(claim_id)
        if claim is None:
            findings.append(
                _deny(
                    "brand/unknown-claim",
                    f"claim {claim_id!r} is not in the claims library, so nothing substantiates it",
                    value=claim_id,
                )
            )
        elif claim.channels and action.channel is not None and action.channel not in claim.channels:
            findings.append(
                _deny(
                    "brand/claim-channel",
                    f"claim {claim_id!r} is cleared for {', '.join(claim.channels)}, "
                    f"not {action.channel}",
                    value=claim_id,
                )
            )
    return findings


def _claims_in(
    sentence: Reading,
    match: ClaimMatch | None,
    restated: ClaimMatch | None,
    content: Content,
    library: Mapping[str, Claim],
) -> list[Finding]:
    if match is None:
        # The claim's words with other figures or quantities is that claim, altered.
        if restated is not None:
            altered = _altered(sentence, library[restated.claim_id], restated.claim_id)
            if altered:
                return altered
    elif match.claim_id in content.claims:
        # Reworded is fine; other figures are another claim, which nothing substantiates.
        return _altered(sentence, library[match.claim_id], match.claim_id)
    else:
        return [
            _deny(
                "brand/uncited-claim",
                f"the copy makes claim {match.claim_id!r} ({match.similarity:.0%} of its words) "
                "without citing it; add it to the content's claims",
                span=sentence.text,
                value=match.claim_id,
            )
        ]
    phrase = sentence.claim_like
    if phrase is None:
        return []
    return [
        _deny(
            "brand/unsubstantiated-claim",
            f"{phrase!r} sounds like a claim, and no claim in the library backs it",
            span=sentence.text,
            value=phrase,
        )
    ]


def _altered(sentence: Reading, claim: Claim, claim_id: str) -> list[Finding]:
    """A deny when ``sentence`` states figures or quantities ``claim`` does not."""
    words = words_only(content_words(claim.text))
    stated = _figures(sentence.text) | quantities(sentence.text, words)
    proven = _figures(claim.text) | quantities(claim.text, words)
    if stated <= proven:
        return []
    changed = ", ".join(sorted(stated - proven))
    return [
        _deny(
            "brand/altered-claim",
            f"the copy restates claim {claim_id!r} with other figures ({changed}); "
            "only the substantiated figures may be used",
            span=sentence.text,
            value=claim_id,
        )
    ]


def _figures(text: str) -> set[str]:
    """The numbers in ``text``, written without thousands separators ("20,000" is "20000")."""
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def _deny(rule_id: str, message: str, span: str | None = None, value: str | None = None) -> Finding:
    return Finding(rule_id, message, FindingSeverity.DENY, span=span, value=value)
