"""Reading research documents for signals: which angle, segment, channel and offer a line of
text points at, and whether a line is written *to* the system rather than about the market.

Everything here matches words; nothing in a document is ever executed or obeyed. A line that
reads like an instruction (``ignore previous instructions``, ``approve everything``, ``set the
budget to ...``) is only reported, as a quoted excerpt, so people can see it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta

from mios.domain.channel import ChannelName
from mios.domain.offer import Offer
from mios.domain.segment import Segment
from mios.domain.workspace import Workspace

#: Message angles and the words that point at each (compared as stems: see ``words``).
_ANGLE_TEXT: dict[str, str] = {
    "warmth": "cold snow frost freezing winter warm warmth layer layering insulated insulation "
    "chill temperature storm rain waterproof thermal",
    "value": "price prices discount sale promo promotion deal cheap inflation saving savings "
    "afford affordable credit free cost costs",
    "durability": "repair repairs durable durability lifetime quality lasting wear returns "
    "reliable reliability uptime outage outages",
    "sustainability": "recycled recycling sustainable sustainability eco climate bluesign fair "
    "carbon green secondhand resale",
    "urgency": "deadline countdown friday cyber closing ending holiday holidays last-minute",
}
_ANGLE_ORDER = tuple(_ANGLE_TEXT)

_STOP = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is",
    "it", "its", "of", "on", "or", "our", "the", "their", "this", "to", "up", "was", "were",
    "will", "with", "you", "your", "we", "they", "than", "more", "most", "who", "which", "that",
    "not", "no", "all", "any",
))  # fmt: skip
_TOKEN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SUFFIXES = ("ing", "ers", "ies", "ed", "es", "er", "s", "e")

#: Text addressed to a machine reading the file, not to a marketer reading the market.
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.;\n]{0,40}\b(?:instruction|prompt|rule|polic"
    r"|guardrail|previous|above)"
    r"|\bapprove\s+(?:everything|all|every)\b"
    r"|\b(?:set|raise|increase|change|move)\s+(?:the\s+)?(?:\w+\s+)?budgets?\s+(?:to|by)\b"
    r"|\byou\s+(?:are|must|should|will)\s+now\b"
    r"|\b(?:system|developer)\s+prompt\b"
    r"|\b(?:act|respond|behave)\s+as\s+(?:if|an?|the)\b"
    r"|\b(?:disable|turn\s+off|bypass|skip)\s+(?:the\s+)?(?:governance|approval|check|policy|polic)",
    re.IGNORECASE,
)


def words(text: str) -> frozenset[str]:
    """The stems of the content words of ``text`` (lowercased, one common ending stripped;
    hyphenated words count whole and by their parts)."""
    found = set()
    for token in _TOKEN.findall(text.lower()):
        for part in {token, *token.split("-")}:
            if part not in _STOP and not part.isdigit():
                found.add(_stem(part))
    return frozenset(found)


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


ANGLE_WORDS: dict[str, frozenset[str]] = {a: words(t) for a, t in _ANGLE_TEXT.items()}


def is_instruction(text: str) -> bool:
    return _INSTRUCTION.search(text) is not None


def angle_for(text_words: frozenset[str]) -> str | None:
    """The angle with the most words in the text (ties: the order of ``ANGLE_WORDS``)."""
    scores = [(len(text_words & ANGLE_WORDS[a]), -i, a) for i, a in enumerate(_ANGLE_ORDER)]
    best, _, angle = max(scores)
    return angle if best else None


def segment_for(text_words: frozenset[str], segments: Iterable[Segment]) -> Segment | None:
    """The non-sensitive segment whose id, name and description share most words with the
    text (at least two, or its whole id)."""
    best: tuple[int, Segment] | None = None
    for segment in segments:
        if segment.sensitive:
            continue
        own = words(f"{segment.id.replace('_', ' ')} {segment.name} {segment.description}")
        id_words = words(segment.id.replace("_", " "))
        score = len(text_words & own)
        if id_words <= text_words:
            score += 2
        if score >= 2 and (best is None or score > best[0]):
            best = (score, segment)
    return None if best is None else best[1]


_CHANNEL_WORDS: dict[ChannelName, frozenset[str]] = {
    ChannelName.EMAIL: frozenset({"email", "e-mail", "newsletter", "inbox"}),
    ChannelName.SMS: frozenset({"sms", "text"}),
    ChannelName.PUSH: frozenset({"push", "app"}),
    ChannelName.PAID_SEARCH: frozenset({"search", "ppc", "sem", "google"}),
    ChannelName.PAID_SOCIAL: frozenset({"social", "instagram", "facebook", "tiktok", "linkedin"}),
    ChannelName.DISPLAY: frozenset({"display", "banner", "programmatic"}),
    ChannelName.CONTENT: frozenset({"blog", "seo", "article", "webinar"}),
}


def channel_for(
    text_words: frozenset[str], configured: Iterable[ChannelName]
) -> ChannelName | None:
    for channel in configured:
        if text_words & _CHANNEL_WORDS.get(channel, frozenset()):
            return channel
    return None


def current_offers(workspace: Workspace, day: date, ahead_days: int = 14) -> tuple[Offer, ...]:
    """Offers running on ``day`` or starting within ``ahead_days`` (copy takes time to make)."""
    ahead = day + timedelta(days=ahead_days)
    return tuple(
        o
        for o in workspace.offers
        if o.active_on(day) or (o.valid_from is not None and day < o.valid_from <= ahead)
    )


#: Offer types that are a price advantage, which a value angle leads with.
VALUE_TYPES = frozenset(
    {"discount", "free_shipping", "bundle", "trade_in", "migration_credit", "annual_prepay",
     "referral"}
)  # fmt: skip


def offer_for(
    text_words: frozenset[str],
    offers: Iterable[Offer],
    workspace: Workspace,
    segment: Segment | None,
    channel: ChannelName | None,
    angle: str | None,
) -> Offer | None:
    """The offer that fits: open to the segment and channel, sharing most words with the text
    (its name, type and segments count), or made for the segment; for urgency only one with an
    end date. ``None`` when nothing shares a word and the segment has no offer of its own."""
    best: tuple[int, int, Offer] | None = None
    for rank, offer in enumerate(offers):
        if (
            segment is not None
            and offer.eligible_segments
            and (segment.id not in offer.eligible_segments)
        ):
            continue
        if channel is not None and offer.channels and channel not in offer.channels:
            continue
        if angle == "urgency" and offer.valid_until is None:
            continue
        own = words(f"{offer.name} {offer.type.replace('_', ' ')}")
        for seg_id in offer.eligible_segments:
            seg = workspace.segment(seg_id)
            own |= words(f"{seg.name} {seg.description}")
        overlap = len(text_words & own)
        made_for = segment is not None and segment.id in offer.eligible_segments
        if not (overlap or made_for):
            continue
        score = 2 * overlap + made_for + (angle == "value" and offer.type in VALUE_TYPES)
        if best is None or (score, -rank) > (best[0], best[1]):
            best = (score, -rank, offer)
    return None if best is None else best[2]


_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def number_in(text: str) -> float | None:
    """The first number of ``text`` (``"+34%"`` is 34.0), or ``None``."""
    found = _NUMBER.search(text.replace(",", ""))
    return None if found is None else float(found.group(0))
