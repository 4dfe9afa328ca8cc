"""Operations: what channels did (receipts, one per idempotency key, so an effect is never
repeated across restarts) and what was measured afterwards (outcomes, one per outcome id, so an
event ingested twice counts once).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "receipts",
        sa.Column("idempotency_key", sa.Text, primary_key=True),
        sa.Column("action_id", sa.Text, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("accepted", sa.Integer, nullable=False),
        sa.Column("external_id", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_receipts_action_id", "receipts", ["action_id"])
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action_id", sa.Text, nullable=True),
        sa.Column("customer_id", sa.Text, nullable=True),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("amount", sa.Text, nullable=True),  # a Decimal as text: exact in both engines
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("tracking_id", sa.Text, nullable=True),
        sa.Column("attributes", sa.Text, nullable=False),  # canonical JSON
    )
    op.create_index("ix_outcomes_action_id", "outcomes", ["action_id"])
    op.create_index("ix_outcomes_tracking_id", "outcomes", ["tracking_id"])
    op.create_index("ix_outcomes_at", "outcomes", ["at"])


def downgrade() -> None:
    op.drop_index("ix_outcomes_at", table_name="outcomes")
    op.drop_index("ix_outcomes_tracking_id", table_name="outcomes")
    op.drop_index("ix_outcomes_action_id", table_name="outcomes")
    op.drop_table("outcomes")
    op.drop_index("ix_receipts_action_id", table_name="receipts")
    op.drop_table("receipts")
