"""Finding claims in copy: which sentence restates a library claim, and which only sounds like one.

Similarity is *containment*: the share of a library claim's content words that a sentence
contains. Words are lowercased, stop words dropped, numbers written without thousands
separators ("20,000" is "20000", "percent" is "%"), and one common ending stripped ("jackets",
"rated", "waterproofing" become "jacket", "rat", "waterproof"). Containment, not a symmetric
score, because copy wraps claims in longer sentences ("Stay dry: StormShell jackets are rated
...") and a restated claim is still that claim; reordering, punctuation and small word changes
barely move it. It is a count over a dozen words per sentence: no pairwise string comparison.

A sentence *sounds like a claim* when it has a superlative ("fastest", "#1"), a share with a
quality ("100% waterproof", "62% of the fabrics"; "20% off" is an offer, not a claim), a
multiple ("3x warmer"), a measured quantity ("20,000 mm", "15,000 g/m2") or a duration of
performance ("lasts 10 years", "up to 12 hours"), or a rating ("4.8 out of 5").

Speed: a 1,000-word body is about 70 sentences, so the work per sentence is kept to a few C-level
calls: words are normalised once per distinct word (cached), and the claim-like patterns are
only tried where the whole copy holds a superlative or a digit at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, repeat
from typing import Any, NamedTuple

from mios.domain.brand import Claim

_PUNCTUATION = ".,;:!?()[]{}\"'\u201c\u201d\u2018*_"
_WORD = re.compile(r"\d+(?:[.,]\d+)*|%|[^\W\d_]+(?:'[^\W\d_]+)?")
_STOP_WORDS = frozenset((
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "because", "been", "but", "by", "can", "could", "did", "do", "does", "for", "from", "get",
    "got", "had", "has", "have", "he", "her", "here", "him", "his", "how", "i", "if", "in",
    "into", "is", "it", "its", "it's", "just", "me", "more", "my", "no", "not", "now", "of", "on",
    "one", "only", "or", "our", "ours", "out", "over", "she", "so", "some", "such", "than",
    "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to",
    "too", "up", "us", "very", "was", "we", "we'll", "we're", "were", "what", "when", "which",
    "who", "will", "with", "would", "you", "you'll", "you're", "your", "yours",
))  # fmt: skip
_SUFFIXES = ("ing", "ed", "es", "s", "e")
_MIN_STEM = 3

_SUPERLATIVES = frozenset((
    "best", "fastest", "strongest", "lightest", "warmest", "driest", "toughest", "cheapest",
    "lowest", "highest", "safest", "greenest", "smartest", "quickest", "longest", "largest",
    "biggest", "finest", "purest", "cleanest", "softest", "quietest", "easiest", "healthiest",
    "unbeatable", "world's", "#1",
))  # fmt: skip
_SIGN_OFFS = frozenset({"regards", "wishes"})  # "best regards" is a closing, not a claim
_OFFER_WORDS = r"off|on|discount|savings?|sale|today|sitewide|storewide|everything|when|with|at|for|until|through|if|your|all|and|or"  # noqa: E501
#: Claims with a number. Most alternatives share the leading number, so a position without a
#: digit fails at once.
_MEASURED = re.compile(
    r"\b\d[\d,.]*(?:"
    rf"\s?(?:%|percent\b)(?=\s+(?!(?:{_OFFER_WORDS})\b)[^\W\d_])"
    r"|\s?(?:x|times)\s+(?:more|less|faster|better|stronger|longer|warmer|lighter|drier|cheaper)\b"
    r"|\s?(?:mm|cm|km|kg|g/m2|grams|lbs?|oz|mph|km/h|degrees)\b|\s?°"
    r"|\s+out\s+of\s+(?:5|10)\b)"
    r"|\b(?:lasts?|lasting|up\s+to)\s+\d[\d,.]*\s+(?:years?|months?|hours?|days?|washes|miles)\b",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class ClaimMatch:
    claim_id: str
    similarity: float


@dataclass(frozen=True)
class ClaimIndex:
    """Content word -> ids of the library claims holding it, and each claim's word count."""

    claims_with: dict[str, tuple[str, ...]]
    size: dict[str, int]
    fewest: int  # the smallest size, at least 1


class Reading(NamedTuple):
    """One sentence as the claim checks see it (a tuple: a copy has dozens of sentences, and a
    frozen dataclass costs several times more to build)."""

    text: str
    content: frozenset[str]
    claim_like: str | None  # the phrase that makes it sound like a claim


@lru_cache(maxsize=1024)
def readings(text: str) -> tuple[Reading, ...]:
    """``read(text)``, kept for the texts seen last: one copy goes to many audiences in a cycle
    and is reviewed again before it runs, and reading it is most of a review's work."""
    return tuple(read(text))


def read(text: str) -> Iterator[Reading]:
    """Each sentence of ``text`` (lines count as sentence ends too: list items, headings)."""
    lowered = text.lower()
    # Substring tests in C say whether any sentence can hold a superlative or a number; a hit
    # inside a longer word ("bestseller") only means the sentence is read word by word.
    may_boast = any(word in lowered for word in _SUPERLATIVES) or "number one" in lowered
    may_measure = _DIGIT.search(text) is not None
    # str.replace and splitlines run in C; a regex split costs more than everything else here.
    for line in text.replace(". ", ".\n").replace("! ", "!\n").replace("? ", "?\n").splitlines():
        sentence = line.strip()
        if not sentence:
            continue
        tokens = sentence.lower().split()
        content = frozenset(chain.from_iterable(map(_content, tokens)))
        phrase = _superlative(list(map(_plain, tokens))) if may_boast else None
        if phrase is None and may_measure and _DIGIT.search(sentence):
            found = _MEASURED.search(sentence)
            phrase = None if found is None else found.group(0)
        yield Reading(sentence, content, phrase)


