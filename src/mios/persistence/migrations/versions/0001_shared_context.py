"""The shared context: versions, documents, ledger, learnings, versioned customers.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copy of the consent channels at the time of this migration.
_CONSENT_CHANNELS = ("email", "sms", "push", "paid_social", "display")
_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "context_versions",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("parts", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("customer_count", sa.Integer, nullable=False),
    )
    op.create_table(
        "context_documents",
        sa.Column("part", sa.String(32), primary_key=True),
        sa.Column(
            "version", sa.Integer, sa.ForeignKey("context_versions.version"), primary_key=True
        ),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", _ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer, sa.ForeignKey("context_versions.version"), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("ix_ledger_entries_version", "ledger_entries", ["version"])
    op.create_table(
        "learnings",
        sa.Column("id", _ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer, sa.ForeignKey("context_versions.version"), nullable=False),
        sa.Column("learning_id", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("ix_learnings_version", "learnings", ["version"])
    consent_columns: list[sa.Column[Any]] = []
    for channel in _CONSENT_CHANNELS:
        consent_columns += [
            sa.Column(f"consent_{channel}", sa.String(16), nullable=False),
            sa.Column(f"basis_{channel}", sa.String(32), nullable=False),
            sa.Column(f"consented_at_{channel}", sa.BigInteger, nullable=True),
        ]
    op.create_table(
        "customers",
        sa.Column("row_id", _ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("valid_from", sa.Integer, nullable=False),
        sa.Column("valid_to", sa.Integer, nullable=True),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("suppressed", sa.Boolean, nullable=False),
        sa.Column("suppression_reason", sa.String(200), nullable=True),
        *consent_columns,
        sa.Column("attributes", sa.Text, nullable=False),
    )
    op.create_index("ix_customers_current", "customers", ["customer_id", "valid_to"])
    op.create_index("ix_customers_valid_from", "customers", ["valid_from"])
    op.create_index("ix_customers_valid_to", "customers", ["valid_to"])
    op.create_table(
        "customer_materializations",
        sa.Column(
            "version", sa.Integer, sa.ForeignKey("context_versions.version"), primary_key=True
        ),
        sa.Column("row_count", sa.Integer, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "customer_materializations",
        "customers",
        "learnings",
        "ledger_entries",
        "context_documents",
        "context_versions",
    ):
        op.drop_table(table)
