"""The audit trail port: an append-only, hash-chained log of every state change and decision.

``AuditLog.append`` takes an ``AuditEntry`` and returns the sealed ``AuditRecord`` (next ``seq``,
the previous record's hash, its own hash over canonical JSON). Implementations: the in-memory log
here and ``mios.persistence.audit_log.SqlAuditLog``; both pass ``tests/contracts``.

``verify_log`` walks a log once, in order, holding one record at a time, and names the first
place where the chain breaks. ``export_jsonl`` writes a log as canonical JSON lines and
``read_jsonl`` reads them back, so an exported file can be verified away from the database.

Secrets never enter the trail. The log is append-only by design, so a token written into it
could never be taken out again, and every export and every viewer would carry it. ``append``
therefore refuses data with a key that looks like a secret (``refuse_secrets``).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any, NamedTuple, Protocol, TextIO, runtime_checkable

from mios.domain.audit import GENESIS, AuditRecord
from mios.domain.canonical import canonical_json
from mios.errors import DomainError


@dataclass(frozen=True)
class AuditEntry:
    """What happened, before the log numbers and seals it."""

    at: datetime
    actor_id: str
    event: str
    subject: str
    data: Mapping[str, Any] = field(default_factory=dict)
    actor_role: str | None = None
    reason: str | None = None


class AuditLog(Protocol):
    def append(self, entry: AuditEntry) -> AuditRecord: ...

    def records(self, start_seq: int = 1) -> Iterator[AuditRecord]: ...

    def head(self) -> tuple[int, str]:
        """The last record's seq and hash; ``(0, GENESIS)`` when the log is empty."""
        ...


# -- secrets ---------------------------------------------------------------------------------------

#: A data key is refused when, lowercased and stripped of everything but letters and digits, it
#: contains one of these (so ``API-Key``, ``apiKey`` and ``x_api_key`` all count).
SECRET_KEY_WORDS = ("token", "secret", "password", "apikey", "authorization")


def refuse_secrets(data: Mapping[str, Any]) -> None:
    """``DomainError`` naming the first key, at any depth, that looks like it holds a secret.

    Keys are judged, not values: a value cannot be told apart from ordinary text, while the
    key a caller chose says what it holds. The rule fails closed, so ``token_count`` is refused
    too; record such a fact under another name.
    """
    found = _secret_key(data, "")
    if found is not None:
        raise DomainError(
            f"audit data must not hold secrets: the key {found!r} looks like one "
            f"(keys containing {', '.join(SECRET_KEY_WORDS)} are refused)"
        )


def _secret_key(value: object, path: str) -> str | None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Canonical JSON writes a dataclass as an object of its fields, so their names count.
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key)
            where = f"{path}.{name}" if path else name
            squeezed = "".join(ch for ch in name.lower() if ch.isalnum())
            if any(word in squeezed for word in SECRET_KEY_WORDS):
                return where
            found = _secret_key(item, where)
            if found is not None:
                return found
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            found = _secret_key(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


# -- the sealed text form --------------------------------------------------------------------------

_encode_text = json.JSONEncoder(ensure_ascii=False).encode

# canonical_json of a record body (keys sorted), with each field's canonical text put in place.
_BODY = (
    '{"actor_id":%s,"actor_role":%s,"at":%s,"data":%s,"event":%s,'
    '"prev_hash":%s,"reason":%s,"seq":%d,"subject":%s}'
)
_LINE = (
    '{"actor_id":%s,"actor_role":%s,"at":%s,"data":%s,"event":%s,"hash":%s,'
    '"prev_hash":%s,"reason":%s,"seq":%d,"subject":%s}'
)


def _text(value: str | None) -> str:
    return "null" if value is None else _encode_text(value)


class SealedRecord(NamedTuple):
    """An audit record in the text its hash covers: ``at`` as canonical UTC ISO 8601 and
    ``data`` as canonical JSON.

    Storage keeps records in this form, and checking a hash from it needs no parsing and no
    re-encoding, which is what lets ``verify_log`` check a million records in seconds. ``data``
    is hashed as the exact text held: a record verifies only if those are the bytes sealed.
    """

    seq: int
    at: str
    actor_id: str
    actor_role: str | None
    event: str
    subject: str
    data: str
    reason: str | None
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, record: AuditRecord) -> SealedRecord:
        return cls(
            record.seq,
            record.at.astimezone(UTC).isoformat(),
            record.actor_id,
            record.actor_role,
            record.event,
            record.subject,
            canonical_json(record.data),
            record.reason,
            record.prev_hash,
            record.hash,
        )

    def record(self) -> AuditRecord:
        """The domain record; ``ValueError`` (or ``DomainError``) if a field cannot be read."""
        data = json.loads(self.data)
        if not isinstance(data, dict):
            raise DomainError(f"audit record {self.seq}: data is not a JSON object")
        return AuditRecord(
            self.seq,
            datetime.fromisoformat(self.at),
            self.actor_id,
            self.actor_role,
            self.event,
            self.subject,
            data,
            self.reason,
            self.prev_hash,
            self.hash,
        )

    def sealed_hash(self, seq: int | None = None) -> str:
        """``audit_hash`` of this record's body, or of the same body placed at ``seq``."""
        body = _BODY % (
            _encode_text(self.actor_id),
            _text(self.actor_role),
            _encode_text(self.at),
            self.data,
            _encode_text(self.event),
            _encode_text(self.prev_hash),
            _text(self.reason),
            self.seq if seq is None else seq,
            _encode_text(self.subject),
        )
        return sha256((self.prev_hash + body).encode()).hexdigest()

    def line(self) -> str:
        """The canonical JSON of every field, ``hash`` included: one line of an export."""
        return _LINE % (
            _encode_text(self.actor_id),
            _text(self.actor_role),
            _encode_text(self.at),
            self.data,
            _encode_text(self.event),
            _encode_text(self.hash),
            _encode_text(self.prev_hash),
            _text(self.reason),
            self.seq,
            _encode_text(self.subject),
        )


