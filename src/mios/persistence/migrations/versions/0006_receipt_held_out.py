"""Holdouts: ``receipts.held_out``, how many of an action's audience an experiment kept out, so
measurement can set the treated against the holdout after a restart. Receipts written before it
read 0: no holdout was applied then.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "receipts",
        sa.Column("held_out", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    # SQLite drops a column by copying the table; batch mode does that on both engines.
    with op.batch_alter_table("receipts") as batch:
        batch.drop_column("held_out")
