"""JSON forms of what governance keeps: actions, approval requests and the kill switch's state.

Any store can hold them as text and read back exactly what it saved: every field, the history
of transitions, the approvals, enums by value, datetimes as UTC ISO 8601, money as its decimal
text (``"12.50"`` stays ``"12.50"``), durations in whole microseconds. Exactness matters because
an approval is bound to ``Action.content_hash()``: an action that read back even slightly
different (``12.5`` for ``12.50`` in its parameters, a list for a tuple) could hash differently,
or worse, the same while being another value.

Parameters are free-form, so values JSON cannot tell apart are tagged: ``{"$decimal": "1.50"}``,
``{"$datetime": ...}``, ``{"$date": ...}``, ``{"$money": [amount, currency]}``,
``{"$tuple": [...]}``, and a mapping whose only key happens to be a tag is wrapped as
``{"$map": {...}}``. Anything else (a set, an arbitrary object) is refused when saving rather
than read back as something else.

Every document carries ``"format": 1``; a reader refuses formats it does not know.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

from mios.domain.action import Action, ActionState, Transition
from mios.domain.channel import ChannelName
from mios.domain.governance import Actor, Approval, ApprovalRequest, ApprovalStatus, Role
from mios.domain.money import Money
from mios.domain.proposal import ActionKind, Audience, Content
from mios.errors import DomainError
from mios.governance.store import PauseState

FORMAT = 1
_TAGS = frozenset({"$decimal", "$datetime", "$date", "$money", "$tuple", "$map"})
_MICROSECOND = timedelta(microseconds=1)

T = TypeVar("T")


def dumps(document: Mapping[str, Any]) -> str:
    """Compact JSON text. Keys keep their order, so parameters read back in the order given."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def loads(text: str) -> dict[str, Any]:
    found = json.loads(text)
    if not isinstance(found, dict):
        raise DomainError("a stored governance document is not a JSON object")
    return found


# -- actions ---------------------------------------------------------------------------------------


def action_to_json(action: Action) -> dict[str, Any]:
    audience, content, spend = action.audience, action.content, action.spend
    return {
        "format": FORMAT,
        "id": action.id,
        "proposal_id": action.proposal_id,
        "kind": action.kind.value,
        "snapshot_version": action.snapshot_version,
        "channel": None if action.channel is None else action.channel.value,
        "audience": None
        if audience is None
        else {
            "segment_id": audience.segment_id,
            "customer_ids": list(audience.customer_ids),
            "estimated_size": audience.estimated_size,
        },
        "content": None
        if content is None
        else {
            "subject": content.subject,
            "body": content.body,
            "headline": content.headline,
            "claims": list(content.claims),
            "angle": content.angle,
            "offer_id": content.offer_id,
        },
        "spend": None if spend is None else _money(spend),
        "parameters": _value(action.parameters, f"action {action.id}: parameters"),
        "idempotency_key": action.idempotency_key,
        "state": action.state.value,
        "version": action.version,
        "history": [
            {
                "from": t.from_state.value,
                "to": t.to_state.value,
                "at": _time(t.at),
                "actor": t.actor,
                "reason": t.reason,
            }
            for t in action.history
        ],
    }


def action_from_json(data: Mapping[str, Any]) -> Action:
    return _reading("action", data, _action)


def _action(data: Mapping[str, Any]) -> Action:
    audience, content, spend = data["audience"], data["content"], data["spend"]
    return Action(
        id=data["id"],
        proposal_id=data["proposal_id"],
        kind=ActionKind(data["kind"]),
        snapshot_version=data["snapshot_version"],
        channel=None if data["channel"] is None else ChannelName(data["channel"]),
        audience=None
        if audience is None
        else Audience(
            audience["segment_id"], tuple(audience["customer_ids"]), audience["estimated_size"]
        ),
        content=None
        if content is None
        else Content(
            content["subject"],
            content["body"],
            content["headline"],
            tuple(content["claims"]),
            content["angle"],
            content["offer_id"],
        ),
        spend=None if spend is None else _money_from(spend),
        parameters=_value_from(data["parameters"]),
        idempotency_key=data["idempotency_key"],
        state=ActionState(data["state"]),
        version=data["version"],
        history=[
            Transition(
                ActionState(t["from"]),
                ActionState(t["to"]),
                _time_from(t["at"]),
                t["actor"],
                t["reason"],
            )
            for t in data["history"]
        ],
    )


# -- approval requests -----------------------------------------------------------------------------


def request_to_json(request: ApprovalRequest) -> dict[str, Any]:
    window = request.escalation_window
    assert window is not None  # ApprovalRequest sets it when it is made
    return {
        "format": FORMAT,
        "id": request.id,
        "action_id": request.action_id,
        "content_hash": request.content_hash,
        "proposer_id": request.proposer_id,
        "required_roles": sorted(r.value for r in request.required_roles),
        "quorum": request.quorum,
        "created_at": _time(request.created_at),
        "expires_at": _time(request.expires_at),
        "escalate_to": [r.value for r in request.escalate_to],  # in order: the next role first
        "status": request.status.value,
        "approvals": [_approval(a) for a in request.approvals],
        "escalation_window_us": window // _MICROSECOND,
    }