@runtime_checkable
class SealedAuditLog(AuditLog, Protocol):
    """A log that can hand out its records in sealed text form, as it stores them."""

    def sealed(self, start_seq: int = 1) -> Iterator[SealedRecord]: ...


def _sealed(log: AuditLog) -> Iterator[SealedRecord]:
    if isinstance(log, SealedAuditLog):
        return log.sealed()
    return map(SealedRecord.of, log.records())


def seal(entry: AuditEntry, seq: int, prev_hash: str) -> AuditRecord:
    """The record ``entry`` becomes at ``seq`` after ``prev_hash``. Its data is kept as it will
    read back from any log (its JSON form: ``Decimal("12.50")`` becomes ``"12.5"``), so what
    ``append`` returns equals what ``records`` yields; the hash is the same either way."""
    return AuditRecord.create(
        seq=seq,
        prev_hash=prev_hash,
        at=entry.at,
        actor_id=entry.actor_id,
        event=entry.event,
        subject=entry.subject,
        data=json.loads(canonical_json(entry.data)),
        actor_role=entry.actor_role,
        reason=entry.reason,
    )


def check_start(start_seq: int) -> None:
    if start_seq < 1:
        raise DomainError(f"audit records start at seq 1, not {start_seq}")


# -- the in-memory log -----------------------------------------------------------------------------


class InMemoryAuditLog:
    """The audit log in a list: the fake beside ``SqlAuditLog``, for tests and one-shot runs."""

    def __init__(self) -> None:
        self._records: list[AuditRecord] = []
        self._lock = threading.Lock()

    def append(self, entry: AuditEntry) -> AuditRecord:
        refuse_secrets(entry.data)
        with self._lock:
            seq, prev = self.head()
            record = seal(entry, seq + 1, prev)
            self._records.append(record)
        return record

    def records(self, start_seq: int = 1) -> Iterator[AuditRecord]:
        check_start(start_seq)
        return self._from(start_seq - 1)

    def _from(self, index: int) -> Iterator[AuditRecord]:
        while index < len(self._records):
            yield self._records[index]
            index += 1

    def head(self) -> tuple[int, str]:
        if not self._records:
            return 0, GENESIS
        last = self._records[-1]
        return last.seq, last.hash


# -- verification ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditVerification:
    """The answer of ``verify_log``: how many records are sound and, if any is not, which.

    Seqs in ``reason`` are places in the log as read, and ``first_bad_seq`` is the first place
    whose record is not the one a sound chain has there.
    """

    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad_seq is None

    def __str__(self) -> str:
        if self.ok:
            return f"the audit log is intact: {self.checked:,} records verified"
        return f"the audit log is broken at record {self.first_bad_seq}: {self.reason}"


def verify_log(log: AuditLog, head: tuple[int, str] | None = None) -> AuditVerification:
    """Check every record of ``log`` in one pass; memory stays constant however long it is.

    ``head`` is a ``(seq, hash)`` kept outside the log (from an earlier ``log.head()``). Without
    it, dropping the newest records leaves a shorter chain that is still sound; with it, the
    log must reach that seq with that hash.
    """
    return _verify(_sealed(log), head)


def verify_records(
    records: Iterable[AuditRecord], head: tuple[int, str] | None = None
) -> AuditVerification:
    """``verify_log`` over records from elsewhere, such as ``read_jsonl`` of an export."""
    return _verify(map(SealedRecord.of, records), head)


