"""Cycles: one row per cycle of a playbook (the ``Cycle`` whole as JSON in ``body``, with what
its stages recorded in ``summary``), and what each cycle measured per response-model cell
(``cycle_cells``), from which the next cycle's forecaster is built.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cycles",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("playbook", sa.Text, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text, nullable=False),  # canonical JSON of the Cycle
        sa.Column("summary", sa.Text, nullable=False),  # JSON object
        sa.UniqueConstraint("playbook", "number", name="uq_cycles_playbook_number"),
    )
    op.create_table(
        "cycle_cells",
        sa.Column("cycle_id", sa.Text, primary_key=True),
        sa.Column("segment", sa.Text, primary_key=True),
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("offer", sa.Text, primary_key=True),
        sa.Column("angle", sa.Text, primary_key=True),
        sa.Column("trials", sa.BigInteger, nullable=False),
        sa.Column("successes", sa.BigInteger, nullable=False),
        sa.Column("revenue", sa.Text, nullable=False),  # a Decimal as text: exact in both engines
    )


def downgrade() -> None:
    op.drop_table("cycle_cells")
    op.drop_table("cycles")
