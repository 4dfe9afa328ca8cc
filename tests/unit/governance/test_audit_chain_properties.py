"""Properties of the hash chain: a log built by appends always verifies, and any one mutation of
its records is found at the place it was made and named for what it is."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mios.domain.audit import AuditRecord, audit_hash
from mios.domain.canonical import canonical_json
from mios.errors import DomainError
from mios.governance.audit import (
    SECRET_KEY_WORDS,
    AuditEntry,
    InMemoryAuditLog,
    SealedRecord,
    export_jsonl,
    read_jsonl,
    refuse_secrets,
    verify_log,
    verify_records,
)


def _plain_key(key: str) -> bool:
    squeezed = "".join(ch for ch in key.lower() if ch.isalnum())
    return not any(word in squeezed for word in SECRET_KEY_WORDS)


keys = st.text(min_size=1, max_size=8).filter(_plain_key)
leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.decimals(allow_nan=False, allow_infinity=False, places=2)
)
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
datas = st.dictionaries(keys, values, max_size=4)
names = st.text(min_size=1, max_size=16).filter(str.strip)
optional_names = st.none() | names
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
entries = st.builds(
    AuditEntry,
    at=times,
    actor_id=names,
    event=names,
    subject=names,
    data=datas,
    actor_role=optional_names,
    reason=optional_names,
)
hashes = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


def build(items: list[AuditEntry]) -> InMemoryAuditLog:
    log = InMemoryAuditLog()
    for item in items:
        log.append(item)
    return log


@given(st.lists(entries, max_size=12))
def test_any_sequence_of_appends_verifies(items: list[AuditEntry]) -> None:
    log = build(items)
    result = verify_log(log, head=log.head())
    assert result.ok
    assert result.checked == len(items)


@given(entries, st.integers(min_value=1, max_value=10**6), hashes)
def test_the_sealed_text_form_hashes_exactly_as_the_domain_does(
    item: AuditEntry, seq: int, prev: str
) -> None:
    record = AuditRecord.create(
        seq=seq,
        prev_hash=prev,
        at=item.at,
        actor_id=item.actor_id,
        event=item.event,
        subject=item.subject,
        data=item.data,
        actor_role=item.actor_role,
        reason=item.reason,
    )
    sealed = SealedRecord.of(record)
    assert sealed.sealed_hash() == record.hash == audit_hash(record.prev_hash, record.body())
    assert sealed.line() == canonical_json({**record.body(), "hash": record.hash})
    assert SealedRecord.of(sealed.record()) == sealed


# -- one mutation, found where it was made ------------------------------------------------------

FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_role",
    "event",
    "subject",
    "data",
    "reason",
    "prev_hash",
    "hash",
)
_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "seq": st.integers(min_value=1, max_value=40),
    "at": times,
    "actor_id": names,
    "actor_role": optional_names,
    "event": names,
    "subject": names,
    "data": datas,
    "reason": optional_names,
    "prev_hash": hashes,
    "hash": hashes,
}
logs = st.lists(entries, min_size=1, max_size=10).map(build)


def _differs(old: object, new: object) -> bool:
    return canonical_json(old) != canonical_json(new)


@given(logs, st.data())
def test_a_changed_field_is_named_at_its_record(log: InMemoryAuditLog, data: st.DataObject) -> None:
    records = list(log.records())
    index = data.draw(st.integers(min_value=0, max_value=len(records) - 1), label="index")
    name = data.draw(st.sampled_from(FIELDS), label="field")
    old = getattr(records[index], name)
    new = data.draw(_STRATEGIES[name].filter(lambda v: _differs(v, old)), label="value")
    records[index] = replace(records[index], **{name: new})
    result = verify_records(records, head=log.head())
    seq = index + 1
    assert (result.first_bad_seq, result.reason) == (seq, f"record {seq} was changed")


@given(logs, st.data())
def test_a_dropped_record_is_named(log: InMemoryAuditLog, data: st.DataObject) -> None:
    records = list(log.records())
    index = data.draw(st.integers(min_value=0, max_value=len(records) - 1), label="index")
    del records[index]
    result = verify_records(records, head=log.head())
    seq = index + 1
    reason = (
        "the log ends before the last known head"
        if seq == log.head()[0]
        else f"record {seq} is missing"
    )
    assert (result.first_bad_seq, result.reason) == (seq, reason)


@given(logs, st.data())
def test_a_duplicated_record_is_named(log: InMemoryAuditLog, data: st.DataObject) -> None:
    records = list(log.records())
    index = data.draw(st.integers(min_value=0, max_value=len(records) - 1), label="index")
    records.insert(index + 1, records[index])
    result = verify_records(records, head=log.head())
    seq = index + 2
    assert (result.first_bad_seq, result.reason) == (seq, f"a record was inserted before {seq}")


@given(st.lists(entries, min_size=2, max_size=10).map(build), st.data())
def test_two_swapped_neighbours_are_named(log: InMemoryAuditLog, data: st.DataObject) -> None:
    records = list(log.records())
    index = data.draw(st.integers(min_value=0, max_value=len(records) - 2), label="index")
    records[index], records[index + 1] = records[index + 1], records[index]
    result = verify_records(records, head=log.head())
    seq = index + 1
    assert (result.first_bad_seq, result.reason) == (seq, f"records out of order at {seq}")


# -- export --------------------------------------------------------------------------------------


@given(logs)
def test_an_export_reads_back_as_the_same_records(log: InMemoryAuditLog) -> None:
    out = io.StringIO()
    assert export_jsonl(log, out) == log.head()[0]
    # Split on "\n" only, as iterating a file does: the text may hold U+2028 and the like.
    lines = out.getvalue().split("\n")
    assert list(read_jsonl(lines)) == list(log.records())
    assert verify_records(read_jsonl(lines), head=log.head()).ok


def _one_line() -> str:
    out = io.StringIO()
    log = InMemoryAuditLog()
    at = datetime(2026, 11, 2, tzinfo=UTC)
    log.append(AuditEntry(at=at, actor_id="user:ana", event="e", subject="s"))
    export_jsonl(log, out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "exactly the fields"),
        ('{"seq": 1}', "exactly the fields"),
    ],
)
def test_a_line_that_is_no_record_is_refused_with_its_number(line: str, message: str) -> None:
    with pytest.raises(DomainError, match=message) as caught:
        list(read_jsonl([_one_line(), "", line]))
    assert caught.value.problems[0].location.line == 3


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seq", True),
        ("data", []),
        ("actor_id", 3),
        ("reason", 1),
        ("at", "yesterday"),
        ("actor_id", " "),
    ],
)
def test_a_line_with_a_field_it_cannot_hold_is_refused(field: str, value: object) -> None:
    found = json.loads(_one_line())
    found[field] = value
    with pytest.raises(DomainError) as caught:
        list(read_jsonl([json.dumps(found)]))
    assert caught.value.problems[0].location.line == 1


# -- secrets -------------------------------------------------------------------------------------


@given(
    st.sampled_from(["token", "secret", "password", "api_key", "authorization"]),
    st.sampled_from([str.lower, str.upper, str.title]),
    st.text(alphabet="abc_-", max_size=4),
    st.integers(min_value=0, max_value=3),
)
def test_a_secret_looking_key_is_refused_at_any_depth(
    word: str, case: Any, affix: str, depth: int
) -> None:
    key = affix + case(word) + affix
    data: dict[str, Any] = {key: "hunter2"}
    path = key
    for level in range(depth):
        data = {f"level{level}": [data]}
        path = f"level{level}[0].{path}"
    with pytest.raises(DomainError, match=re.escape(repr(path))):
        refuse_secrets(data)
