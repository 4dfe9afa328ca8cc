"""Opt-outs measured on the channels, written back into the shared context's consent.

An unsubscribe or a complaint names the customer and the channel it came on. Until the context
knows, every agent and every review still read that customer's consent for the channel as
granted, and the next send there reaches someone who said no (a breach of consent law; the
simulator books it as a compliance incident). So before a cycle takes its snapshot, the
lifecycle reads the opt-outs reported for the actions of every earlier cycle and, for each
customer whose consent for the channel is still granted, records it as ``denied`` at the time
of the first opt-out since that consent was given: one new context version, written by
``lifecycle``. It runs again safely: a consent already withdrawn is not written twice, and
consent given again after an opt-out (a newer ``consent_at``) stands until the next opt-out:
the outcomes are kept for good, so every cycle reads the old opt-out again.

    changed = record_opt_outs(services)       # customers whose consent was withdrawn
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime

import numpy as np

from mios.context.store import ContextChange
from mios.domain.channel import CONSENT_CHANNELS, ChannelName
from mios.domain.customer import CONSENT_CODES, ConsentStatus
from mios.domain.customer_table import CustomerTable, consent_column
from mios.domain.outcome import Outcome, OutcomeKind
from mios.lifecycle.services import LIFECYCLE, CycleServices

#: What a customer does to say no more on a channel.
OPT_OUT_KINDS = frozenset({OutcomeKind.UNSUBSCRIBE, OutcomeKind.COMPLAINT})
_GRANTED = CONSENT_CODES.index(ConsentStatus.GRANTED)
_DENIED = CONSENT_CODES.index(ConsentStatus.DENIED)

#: Per channel with consent: the customers who opted out there, each with every moment they
#: did, earliest first.
OptOuts = Mapping[ChannelName, Mapping[str, tuple[datetime, ...]]]


def opt_outs(outcomes: Iterable[Outcome]) -> dict[ChannelName, dict[str, tuple[datetime, ...]]]:
    """The opt-outs among ``outcomes``: those that name a customer and a channel with
    consent."""
    found: dict[ChannelName, dict[str, list[datetime]]] = {}
    for outcome in outcomes:
        channel, customer = outcome.channel, outcome.customer_id
        if outcome.kind not in OPT_OUT_KINDS or customer is None or channel is None:
            continue
        if channel not in CONSENT_CHANNELS:
            continue
        found.setdefault(channel, {}).setdefault(customer, []).append(outcome.at)
    return {
        channel: {customer: tuple(sorted(times)) for customer, times in who.items()}
        for channel, who in found.items()
    }


def withdrawn(customers: CustomerTable, said: OptOuts) -> CustomerTable | None:
    """The rows of ``customers`` whose consent ``said`` withdraws (granted now, and an opt-out
    at or after the consent was given, or the consent's time unknown: denied from the first
    such opt-out on), as they are after it; ``None`` when nothing changes. Customers the table
    does not hold (removed since) are passed over."""
    status = customers.consent_status.copy()
    stamps = customers.consent_at.copy()
    changed = np.zeros(len(customers), dtype=np.bool_)
    for channel, who in said.items():
        if not who:
            continue
        column = consent_column(channel)
        ids = list(who)
        positions = customers.positions(ids)
        for customer, row in zip(ids, positions.tolist(), strict=True):
            if row < 0 or status[row, column] != _GRANTED:
                continue
            given = stamps[row, column]
            times = [np.datetime64(t.replace(tzinfo=None), "s") for t in who[customer]]
            since = [t for t in times if np.isnat(given) or t >= given]
            if not since:
                continue  # consent given again after the last opt-out
            status[row, column] = _DENIED
            stamps[row, column] = since[0]
            changed[row] = True
    if not changed.any():
        return None
    after = replace(customers, consent_status=status, consent_at=stamps)
    return after.take(np.flatnonzero(changed))


def record_opt_outs(services: CycleServices) -> int:
    """Withdraw, in the context, the consent of every customer who opted out on a channel
    after an earlier cycle's action; return how many customers changed."""
    action_ids = [a for cycle in services.cycles.cycles() for a in cycle.action_ids]
    if not action_ids:
        return 0
    said = opt_outs(services.outcomes.query(action_ids=action_ids))
    if not said:
        return 0
    snapshot = services.context.snapshot()
    changed = withdrawn(snapshot.customers(), said)
    if changed is None:
        return 0
    channels = ", ".join(sorted(str(c) for c in said))
    services.context.write(
        ContextChange(customers=changed),
        actor=LIFECYCLE,
        reason=f"consent withdrawn by {len(changed)} customer(s) who opted out on {channels}",
    )
    return len(changed)
