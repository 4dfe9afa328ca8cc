"""Actions for market tests, built the way any caller would build them."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.outcome import Outcome, OutcomeKind
from mios.domain.proposal import ActionKind, Audience, Content


def content(
    offer: str | None = "pct-20",
    angle: str | None = "value",
    body: str = "Warm jackets for the trail.",
    claims: tuple[str, ...] = (),
) -> Content:
    return Content(subject="New season", body=body, offer_id=offer, angle=angle, claims=claims)


def send(
    action_id: str,
    *,
    channel: ChannelName = ChannelName.EMAIL,
    segment: str | None = None,
    customers: Iterable[str] = (),
    message: Content | None = None,
    parameters: dict[str, Any] | None = None,
) -> Action:
    return Action(
        id=action_id,
        proposal_id=action_id,
        kind=ActionKind.SEND_MESSAGE,
        snapshot_version=1,
        channel=channel,
        audience=Audience(segment_id=segment, customer_ids=tuple(customers)),
        content=message or content(),
        parameters=parameters or {},
    )


def budget(
    action_id: str,
    channel: ChannelName,
    amount: float,
    *,
    currency: str = "USD",
    message: Content | None = None,
    audience: Audience | None = None,
) -> Action:
    return Action(
        id=action_id,
        proposal_id=action_id,
        kind=ActionKind.SET_BUDGET,
        snapshot_version=1,
        channel=channel,
        spend=Money(Decimal(str(amount)), currency),
        content=message,
        audience=audience,
    )


def publish(action_id: str, message: Content | None = None) -> Action:
    return Action(
        id=action_id,
        proposal_id=action_id,
        kind=ActionKind.PUBLISH_CONTENT,
        snapshot_version=1,
        channel=ChannelName.CONTENT,
        content=message or content(),
    )


def count(outcomes: Iterable[Outcome], kind: OutcomeKind, action_id: str | None = None) -> int:
    return sum(
        o.count
        for o in outcomes
        if o.kind is kind and (action_id is None or o.action_id == action_id)
    )
