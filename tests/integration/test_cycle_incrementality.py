"""A whole cycle on the simulated market with a playbook holding out 20%: the send reaches only
the treated, its durable receipt (SQLite) keeps how many were held out, and measure sets the
message against its holdout and writes what it added as a learning."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import Engine

from mios.agents.protocol import AgentContext
from mios.channels.simulator import SimulatorChannel
from mios.cli.lifecycle_view import cycle_json
from mios.context.spec import WorkspaceSpec
from mios.context.store import ContextChange
from mios.domain.channel import ChannelName
from mios.domain.customer import CONSENT_CODES, ConsentStatus
from mios.domain.customer_table import consent_column
from mios.domain.proposal import ActionKind, Content, Proposal
from mios.lifecycle.inline import run_cycle_inline
from mios.persistence.engine import create_database_engine, migrate
from mios.persistence.outcome_store import SqlOutcomeStore
from mios.persistence.receipt_log import SqlReceiptLog
from mios.sim.market import Market
from mios.sim.scenario import load_scenario
from tests.support.lifecycle import PLAYBOOK, send, setup, spec

CUSTOMERS = 9000
SHARE = 0.2
GRANTED = CONSENT_CODES.index(ConsentStatus.GRANTED)


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    made = create_database_engine(sqlite_url)
    migrate(made)
    yield made
    made.dispose()


def holding_out(share: float) -> WorkspaceSpec:
    made = spec(window=7)
    book = made.playbooks[PLAYBOOK]
    experiments = book.experiments.model_copy(update={"holdout": share})
    return made.model_copy(
        update={"playbooks": {PLAYBOOK: book.model_copy(update={"experiments": experiments})}}
    )


def gift_offer_to_the_consenting(ctx: AgentContext) -> list[Proposal]:
    """20% off as a gift, by email to every customer who granted email consent."""
    people = ctx.customers
    granted = people.consent_status[:, consent_column(ChannelName.EMAIL)] == GRANTED
    proposal = send(ctx, "gift", None, customers=tuple(people.ids[granted].tolist()))
    content = Content("Wrapped for you", "20% off a gift.", angle="gift", offer_id="pct-20")
    return [replace(proposal, content=content)]


def test_a_cycle_measures_what_its_send_added_over_the_holdout(engine: Engine) -> None:
    market = Market(load_scenario("retail-holiday"), seed=3, customers=CUSTOMERS)
    s = setup(gift_offer_to_the_consenting, workspace=holding_out(SHARE))
    # The workspace's customers are the market's, so the ids the send lists are its people.
    people = market.customer_table()
    s.services.context.write(ContextChange(customers=people), actor="test", reason="the market")
    column = people.consent_status[:, consent_column(ChannelName.EMAIL)]
    audience = int((column == GRANTED).sum())
    channel = SimulatorChannel(market)
    receipts = SqlReceiptLog(engine)
    services = replace(
        s.services,
        channels=dict.fromkeys(channel.channels, channel),
        receipts=receipts,
        outcomes=SqlOutcomeStore(engine),
        source=channel,
    )

    report = run_cycle_inline(services, PLAYBOOK, 1)

    [measured] = [m for m in report.measured.actions if m.kind is ActionKind.SEND_MESSAGE]
    action = services.command.store.action(measured.action_id)
    assert action is not None
    assert action.parameters["holdout_share"] == SHARE
    stored = receipts.get(action.idempotency_key)
    assert stored is not None
    # Everyone addressed was either sent the message or held out, about a fifth held out.
    assert stored.accepted + stored.held_out == audience
    assert 0.15 * audience < stored.held_out < 0.25 * audience
    assert measured.held_out == stored.held_out

    found = measured.incrementality
    assert found is not None
    assert (found.treated_size, found.holdout_size) == (measured.sent, stored.held_out)
    assert found.treated_conversions == measured.conversions > 20
    # Some who got the message would have bought anyway: last-touch credit overstates it.
    assert found.incremental_conversions <= found.treated_conversions
    assert found.treated_rate > found.holdout_rate
    low, high = found.interval
    assert 0 < low < found.incremental_conversions < high
    assert high - low < found.treated_conversions  # a few thousand customers say something

    learned = {lr.id: lr for lr in services.context.snapshot().learnings}
    lr = learned[f"{report.cycle_id}:incrementality:{action.id}"]
    assert lr.insight.startswith(
        "email to listed customers, offer pct-20: incremental conversions "
    )
    assert f"{found.incremental_conversions:.1f} (95% interval {low:.1f}..{high:.1f})" in (
        lr.insight
    )
    assert lr.confidence > 0.99  # the interval is well clear of zero
    summary = services.cycles.summary(report.cycle_id)
    assert summary["incrementality"][action.id]["held_out"] == stored.held_out
    cycle = services.cycles.get(report.cycle_id)
    assert cycle is not None
    shown = cycle_json(cycle, summary, [action])  # what `mios cycles show --json` prints
    lift = shown["incrementality"][action.id]
    assert lift["incremental_conversions"] == round(found.incremental_conversions, 2)
    assert lift["interval"] == [round(low, 2), round(high, 2)]
