"""Copy templates and the text of each format, for the content agent.

Every sentence here is plain and makes no claim of its own: no superlatives, no figures, no
"lasts for years". What the brand may claim comes only from its claims library, quoted word for
word and named in ``Content.claims``; what an offer requires (its disclaimer) is added in full;
commercial email carries the sender's name, postal address and ``{{unsubscribe_url}}``; SMS
ends with the opt-out text. ``Copy`` is what one variant says; ``render`` lays it out per
format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from mios.domain.brand import Brand, Claim
from mios.domain.offer import Offer

SMS_OPT_OUT = "Reply STOP to opt out"
UNSUBSCRIBE = "{{unsubscribe_url}}"
SMS_MAX_CHARS = 320  # two concatenated messages
PUSH_TITLE_MAX = 50
AD_HEADLINE_MAX = 40
SHORT_CLAIM_CHARS = 90  # the longest claim an SMS, push or ad carries

#: Per angle: subject lines (or headlines) and opening lines. ``{offer}``, ``{brand}`` and
#: ``{end}`` are filled in; a template naming ``{end}`` is used only for an offer with an end.
SUBJECTS: dict[str, tuple[str, ...]] = {
    "warmth": (
        "Ready for the cold?",
        "Stay warm when the weather turns",
        "Layer up for colder days",
    ),
    "durability": ("Made to keep going", "Something you can count on", "Keep what works"),
    "sustainability": (
        "What goes into what we make",
        "Made with more care",
        "A closer look at our materials",
    ),
    "value": (
        "Your offer: {offer}",
        "A good reason to come back",
        "Something for you, from {brand}",
    ),
    "urgency": ("Ends {end}: {offer}", "Last days for your offer", "Only until {end}"),
    "trust": (
        "Why people choose {brand}",
        "See why people stay with {brand}",
        "What people say about {brand}",
    ),
    "speed": ("Get time back", "Less time on busywork", "Finish the month sooner"),
}
OPENERS: dict[str, tuple[str, ...]] = {
    "warmth": (
        "The cold is on its way. Good layers make the day easier.",
        "When the weather turns, you want gear that keeps up.",
    ),
    "durability": (
        "Good things should keep working for a long time.",
        "You want something you can rely on, season after season.",
    ),
    "sustainability": (
        "You asked what goes into what we make. Here is the short answer.",
        "We care about what our products are made of, and so do you.",
    ),
    "value": (
        "Here is an offer we think you will like.",
        "We saved something for you.",
    ),
    "urgency": (
        "This offer ends on {end}, so now is the time.",
        "Only a few days are left to use this offer.",
    ),
    "trust": (
        "People choose {brand} for good reasons. Here is one.",
        "Here is why people stay with {brand}.",
    ),
    "speed": (
        "Spend less time on the work you do every month.",
        "Get the busy part of the month done sooner.",
    ),
}
CALLS: tuple[str, ...] = ("Take a look today.", "See the details on our site.", "Have a look.")


@dataclass(frozen=True)
class Copy:
    """What one variant says, before it is laid out for a format."""

    subject: str
    opener: str
    call: str
    offer_line: str
    claims: tuple[Claim, ...]
    disclaimer: str | None


def offer_line(offer: Offer, today: date) -> str:
    line = f"{offer.name}."
    if offer.valid_from is not None and offer.valid_from > today:
        line += f" It starts on {long_date(offer.valid_from)}."
    if offer.valid_until is not None:
        line += f" It ends on {long_date(offer.valid_until)}."
    return line


def long_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def fill(template: str, brand: Brand, offer: Offer) -> str:
    end = "" if offer.valid_until is None else f"{offer.valid_until:%B} {offer.valid_until.day}"
    return template.format(offer=offer.name, brand=brand.name, end=end)


def render_email(copy: Copy, brand: Brand) -> tuple[str, str]:
    """Subject and body: the message, its claims, the offer, the disclaimer, then who sends it,
    from where, and the unsubscribe link."""
    sender = brand.sender
    parts = ["Hello,", copy.opener, *(c.text for c in copy.claims), copy.offer_line, copy.call]
    if copy.disclaimer:
        parts.append(copy.disclaimer)
    parts.append(
        f"{sender.name}\n{sender.postal_address.one_line()}\n"
        f"You get this email from {sender.name}. Unsubscribe: {UNSUBSCRIBE}"
    )
    return copy.subject, "\n\n".join(parts)


def render_sms(copy: Copy, brand: Brand) -> str:
    claim = next((c.text for c in copy.claims if len(c.text) <= SHORT_CLAIM_CHARS), None)
    parts = [f"{brand.name}: {copy.offer_line}"]
    if claim is not None:
        parts.append(claim)
    if copy.disclaimer:
        parts.append(copy.disclaimer)
    parts.append(SMS_OPT_OUT)
    text = " ".join(parts)
    if len(text) > SMS_MAX_CHARS and claim is not None:
        parts.remove(claim)
        text = " ".join(parts)
    return text


def render_push(copy: Copy) -> tuple[str, str]:
    title = copy.subject if len(copy.subject) <= PUSH_TITLE_MAX else copy.offer_line
    parts = [copy.offer_line, *(c.text for c in copy.claims[:1])]
    if copy.disclaimer:
        parts.append(copy.disclaimer)
    return _shorten(title, PUSH_TITLE_MAX), " ".join(parts)


def render_ad(copy: Copy, offer: Offer) -> tuple[str, str]:
    headline = offer.name if len(offer.name) <= AD_HEADLINE_MAX else copy.subject
    claim = next((c.text for c in copy.claims if len(c.text) <= SHORT_CLAIM_CHARS), None)
    parts = [copy.opener, *([claim] if claim else []), copy.call]
    if copy.disclaimer:
        parts.append(copy.disclaimer)
    return _shorten(headline, AD_HEADLINE_MAX), " ".join(parts)


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:")


# -- reading level ------------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_SENTENCE_END = re.compile(r"[.!?]+")
_VOWELS = re.compile(r"[aeiouy]+")


def reading_grade(text: str) -> float:
    """The Flesch-Kincaid grade level of ``text`` (syllables counted by vowel groups)."""
    words = _WORD.findall(text)
    if not words:
        return 0.0
    sentences = max(1, len(_SENTENCE_END.findall(text)))
    syllables = sum(_syllables(w) for w in words)
    return 0.39 * len(words) / sentences + 11.8 * syllables / len(words) - 15.59


def _syllables(word: str) -> int:
    lowered = word.lower()
    groups = len(_VOWELS.findall(lowered))
    if lowered.endswith("e") and not lowered.endswith(("le", "ee")) and groups > 1:
        groups -= 1
    return max(1, groups)


def exclamations(*texts: str | None) -> int:
    return sum(t.count("!") for t in texts if t)