def request_from_json(data: Mapping[str, Any]) -> ApprovalRequest:
    return _reading("approval request", data, _request)


def _request(data: Mapping[str, Any]) -> ApprovalRequest:
    return ApprovalRequest(
        id=data["id"],
        action_id=data["action_id"],
        content_hash=data["content_hash"],
        proposer_id=data["proposer_id"],
        required_roles=frozenset(Role(r) for r in data["required_roles"]),
        quorum=data["quorum"],
        created_at=_time_from(data["created_at"]),
        expires_at=_time_from(data["expires_at"]),
        escalate_to=tuple(Role(r) for r in data["escalate_to"]),
        status=ApprovalStatus(data["status"]),
        approvals=[_approval_from(a) for a in data["approvals"]],
        escalation_window=data["escalation_window_us"] * _MICROSECOND,
    )


def _approval(approval: Approval) -> dict[str, Any]:
    person = approval.approver
    return {
        "request_id": approval.request_id,
        "approver": {
            "id": person.id,
            "kind": person.kind,
            "roles": sorted(r.value for r in person.roles),
        },
        "role": approval.role.value,
        "content_hash": approval.content_hash,
        "at": _time(approval.at),
        "decision": approval.decision,
        "reason": approval.reason,
    }


def _approval_from(data: Mapping[str, Any]) -> Approval:
    person = data["approver"]
    return Approval(
        data["request_id"],
        Actor(person["id"], person["kind"], frozenset(Role(r) for r in person["roles"])),
        Role(data["role"]),
        data["content_hash"],
        _time_from(data["at"]),
        data["decision"],
        data["reason"],
    )


# -- the kill switch -------------------------------------------------------------------------------


def pause_to_json(state: PauseState) -> dict[str, Any]:
    return {"format": FORMAT, "by": state.by, "at": _time(state.at), "reason": state.reason}


def pause_from_json(data: Mapping[str, Any]) -> PauseState:
    return _reading(
        "pause state",
        data,
        lambda d: PauseState(d["by"], _time_from(d["at"]), d["reason"]),
    )


# -- values ----------------------------------------------------------------------------------------


def _reading(what: str, data: Mapping[str, Any], read: Callable[[Mapping[str, Any]], T]) -> T:
    """``read(data)``, with every way a document can be wrong turned into one ``DomainError``."""
    if data.get("format") != FORMAT:
        raise DomainError(f"a stored {what} has format {data.get('format')!r}; expected {FORMAT}")
    try:
        return read(data)
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        raise DomainError(f"a stored {what} cannot be read: {type(exc).__name__}: {exc}") from exc


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _time_from(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset")
    return value.astimezone(UTC)


def _money(money: Money) -> dict[str, str]:
    return {"amount": str(money.amount), "currency": money.currency}


def _money_from(data: Mapping[str, str]) -> Money:
    return Money(Decimal(data["amount"]), data["currency"])


def _value(value: object, where: str) -> Any:
    """A parameter value as JSON, tagging what JSON alone would read back as something else."""
    # bool and the enums are subclasses of int and str: they go out as JSON writes them.
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": _stamp(value)}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Money):
        return {"$money": [str(value.amount), value.currency]}
    if isinstance(value, list):
        return [_value(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, tuple):
        return {"$tuple": [_value(item, f"{where}[{i}]") for i, item in enumerate(value)]}
    if isinstance(value, Mapping):
        encoded: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise DomainError(f"{where}: key {key!r} is not text; it cannot be stored")
            encoded[key] = _value(item, f"{where}.{key}")
        return {"$map": encoded} if len(encoded) == 1 and encoded.keys() <= _TAGS else encoded
    raise DomainError(f"{where}: a {type(value).__name__} cannot be stored")


def _value_from(value: Any) -> Any:
    if isinstance(value, list):
        return [_value_from(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1 and value.keys() <= _TAGS:
        ((tag, inner),) = value.items()
        if tag == "$decimal":
            return Decimal(inner)
        if tag == "$datetime":
            return _stamp_from(inner)
        if tag == "$date":
            return date.fromisoformat(inner)
        if tag == "$money":
            return Money(Decimal(inner[0]), inner[1])
        if tag == "$tuple":
            return tuple(_value_from(item) for item in inner)
        return {key: _value_from(item) for key, item in inner.items()}  # "$map"
    return {key: _value_from(item) for key, item in value.items()}


def _stamp(value: datetime) -> str | list[Any]:
    """A parameter's datetime, offset kept. ``fromisoformat`` (Python 3.11) drops an offset with
    a fraction of a second, so such a time goes out as its UTC text and its offset apart."""
    offset = value.utcoffset()
    if offset is None or offset.microseconds == 0:
        return value.isoformat()
    return [value.astimezone(UTC).replace(tzinfo=None).isoformat(), offset // _MICROSECOND]


def _stamp_from(inner: str | list[Any]) -> datetime:
    if isinstance(inner, str):
        return datetime.fromisoformat(inner)
    utc_text, micros = inner
    zone = timezone(timedelta(microseconds=micros))
    return datetime.fromisoformat(utc_text).replace(tzinfo=UTC).astimezone(zone)
