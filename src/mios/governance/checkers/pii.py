"""PII in content: e-mail addresses, phone numbers, card numbers and the like in the subject,
headline or body deny the action. Found with Presidio's pattern recognizers only.

Presidio's default engine loads a spaCy model (and tries to download one), so the engine here
is an ``AnalyzerEngine`` over a ``NoOpNlpEngine`` with a registry holding only the pattern
recognizers of ``PII_ENTITIES``. The e-mail recognizer is replaced by one that checks the
domain's shape itself: Presidio's asks ``tldextract``, which fetches the public suffix list from
the internet, and an address at a private or reserved domain is still an address.

Speed: importing Presidio pulls in spaCy (over a second), so the engine is built once, on first
use. Scanning a whole 1,000-word body takes 15-20 ms, nearly all of it the phone matcher trying
eight regions at every group of digits. So Presidio only sees the runs of words that could hold
an entity (``_PROBES``); ordinary prose, prices and years never reach the phone matcher.

Findings never repeat the value found: verdicts go into the audit trail, which is append-only,
so the value is masked and the finding says where it is.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from mios.domain.action import Action
from mios.domain.governance import Finding, FindingSeverity
from mios.errors import DomainError
from mios.governance.review_context import Check, ReviewContext

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine

#: The entities a workspace may ask for: each is found by a pattern and needs no language model.
PII_ENTITIES: tuple[str, ...] = (
    "CREDIT_CARD",
    "EMAIL_ADDRESS",
    "IBAN_CODE",
    "IP_ADDRESS",
    "PHONE_NUMBER",
    "UK_NHS",
    "US_ITIN",
    "US_SSN",
)
#: Presidio scores its weakest patterns (any nine digits "might" be an SSN) at 0.05-0.1; without
#: a language model no context word can raise them, so they would flag order numbers.
MIN_SCORE = 0.3

#: From the first digit, @ or colon of a word to the end of the last of the neighbouring words
#: that hold one. Starting with the character class lets the regex engine skip plain prose
#: quickly; ``_runs`` steps back to the start of the first word.
_RUN_TAIL = re.compile(r"[\d@:]\S*(?:\s+\S*[\d@:]\S*)*")
_DIGIT = re.compile(r"\d")
_NOT_PHONE = re.compile(r"[^\W\d_]+|[,;!?]")  # what never sits inside a phone number
_SEPARATOR = "\n\n\n"
_EMAIL_DOMAIN = re.compile(r"@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}$")


def _may_be_phone(run: str, digits: int) -> bool:
    # The shortest number the phone recognizer's eight regions accept has six digits (German,
    # "030 123"), written without letters or commas between them: "15,000 g/m2" is no number.
    return digits >= 6 and any(len(_DIGIT.findall(piece)) >= 6 for piece in _NOT_PHONE.split(run))


def _may_be_other(run: str, digits: int) -> bool:
    # An e-mail address has an @, an IPv6 address colons; every other entity has four digits
    # or more (the shortest is an IPv4 address).
    return digits >= 4 or "@" in run or run.count(":") >= 2


#: Which runs of words each group of entities is looked for in.
_PROBES: tuple[tuple[frozenset[str], Callable[[str, int], bool]], ...] = (
    (frozenset({"PHONE_NUMBER"}), _may_be_phone),
    (frozenset(PII_ENTITIES) - {"PHONE_NUMBER"}, _may_be_other),
)


@dataclass(frozen=True)
class _Hit:
    entity: str
    field: str
    start: int
    end: int
    text: str


class PiiChecker:
    id: str = "pii"

    def check(self, action: Action, context: ReviewContext) -> Check:
        content = action.content
        if content is None:
            return Check()
        rules = context.workspace.guardrails.pii
        sender = context.workspace.brand.sender
        # The brand's own addresses belong in its messages.
        allowed = {_key(v) for v in (*rules.allowed_values, sender.email, sender.reply_to) if v}
        fields = {"subject": content.subject, "headline": content.headline, "body": content.body}
        by_entity: dict[str, list[_Hit]] = {}
        for name, text in fields.items():
            for hit in _found(name, text or "", rules.entities):
                if _key(hit.text) not in allowed:
                    by_entity.setdefault(hit.entity, []).append(hit)
        return Check(tuple(_finding(entity, found) for entity, found in sorted(by_entity.items())))


@lru_cache(maxsize=1024)
def _found(field: str, text: str, entities: tuple[str, ...]) -> tuple[_Hit, ...]:
    """``_find``, kept for the texts seen last (one copy, many audiences, checked again before
    it runs); hits are frozen, so sharing them is safe."""
    return tuple(_find(field, text, entities))


def _find(field: str, text: str, entities: tuple[str, ...]) -> Iterator[_Hit]:
    unknown = sorted(set(entities) - set(PII_ENTITIES))
    if unknown:
        raise DomainError(f"unknown PII entity {unknown[0]!r}; known: {', '.join(PII_ENTITIES)}")
    runs = [(start, end, len(_DIGIT.findall(text, start, end))) for start, end in _runs(text)]
    for covers, may_hold in _PROBES:
        wanted = [e for e in entities if e in covers]
        chosen = [(start, end) for start, end, digits in runs if may_hold(text[start:end], digits)]
        if wanted and chosen:
            yield from _scan(field, text, chosen, wanted)


def _runs(text: str) -> Iterator[tuple[int, int]]:
    for match in _RUN_TAIL.finditer(text):
        start = match.start()
        while start and not text[start - 1].isspace():
            start -= 1
        yield start, match.end()


def _scan(
    field: str, text: str, runs: list[tuple[int, int]], entities: list[str]
) -> Iterator[_Hit]:
    # One call over the runs joined (Presidio's fixed cost per call is larger than the scan),
    # with a separator no pattern crosses; offsets map back through the run starts.
    probe = _SEPARATOR.join(text[start:end] for start, end in runs)
    starts, at = [], 0
    for start, end in runs:
        starts.append(at)
        at += end - start + len(_SEPARATOR)
    found = _analyzer().analyze(probe, language="en", entities=entities, score_threshold=MIN_SCORE)
    for result in found:
        run = bisect_right(starts, result.start) - 1
        offset = runs[run][0] - starts[run]
        value = probe[result.start : result.end]
        yield _Hit(result.entity_type, field, result.start + offset, result.end + offset, value)


@cache
def _analyzer() -> AnalyzerEngine:
    # Here, not at the top: Presidio imports spaCy, and `mios --help` must not wait for it.
    from presidio_analyzer import (  # noqa: PLC0415
        AnalyzerEngine,
        EntityRecognizer,
        RecognizerRegistry,
        RecognizerResult,
    )
    from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer  # noqa: PLC0415
    from presidio_analyzer.nlp_engine import NlpArtifacts, NoOpNlpEngine  # noqa: PLC0415
    from presidio_analyzer.predefined_recognizers import (  # noqa: PLC0415
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        NhsRecognizer,
        PhoneRecognizer,
        UsItinRecognizer,
        UsSsnRecognizer,
    )

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return _EMAIL_DOMAIN.search(pattern_text) is not None

    class NoContext(ContextAwareEnhancer):
        """The NoOpNlpEngine yields no lemmas, so the default lemma enhancer could only copy
        every result (a deep copy, the largest cost left per call) and change nothing."""

        def enhance_using_context(
            self,
            text: str,
            raw_results: list[RecognizerResult],
            nlp_artifacts: NlpArtifacts,
            recognizers: list[EntityRecognizer],
            context: list[str] | None = None,
        ) -> list[RecognizerResult]:
            return raw_results

    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "no_op"}])
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (
        CreditCardRecognizer(),
        OfflineEmailRecognizer(),
        IbanRecognizer(),
        IpRecognizer(),
        NhsRecognizer(),
        PhoneRecognizer(),
        UsItinRecognizer(),
        UsSsnRecognizer(),
    ):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp,
        supported_languages=["en"],
        context_aware_enhancer=NoContext(0, 0, 0, 0),
    )


def _finding(entity: str, hits: list[_Hit]) -> Finding:
    first = hits[0]
    what = entity.lower().replace("_", " ")
    fields = ", ".join(sorted({h.field for h in hits}))
    return Finding(
        f"pii/{entity.lower().replace('_', '-')}",
        f"{len(hits)} {what} value(s) in the {fields}; personal data does not belong in copy",
        FindingSeverity.DENY,
        span=f"{first.field}[{first.start}:{first.end}]",
        value=_masked(first.text),
    )


def _masked(text: str) -> str:
    keep = 2 if len(text) > 6 else 0
    return text[:keep] + "*" * (len(text) - 2 * keep) + text[len(text) - keep :]


def _key(value: str) -> str:
    """Allowed values match however they are spaced or punctuated ("+1 (800) 555-0100")."""
    return re.sub(r"[\s().-]", "", value.casefold())
