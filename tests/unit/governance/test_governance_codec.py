"""The governance codec reads back exactly what it wrote: every field, type and decimal place."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mios.domain.action import Action, ActionState, Transition
from mios.domain.channel import ChannelName
from mios.domain.governance import Actor, Approval, ApprovalRequest, ApprovalStatus, Role
from mios.domain.money import Money
from mios.domain.proposal import ActionKind, Audience, Content
from mios.errors import DomainError
from mios.governance.codec import (
    action_from_json,
    action_to_json,
    dumps,
    loads,
    pause_from_json,
    pause_to_json,
    request_from_json,
    request_to_json,
)
from mios.governance.store import PauseState

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def same(a: object, b: object) -> bool:
    """Equal, of the same type all the way down, with the same decimal places, UTC offsets and
    key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Decimal):
        return a.as_tuple() == b.as_tuple()  # type: ignore[attr-defined]
    if isinstance(a, float):
        return repr(a) == repr(b)
    if isinstance(a, datetime):
        return a == b and a.utcoffset() == b.utcoffset()  # type: ignore[attr-defined]
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        assert isinstance(b, list | tuple)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    return a == b


def round_trip_action(action: Action) -> Action:
    return action_from_json(loads(dumps(action_to_json(action))))


def round_trip_request(request: ApprovalRequest) -> ApprovalRequest:
    return request_from_json(loads(dumps(request_to_json(request))))


# -- strategies ------------------------------------------------------------------------------------

ids = st.from_regex(r"[a-z0-9][a-z0-9_.:-]{0,15}", fullmatch=True)
texts = st.text(min_size=1, max_size=30).filter(str.strip)
optional_texts = st.none() | st.text(max_size=20)
moments = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
offsets = st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)).map(timezone)
decimals = st.decimals(allow_nan=False, allow_infinity=False)
amounts = st.decimals(min_value=0, max_value=10**9, allow_nan=False, allow_infinity=False)
money = st.builds(Money, amounts, st.sampled_from(["USD", "EUR", "JPY"]))
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10)
    | decimals
    | st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=offsets
    )
    | st.dates()
    | money
)
keys = st.sampled_from(["$decimal", "$map", "$tuple", "$money", "a", "headers"]) | st.text(
    max_size=8
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(keys, inner, max_size=4)
    ),
    max_leaves=12,
)
parameters = st.dictionaries(keys, values, max_size=5)
transitions = st.builds(
    Transition,
    st.sampled_from(ActionState),
    st.sampled_from(ActionState),
    moments,
    texts,
    optional_texts,
)


@st.composite
def audiences(draw: st.DrawFn) -> Audience:
    segment = draw(st.none() | ids)
    customers = tuple(draw(st.lists(ids, unique=True, max_size=4)))
    size = draw(st.none() | st.integers(min_value=0, max_value=10**7))
    if segment is None and not customers and size is None:
        size = 0
    return Audience(segment, customers, size)


@st.composite
def actions(draw: st.DrawFn) -> Action:
    kind = draw(st.sampled_from(ActionKind))
    channel = draw(st.sampled_from(ChannelName))
    audience = draw(st.none() | audiences())
    content = draw(
        st.none()
        | st.builds(
            Content,
            optional_texts,
            texts,
            optional_texts,
            st.lists(ids, max_size=3).map(tuple),
            st.none() | ids,
            st.none() | ids,
        )
    )
    spend = draw(st.none() | money)
    if kind is ActionKind.SEND_MESSAGE and (audience is None or not audience.is_addressed):
        audience = Audience("vip")
    needs_content = (ActionKind.SEND_MESSAGE, ActionKind.PUBLISH_CONTENT, ActionKind.CREATE_CONTENT)
    if kind in needs_content and content is None:
        content = Content(None, "body")
    if kind is ActionKind.SET_BUDGET and spend is None:
        spend = Money(Decimal("1.00"), "USD")
    return Action(
        id=draw(ids),
        proposal_id=draw(ids),
        kind=kind,
        snapshot_version=draw(st.integers(min_value=1, max_value=10**6)),
        channel=channel,
        audience=audience,
        content=content,
        spend=spend,
        parameters=draw(parameters),
        idempotency_key=draw(st.just("") | ids),
        state=draw(st.sampled_from(ActionState)),
        version=draw(st.integers(min_value=1, max_value=50)),
        history=draw(st.lists(transitions, max_size=4)),
    )


@st.composite
def requests(draw: st.DrawFn) -> ApprovalRequest:
    created = draw(moments)
    decision = draw(st.sampled_from(["approve", "reject", "request_changes"]))
    approval = st.builds(
        Approval,
        ids,
        st.builds(
            Actor,
            ids,
            st.sampled_from(["person", "agent", "system"]),
            st.frozensets(st.sampled_from(Role)),
        ),
        st.sampled_from(Role),
        st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
        moments,
        st.just(decision),
        texts if decision != "approve" else optional_texts,
    )
    return ApprovalRequest(
        id=draw(ids),
        action_id=draw(ids),
        content_hash=draw(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)),
        proposer_id=draw(ids),
        required_roles=draw(st.frozensets(st.sampled_from(Role), min_size=1)),
        quorum=draw(st.integers(min_value=1, max_value=5)),
        created_at=created,
        expires_at=created
        + draw(st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=365))),
        escalate_to=draw(st.lists(st.sampled_from(Role), max_size=3).map(tuple)),
        status=draw(st.sampled_from(ApprovalStatus)),
        approvals=draw(st.lists(approval, max_size=3)),
        escalation_window=draw(
            st.none()
            | st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=90))
        ),
    )


