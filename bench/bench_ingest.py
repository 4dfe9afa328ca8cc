"""Outcome ingestion target of the Marketing OS issue:

    SqlOutcomeStore.add into SQLite and into PostgreSQL        target >= 20,000 events/s each

The events are what the simulator and a CSV import hand over: ``Outcome`` values with an
action, a customer, a channel, money on conversions and spend, a tracking id and a few
attributes (segment, offer, experiment arm), written in batches of 5,000, one transaction
each, with ``ON CONFLICT (id) DO NOTHING``. Building the ``Outcome`` objects is not timed (the
source already has them); turning them into rows, encoding the attributes and the database
work are. A second pass adds the same events again and must store nothing new: that is the
idempotency every retry relies on, and it is timed too.

Peer: the open-source RudderStack gateway's published load test, about 1,700 events/s on an
AWS m5.large (2 cores) writing to PostgreSQL on RDS
(https://www.rudderstack.com/docs/user-guides/administrators-guide/infra-provisioning/).
That figure is quoted, not measured here, and it is an HTTP gateway taking requests, so the
ratio says how much head room this path leaves, not that one system beats the other.

PostgreSQL: ``--pg-url`` (default postgresql+psycopg://postgres@127.0.0.1:5432/test) in a
fresh schema dropped afterwards; skipped with a message if the server cannot be reached.

    python bench/bench_ingest.py --events 200000 --batch 5000
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

TARGET = 20_000.0
PEER = 1_700.0
PEER_NAME = "RudderStack gateway, 2 cores (published, not measured here)"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

_CHANNELS = ("email", "sms", "push", "paid_search", "paid_social", "display")
_SEGMENTS = ("loyal", "regular", "lapsed", "new")
_OFFERS = ("pct-20", "bundle", "free-shipping")


def outcomes(count: int, seed: int = 7) -> list[Any]:
    """A realistic mix: mostly deliveries, opens and clicks, some conversions with money,
    spend, a few unsubscribes; ids as the simulator and webhooks make them."""
    from mios.domain.channel import ChannelName
    from mios.domain.money import Money
    from mios.domain.outcome import Outcome, OutcomeKind

    draw = random.Random(seed)
    kinds = [
        (OutcomeKind.DELIVERED, 40),
        (OutcomeKind.OPEN, 25),
        (OutcomeKind.CLICK, 15),
        (OutcomeKind.CONVERSION, 10),
        (OutcomeKind.SPEND, 6),
        (OutcomeKind.UNSUBSCRIBE, 3),
        (OutcomeKind.COMPLAINT, 1),
    ]
    population = [k for k, _ in kinds]
    weights = [w for _, w in kinds]
    at = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    made: list[Any] = []
    for n in range(count):
        kind = draw.choices(population, weights)[0]
        at += timedelta(milliseconds=draw.randrange(1, 400))
        action = draw.randrange(2_000)
        channel = ChannelName(_CHANNELS[action % len(_CHANNELS)])
        value = None
        if kind is OutcomeKind.CONVERSION:
            value = Money(Decimal(draw.randrange(1_000, 40_000)) / 100, "USD")
        elif kind is OutcomeKind.SPEND:
            value = Money(Decimal(draw.randrange(1, 5_000_000)) / 1_000_000, "USD")
        attributes: dict[str, Any] = {"segment": draw.choice(_SEGMENTS)}
        if kind is OutcomeKind.CONVERSION:
            attributes["offer"] = draw.choice(_OFFERS)
        if action % 10 == 0:
            arm = draw.choice(("treatment", "holdout"))
            attributes |= {"experiment_id": f"exp-{action}", "arm": arm}
        made.append(
            Outcome(
                id=f"evt-{uuid.UUID(int=draw.getrandbits(128))}",
                kind=kind,
                at=at,
                action_id=f"act-{action:05d}",
                customer_id=f"C{draw.randrange(1_000_000):07d}",
                channel=channel,
                value=value,
                count=1 if kind is not OutcomeKind.DELIVERED else draw.randrange(1, 50),
                tracking_id=f"trk-{action:05d}-{n % 97}",
                attributes=attributes,
            )
        )
    return made


def measure(url: str, events: list[Any], batch: int) -> tuple[float, float]:
    """(events/s of the first pass, events/s of the duplicate pass) into a fresh database."""
    from mios.persistence.engine import create_database_engine, migrate
    from mios.persistence.outcome_store import SqlOutcomeStore

    engine = create_database_engine(url)
    try:
        migrate(engine)
        store = SqlOutcomeStore(engine, batch=batch)
        started = time.perf_counter()
        added = store.add(events)
        first = time.perf_counter() - started
        if added != len(events):
            raise SystemExit(f"stored {added} of {len(events)} events")
        started = time.perf_counter()
        again = store.add(events)
        second = time.perf_counter() - started
        if again != 0 or store.count() != len(events):
            raise SystemExit(f"the duplicate pass stored {again} events; it must store none")
    finally:
        engine.dispose()
    return len(events) / first, len(events) / second


def report(name: str, rates: tuple[float, float]) -> None:
    first, duplicate = rates
    verdict = "meets" if min(first, duplicate) >= TARGET else "MISSES"
    print(
        f"{name:<11} {first:>10,.0f} events/s new, {duplicate:>10,.0f} events/s duplicate pass; "
        f"{first / PEER:.1f}x the peer; target >= {TARGET:,.0f}/s: {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    args = parser.parse_args()

    print(f"building {args.events:,} outcomes (not timed) ...")
    events = outcomes(args.events)
    print(f"peer: {PEER_NAME}: {PEER:,.0f} events/s")
    with tempfile.TemporaryDirectory() as folder:
        report("SQLite", measure(f"sqlite:///{Path(folder) / 'bench.db'}", events, args.batch))
    pg = pg_schema(args.pg_url)
    if pg is None:
        return
    url, drop = pg
    try:
        report("PostgreSQL", measure(url, events, args.batch))
    finally:
        drop()


def pg_schema(admin_url: str) -> tuple[str, Any] | None:
    """A URL whose search_path is a fresh schema, and how to drop it; None if unreachable."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    schema = f"mios_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except SQLAlchemyError as exc:
        admin.dispose()
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        print(f"PostgreSQL  skipped: cannot reach {admin_url} ({reason})")
        return None

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    separator = "&" if "?" in admin_url else "?"
    return f"{admin_url}{separator}options=-csearch_path%3D{schema}", drop


if __name__ == "__main__":
    main()