@lru_cache(maxsize=32)
def claim_index(library: tuple[Claim, ...], *, figures: bool = True) -> ClaimIndex:
    """Built once per claims library, which changes only with the workspace. Without
    ``figures``, claims are indexed by their words alone, to find a claim restated with other
    numbers or quantities ("all of the fabrics" for "62% of the fabrics")."""
    claims_with: dict[str, list[str]] = {}
    size: dict[str, int] = {}
    for claim in library:
        words = content_words(claim.text)
        if not figures:
            words = words_only(words)
        size[claim.id] = len(words)
        for word in words:
            claims_with.setdefault(word, []).append(claim.id)
    fewest = max(1, min(size.values(), default=1))
    return ClaimIndex({w: tuple(ids) for w, ids in claims_with.items()}, size, fewest)


def content_words(text: str) -> frozenset[str]:
    return frozenset(chain.from_iterable(map(_content, text.lower().split())))


def words_only(content: frozenset[str]) -> frozenset[str]:
    """``content`` without its numbers and percent signs."""
    return frozenset(w for w in content if not (w[0].isdigit() or w == "%"))


#: Words that state how much, like a figure does: "all of the fabrics" claims more than "62%".
QUANTIFIERS = frozenset({
    "all", "every", "each", "always", "never", "none", "entire", "entirely", "completely",
    "fully", "totally", "whole", "100%",
})  # fmt: skip
_QUANTIFIER_REACH = 3  # words after a quantifier that it may govern ("all of the fabrics")


def quantities(text: str, claim_words: frozenset[str]) -> set[str]:
    """The quantifiers in ``text`` that govern one of ``claim_words`` within a few words:
    "all of the fabrics" counts for a claim about fabrics, "all winter long" does not."""
    plain = [_plain(t) for t in text.lower().split()]
    found = set()
    for i, word in enumerate(plain):
        if word in QUANTIFIERS:
            governed = plain[i + 1 : i + 1 + _QUANTIFIER_REACH]
            if any(set(_content(w)) & claim_words for w in governed):
                found.add(word)
    return found


def best_claim(content: frozenset[str], index: ClaimIndex, threshold: float) -> ClaimMatch | None:
    """The library claim whose content words a sentence's ``content`` holds the largest share
    of, if that share is at least ``threshold``."""
    hits = list(chain.from_iterable(map(index.claims_with.get, content, repeat(()))))
    if len(hits) < threshold * index.fewest:
        return None  # too few shared words for any claim; most sentences stop here
    return _best(hits, index, threshold)


def best_claims(
    content: frozenset[str], index: ClaimIndex, words: ClaimIndex, threshold: float
) -> tuple[ClaimMatch | None, ClaimMatch | None]:
    """``best_claim`` by every content word, and, when that finds none, by words alone
    (``words`` is the index built without figures). One pass for the many sentences that
    share too few words with any claim: the words' hits are a subset of all hits."""
    hits = list(chain.from_iterable(map(index.claims_with.get, content, repeat(()))))
    if len(hits) < threshold * min(index.fewest, words.fewest):
        return None, None
    found = _best(hits, index, threshold) if len(hits) >= threshold * index.fewest else None
    if found is not None:
        return found, None
    # Figures are not keys of ``words``, so the sentence's figures simply find nothing there.
    word_hits = list(chain.from_iterable(map(words.claims_with.get, content, repeat(()))))
    if len(word_hits) < threshold * words.fewest:
        return None, None
    return None, _best(word_hits, words, threshold)


def _best(hits: list[str], index: ClaimIndex, threshold: float) -> ClaimMatch | None:
    share, claim_id = max((hits.count(c) / index.size[c], c) for c in set(hits))
    return ClaimMatch(claim_id, share) if share >= threshold else None


def _superlative(plain: list[str]) -> str | None:
    for word, after in zip(plain, [*plain[1:], ""], strict=True):
        if word in _SUPERLATIVES and not (word == "best" and after in _SIGN_OFFS):
            return word
        if word == "number" and after == "one":
            return "number one"
    return None


# Copy repeats its words, so each distinct word is normalised once and then looked up. A dict
# whose ``__missing__`` computes the entry is looked up from C by ``map(cache.__getitem__, ...)``,
# several times cheaper per word than an ``lru_cache`` wrapper; it is emptied when it grows big.

_CACHE_LIMIT = 50_000


class _WordCache(dict[str, Any]):
    def __init__(self, compute: Callable[[str], Any]) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, word: str) -> Any:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        value = self[word] = self.compute(word)
        return value


def _plain_of(word: str) -> str:
    return word.replace("\u2019", "'").strip(_PUNCTUATION)


def _content_of(word: str) -> tuple[str, ...]:
    """The content words in one lowercased word ("20,000mm" holds two, "our" none)."""
    found = []
    for part in _WORD.findall(_plain(word)):
        if part[0].isdigit():
            found.append(part.replace(",", ""))
        elif part == "percent":
            found.append("%")
        elif part not in _STOP_WORDS:
            found.append(_stem(part.removesuffix("'s")))
    return tuple(found)


_plain: Callable[[str], str] = _WordCache(_plain_of).__getitem__
_content: Callable[[str], tuple[str, ...]] = _WordCache(_content_of).__getitem__


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            return word[: -len(suffix)]
    return word