def _verify(rows: Iterable[SealedRecord], head: tuple[int, str] | None) -> AuditVerification:
    head_seq, head_hash = head if head is not None else (0, GENESIS)
    stream = iter(rows)
    prev, expected = GENESIS, 1
    for row in stream:
        if row.seq != expected or row.prev_hash != prev or row.hash != row.sealed_hash():
            return _diagnose(row, expected, stream)
        if expected == head_seq and row.hash != head_hash:
            return _broken(
                expected,
                f"record {expected} does not match the last known head; the log "
                "was rewritten up to it",
            )
        prev, expected = row.hash, expected + 1
    if expected <= head_seq:
        return _broken(expected, "the log ends before the last known head")
    return AuditVerification(checked=expected - 1)


def _broken(seq: int, reason: str) -> AuditVerification:
    return AuditVerification(checked=seq - 1, first_bad_seq=seq, reason=reason)


def _sealed_for(row: SealedRecord, position: int) -> int | None:
    """The seq ``row`` was sealed at, tried among its own and the places around ``position``.

    In a database the seq is the row's key, so a record moved to another row carries the new
    seq and only re-sealing it at its old one shows where it came from.
    """
    for seq in dict.fromkeys((row.seq, position, position + 1, position - 1)):
        if seq >= 1 and row.hash == row.sealed_hash(seq):
            return seq
    return None


def _diagnose(row: SealedRecord, expected: int, rest: Iterator[SealedRecord]) -> AuditVerification:
    """Name what broke the chain at ``expected``, looking at most one record further."""
    sealed_at = _sealed_for(row, expected)
    if sealed_at is None:
        after = next(rest, None)
        if after is not None and _sealed_for(after, expected + 1) == expected:
            return _broken(expected, f"a record was inserted at {expected}")
        return _broken(expected, f"record {expected} was changed")
    if sealed_at == expected:
        if row.seq != expected or expected == 1:
            return _broken(expected, f"record {expected} was changed")
        # This record is intact but does not link to the one before it, which passed its own
        # check: that one was rewritten and sealed afresh.
        return _broken(expected - 1, f"record {expected - 1} was changed")
    if sealed_at == expected + 1:
        after = next(rest, None)
        if after is not None and _sealed_for(after, expected + 1) == expected:
            return _broken(expected, f"records out of order at {expected}")
        return _broken(expected, f"record {expected} is missing")
    if sealed_at > expected:
        return _broken(expected, f"record {expected} is missing")
    if sealed_at == expected - 1:
        return _broken(expected, f"a record was inserted before {expected}")
    return _broken(expected, f"records out of order at {expected}")


# -- export ----------------------------------------------------------------------------------------

_FIELDS = frozenset(f.name for f in dataclasses.fields(AuditRecord))


def export_jsonl(log: AuditLog, out: TextIO) -> int:
    """Write every record, in seq order, as one canonical JSON object per line (hashes
    included); returns how many. Records are written as stored, so tampering stays visible.

    Lines end with ``"\n"``. Text is written as it is (``ensure_ascii=False``), so it may hold
    U+2028 or U+0085: read the file line by line, or split on ``"\n"``, not ``str.splitlines``.
    """
    count = 0
    for row in _sealed(log):
        out.write(row.line())
        out.write("\n")
        count += 1
    return count


def read_jsonl(lines: Iterable[str]) -> Iterator[AuditRecord]:
    """The records of an ``export_jsonl`` file, for ``verify_records``. A line that is not a
    record raises ``DomainError`` with its line number; blank lines are skipped."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield _record_from_line(line, number)


def _record_from_line(line: str, number: int) -> AuditRecord:
    try:
        found = json.loads(line)
    except ValueError as exc:
        raise DomainError.at(f"not JSON ({exc})", line=number) from exc
    if not isinstance(found, dict) or found.keys() != _FIELDS:
        raise DomainError.at(
            f"expected an object with exactly the fields {', '.join(sorted(_FIELDS))}",
            line=number,
        )
    problem = _type_problem(found)
    if problem is not None:
        raise DomainError.at(problem, line=number)
    try:
        return AuditRecord(
            seq=found["seq"],
            at=datetime.fromisoformat(found["at"]),
            actor_id=found["actor_id"],
            actor_role=found["actor_role"],
            event=found["event"],
            subject=found["subject"],
            data=found["data"],
            reason=found["reason"],
            prev_hash=found["prev_hash"],
            hash=found["hash"],
        )
    except (ValueError, DomainError) as exc:  # an unreadable time, an empty actor ...
        raise DomainError.at(str(exc), line=number) from exc


def _type_problem(found: dict[str, Any]) -> str | None:
    if not isinstance(found["seq"], int) or isinstance(found["seq"], bool):
        return "seq must be a whole number"
    if not isinstance(found["data"], dict):
        return "data must be an object"
    for name in ("at", "actor_id", "event", "subject", "prev_hash", "hash"):
        if not isinstance(found[name], str):
            return f"{name} must be a string"
    for name in ("actor_role", "reason"):
        if found[name] is not None and not isinstance(found[name], str):
            return f"{name} must be a string or null"
    return None