# -- round trips -----------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(actions())
def test_every_action_reads_back_exactly(action: Action) -> None:
    back = round_trip_action(action)
    assert same(back, action)
    assert back.content_hash() == action.content_hash()
    assert dumps(action_to_json(back)) == dumps(action_to_json(action))


@settings(max_examples=200, deadline=None)
@given(requests())
def test_every_approval_request_reads_back_exactly(request: ApprovalRequest) -> None:
    back = round_trip_request(request)
    assert same(back, request)
    assert dumps(request_to_json(back)) == dumps(request_to_json(request))


def rich(**parameters: Any) -> Action:
    return Action(
        id="a1",
        proposal_id="p1",
        kind=ActionKind.SET_BUDGET,
        snapshot_version=1,
        channel=ChannelName.DISPLAY,
        spend=Money(Decimal("42000.50"), "USD"),
        parameters=parameters,
    )


@pytest.mark.parametrize(
    "value",
    [
        Decimal("12.50"),
        Decimal("-0"),
        Decimal("1E+3"),
        Money(Decimal("0.10"), "EUR"),
        datetime(2026, 3, 1, 22, 1, tzinfo=timezone(timedelta(hours=-5))),
        date(2026, 3, 1),
        (1, "two", (Decimal("3.0"),)),
        [1, (2, 3), {"k": Decimal("4.00")}],
        {"$decimal": "not a decimal, just a key a person chose"},
        {"$map": {"$tuple": [1]}},
        {"$money": 1, "other": 2},
        -0.0,
        1e-300,
        "text with \u2028 and emoji \U0001f9e5",
    ],
)
def test_tricky_parameters_read_back_exactly(value: object) -> None:
    action = rich(value=value, nested={"deeper": [value]})
    back = round_trip_action(action)
    assert same(back.parameters, action.parameters)
    assert back.content_hash() == action.content_hash()


def test_a_worked_action_keeps_its_history_and_state() -> None:
    action = rich(multiplier=1.25)
    action.decide(T0)
    action.await_approval(T0 + timedelta(seconds=1))
    action.block(T0 + timedelta(seconds=2), "lee", "rejected: claims")
    edited = action.edited(
        at=T0 + timedelta(minutes=1), by="lee", spend=Money(Decimal("41000.00"), "USD")
    )
    back = round_trip_action(edited)
    assert same(back, edited)
    assert back.history[-1].reason == "edited to version 2"
    assert back.history[2].reason == "rejected: claims"
    assert back.idempotency_key == edited.idempotency_key


def test_a_request_after_escalation_keeps_its_roles_and_window() -> None:
    request = ApprovalRequest(
        "r1",
        "a1",
        "f" * 64,
        "agent:crm",
        frozenset({Role.LEGAL}),
        1,
        T0,
        T0 + timedelta(hours=1),
        escalate_to=(Role.ADMIN, Role.STRATEGIST),
    )
    request.expire(T0 + timedelta(hours=1, minutes=3))
    back = round_trip_request(request)
    assert same(back, request)
    assert back.status is ApprovalStatus.ESCALATED
    assert back.escalate_to == (Role.STRATEGIST,)
    assert back.escalation_window == timedelta(hours=1)


def test_the_pause_state_reads_back() -> None:
    state = PauseState("lee", T0 + timedelta(microseconds=7), "a claim went out wrong")
    assert pause_from_json(loads(dumps(pause_to_json(state)))) == state


@pytest.mark.parametrize(
    ("value", "where"),
    [({"a", "b"}, "parameters.tags"), ([object()], "parameters.tags[0]")],
)
def test_values_that_would_not_read_back_are_refused(value: object, where: str) -> None:
    action = rich()
    action.parameters["tags"] = value
    with pytest.raises(DomainError, match=rf"{re.escape(where)}: a \w+ cannot be stored"):
        action_to_json(action)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": 2}, "format 2"),
        ({"kind": "teleport"}, "cannot be read"),
        ({"history": [{"from": "proposed"}]}, "cannot be read"),
        ({"spend": {"amount": "lots", "currency": "USD"}}, "cannot be read|not a number"),
        ({"version": 0}, "version must be >= 1"),
    ],
)
def test_a_broken_document_is_one_domain_error(change: dict[str, Any], message: str) -> None:
    document = {**action_to_json(rich()), **change}
    with pytest.raises(DomainError, match=message):
        action_from_json(document)
    missing = action_to_json(rich())
    del missing["state"]
    with pytest.raises(DomainError, match="cannot be read: KeyError"):
        action_from_json(missing)
    with pytest.raises(DomainError, match="not a JSON object"):
        loads("[1, 2]")


def test_a_time_with_an_offset_of_a_fraction_of_a_second_keeps_it() -> None:
    """Python 3.11's fromisoformat drops such an offset; hypothesis found it."""
    from mios.governance.codec import _value, _value_from

    for offset in (timedelta(microseconds=1), timedelta(hours=-5, microseconds=7)):
        stamp = datetime(2000, 1, 1, 5, tzinfo=timezone(offset))
        back = _value_from(_value(stamp, "parameters.at"))
        assert same(stamp, back)
