"""Opt-outs measured on the channels reach the shared context before the next cycle's snapshot:
whoever unsubscribed or complained on a channel has that channel's consent withdrawn, once."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from mios.domain.channel import ChannelName
from mios.domain.customer import CONSENT_CODES, ConsentStatus
from mios.domain.customer_table import consent_column
from mios.domain.outcome import Outcome, OutcomeKind
from mios.lifecycle import steps
from mios.lifecycle.inline import run_cycle_inline
from mios.lifecycle.opt_outs import opt_outs, record_opt_outs, withdrawn
from tests.support.lifecycle import PLAYBOOK, T0, setup
from tests.support.workspaces import random_customers

GRANTED = CONSENT_CODES.index(ConsentStatus.GRANTED)
DENIED = CONSENT_CODES.index(ConsentStatus.DENIED)
EMAIL = consent_column(ChannelName.EMAIL)
SMS = consent_column(ChannelName.SMS)


def said(
    kind: OutcomeKind, customer: str | None, channel: ChannelName | None, hours: int = 0
) -> Outcome:
    return Outcome(
        f"{kind}-{customer}-{channel}-{hours}",
        kind,
        T0 + timedelta(hours=hours),
        "a1",
        customer_id=customer,
        channel=channel,
    )


def test_unsubscribes_and_complaints_that_name_a_customer_and_a_consent_channel_count() -> None:
    found = opt_outs(
        [
            said(OutcomeKind.UNSUBSCRIBE, "C1", ChannelName.EMAIL, hours=5),
            said(OutcomeKind.COMPLAINT, "C1", ChannelName.EMAIL, hours=2),  # earliest first
            said(OutcomeKind.COMPLAINT, "C2", ChannelName.SMS),
            said(OutcomeKind.DELIVERED, "C3", ChannelName.EMAIL),  # not an opt-out
            said(OutcomeKind.UNSUBSCRIBE, None, ChannelName.EMAIL),  # names nobody
            said(OutcomeKind.UNSUBSCRIBE, "C4", None),  # names no channel
            said(OutcomeKind.UNSUBSCRIBE, "C5", ChannelName.PAID_SEARCH),  # no consent there
        ]
    )
    assert found == {
        ChannelName.EMAIL: {"C1": (T0 + timedelta(hours=2), T0 + timedelta(hours=5))},
        ChannelName.SMS: {"C2": (T0,)},
    }


def test_only_granted_consent_is_withdrawn_and_only_on_the_channel_opted_out_of() -> None:
    table = random_customers(50)
    granted = np.flatnonzero(table.consent_status[:, EMAIL] == GRANTED)
    other = np.flatnonzero(table.consent_status[:, EMAIL] != GRANTED)
    yes, no = str(table.ids[granted[0]]), str(table.ids[other[0]])
    at = T0 + timedelta(days=3)

    changed = withdrawn(table, {ChannelName.EMAIL: {yes: (at,), no: (at,), "gone": (at,)}})

    assert changed is not None
    assert changed.ids.tolist() == [yes]  # a customer no longer held is passed over
    row = 0
    assert changed.consent_status[row, EMAIL] == DENIED
    assert changed.consent_at[row, EMAIL] == np.datetime64(at.replace(tzinfo=None), "s")
    before = table.positions([yes])[0]
    assert changed.consent_status[row, SMS] == table.consent_status[before, SMS]
    assert table.consent_status[before, EMAIL] == GRANTED  # the table itself is unchanged
    assert withdrawn(table, {ChannelName.EMAIL: {no: (at,)}}) is None
    assert withdrawn(table, {}) is None


def test_consent_given_again_after_an_opt_out_stands_until_the_next_opt_out() -> None:
    # The outcomes are kept for good, so every cycle reads an old opt-out again: it must not
    # override consent the customer gave afterwards, but a later opt-out still does.
    table = random_customers(50)
    granted = np.flatnonzero(table.consent_status[:, EMAIL] == GRANTED)
    again, twice = str(table.ids[granted[0]]), str(table.ids[granted[1]])
    consent = T0 + timedelta(days=3)
    table.consent_at[granted[:2], EMAIL] = np.datetime64(consent.replace(tzinfo=None), "s")
    earlier, later = T0, T0 + timedelta(days=5)

    said = opt_outs(
        [
            said_at(again, earlier),
            said_at(twice, earlier),
            said_at(twice, later),
        ]
    )
    changed = withdrawn(table, said)

    assert changed is not None
    assert changed.ids.tolist() == [twice]
    assert changed.consent_at[0, EMAIL] == np.datetime64(later.replace(tzinfo=None), "s")


def said_at(customer: str, at: datetime) -> Outcome:
    return Outcome(
        f"u-{customer}-{at:%d}",
        OutcomeKind.UNSUBSCRIBE,
        at,
        "a1",
        customer_id=customer,
        channel=ChannelName.EMAIL,
    )


def test_the_next_cycle_reads_consent_withdrawn_by_who_opted_out_of_the_last() -> None:
    s = setup()
    run_cycle_inline(s.services, PLAYBOOK, 1)
    snapshot = s.services.context.snapshot()
    customers = snapshot.customers()
    first = next(a for a in s.channel.executed if a.audience and a.audience.segment_id == "eu")
    members = np.flatnonzero(customers.region.eq("EU") & customers.granted(ChannelName.EMAIL))
    leaving = [str(customers.ids[i]) for i in members[:3]]
    s.outcomes.add(
        Outcome(
            f"u{n}",
            OutcomeKind.UNSUBSCRIBE if n else OutcomeKind.COMPLAINT,
            T0 + timedelta(days=1),
            first.id,
            customer_id=customer,
            channel=ChannelName.EMAIL,
        )
        for n, customer in enumerate(leaving)
    )

    cycle = steps.open_cycle(s.services, PLAYBOOK, 2)

    after = s.services.context.snapshot(cycle.snapshot_version)
    assert after.version == snapshot.version + 1
    rows = after.customers().positions(leaving)
    assert (after.customers().consent_status[rows, EMAIL] == DENIED).all()
    assert int(after.customers().granted(ChannelName.EMAIL).sum()) == int(
        customers.granted(ChannelName.EMAIL).sum()
    ) - len(leaving)
    record = s.services.context.changes(1)[0]
    assert record.actor == "lifecycle"
    assert "3 customer(s) who opted out on email" in record.reason
    # Run again (a crash before the cycle was saved, or the next cycle): nothing to write.
    assert record_opt_outs(s.services) == 0
    assert s.services.context.head() == after.version
