"""The tables. Migrations (``migrations/versions``) create them; this module only describes
them for queries, so the two must agree (a test compares them).

Customers are versioned rows (``valid_from`` .. ``valid_to``, a half-open range of context
versions; ``valid_to`` is NULL while the row is current), so any version can be read back.
``customer_materializations`` caches the whole customer set of a version as columnar arrays,
which is how a million customers load in well under a second.

``audit_log`` holds the hash-chained audit records, one row per ``seq``, ``data`` as canonical
JSON text. It is append-only: triggers from migration 0002 refuse UPDATE and DELETE.

Governance (migration 0003): ``users`` and ``api_tokens`` (a token is kept only as its SHA-256
``digest``), every version of every action that went through the gate (``actions``, keyed by id
and version), ``approval_requests`` with ``ordinal`` recording the order they were first saved,
and ``governance_state`` (the kill switch). Actions and requests are kept whole as JSON text in
``body`` (``mios.governance.codec``); the other columns are copies for queries.

Operations (migration 0004): ``receipts``, one per idempotency key, what a channel did with an
action (so an effect is never repeated across restarts), and ``outcomes``, one per outcome id,
what was measured afterwards (an event ingested twice counts once); money as Decimal text.

Cycles (migration 0005): ``cycles``, one per cycle of a playbook (the ``Cycle`` as JSON in
``body``, what its stages recorded in ``summary``), and ``cycle_cells``, what each cycle
measured per response-model cell.

Holdouts (migration 0006): ``receipts.held_out``, how many of an action's audience an
experiment kept out (0 for receipts written before it).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from mios.domain.channel import CONSENT_CHANNELS

metadata = MetaData()

RowId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements only INTEGER

context_versions = Table(
    "context_versions",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("parts", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("customer_count", Integer, nullable=False),
)

context_documents = Table(
    "context_documents",
    metadata,
    Column("part", String(32), primary_key=True),
    Column("version", Integer, ForeignKey("context_versions.version"), primary_key=True),
    Column("body", Text, nullable=False),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("version", Integer, ForeignKey("context_versions.version"), nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_ledger_entries_version", "version"),
)

learnings = Table(
    "learnings",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("version", Integer, ForeignKey("context_versions.version"), nullable=False),
    Column("learning_id", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_learnings_version", "version"),
)

_consent_columns: list[Column[object]] = []
for _channel in CONSENT_CHANNELS:
    _consent_columns += [
        Column(f"consent_{_channel}", String(16), nullable=False),
        Column(f"basis_{_channel}", String(32), nullable=False),
        Column(f"consented_at_{_channel}", BigInteger, nullable=True),  # epoch seconds, UTC
    ]

customers = Table(
    "customers",
    metadata,
    Column("row_id", RowId, primary_key=True, autoincrement=True),
    Column("customer_id", String(64), nullable=False),
    Column("valid_from", Integer, nullable=False),
    Column("valid_to", Integer, nullable=True),
    Column("region", String(32), nullable=False),
    Column("country", String(2), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("suppressed", Boolean, nullable=False),
    Column("suppression_reason", String(200), nullable=True),
    *_consent_columns,
    Column("attributes", Text, nullable=False),
    Index("ix_customers_current", "customer_id", "valid_to"),
    Index("ix_customers_valid_from", "valid_from"),
    Index("ix_customers_valid_to", "valid_to"),
)

customer_materializations = Table(
    "customer_materializations",
    metadata,
    Column("version", Integer, ForeignKey("context_versions.version"), primary_key=True),
    Column("row_count", Integer, nullable=False),
    Column("payload", LargeBinary, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", RowId, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor_id", Text, nullable=False),
    Column("actor_role", Text, nullable=True),
    Column("event", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("data", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # People look up what happened to one action or request; without it that is a full scan.
    Index("ix_audit_log_subject", "subject"),
)

users = Table(
    "users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("roles", Text, nullable=False),  # a JSON list, sorted
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("active", Boolean, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("user_id", String(64), ForeignKey("users.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("label", Text, nullable=False),
    Index("ix_api_tokens_user_id", "user_id"),
)

actions = Table(
    "actions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("state", String(32), nullable=False),
    Column("body", Text, nullable=False),
)

approval_requests = Table(
    "approval_requests",
    metadata,
    Column("id", Text, primary_key=True),
    Column("action_id", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("ordinal", RowId, nullable=False),
    Column("body", Text, nullable=False),
    UniqueConstraint("ordinal", name="uq_approval_requests_ordinal"),
    Index("ix_approval_requests_status", "status"),
)

governance_state = Table(
    "governance_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

receipts = Table(
    "receipts",
    metadata,
    Column("idempotency_key", Text, primary_key=True),
    Column("action_id", Text, nullable=False),
    Column("channel", String(32), nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("external_id", Text, nullable=False),
    Column("note", Text, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("held_out", Integer, nullable=False, server_default="0"),  # migration 0006
    Index("ix_receipts_action_id", "action_id"),
)

outcomes = Table(
    "outcomes",
    metadata,
    Column("id", Text, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action_id", Text, nullable=True),
    Column("customer_id", Text, nullable=True),
    Column("channel", String(32), nullable=True),
    Column("amount", Text, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("count", Integer, nullable=False),
    Column("tracking_id", Text, nullable=True),
    Column("attributes", Text, nullable=False),
    Index("ix_outcomes_action_id", "action_id"),
    Index("ix_outcomes_tracking_id", "tracking_id"),
    Index("ix_outcomes_at", "at"),
)

cycles = Table(
    "cycles",
    metadata,
    Column("id", Text, primary_key=True),
    Column("playbook", Text, nullable=False),
    Column("number", Integer, nullable=False),
    Column("stage", String(16), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("body", Text, nullable=False),
    Column("summary", Text, nullable=False),
    UniqueConstraint("playbook", "number", name="uq_cycles_playbook_number"),
)

cycle_cells = Table(
    "cycle_cells",
    metadata,
    Column("cycle_id", Text, primary_key=True),
    Column("segment", Text, primary_key=True),
    Column("channel", String(32), primary_key=True),
    Column("offer", Text, primary_key=True),
    Column("angle", Text, primary_key=True),
    Column("trials", BigInteger, nullable=False),
    Column("successes", BigInteger, nullable=False),
    Column("revenue", Text, nullable=False),
)

CUSTOMER_COLUMNS: tuple[str, ...] = tuple(c.name for c in customers.columns if c.name != "row_id")
