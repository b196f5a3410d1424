"""Executors with their heartbeats (who may own a pending run), and the model call journal.

Revision ID: 0013
Revises: 0011
Create Date: 2025-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "specmill_executors",
        sa.Column("executor_id", sa.String(200), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("heartbeat_us", sa.BigInteger, nullable=False),
        sa.Column("stopped", sa.Boolean, nullable=False),
    )
    op.create_table(
        "specmill_call_journal",
        sa.Column("run_id", sa.String(200), primary_key=True),
        sa.Column("step_id", sa.Integer, primary_key=True),
        sa.Column("request_hash", sa.String(64), primary_key=True),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("specmill_call_journal")
    op.drop_table("specmill_executors")
