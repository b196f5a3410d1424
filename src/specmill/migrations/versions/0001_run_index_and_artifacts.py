"""The run index the API lists from, and the artifacts each attempt records.

Revision ID: 0001
Revises:
Create Date: 2025-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "specmill_runs",
        sa.Column("run_id", sa.String(200), primary_key=True),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("repo", sa.Text, nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("forked_from", sa.String(200), nullable=True),
        sa.Column("fork_phase", sa.String(64), nullable=True),
        sa.Column("fork_step", sa.Integer, nullable=True),
        sa.Column("overrides", sa.Text, nullable=True),
    )
    op.create_index("ix_specmill_runs_created", "specmill_runs", ["created_us", "run_id"])
    op.create_index("ix_specmill_runs_spec", "specmill_runs", ["spec", "created_us"])
    op.create_index("ix_specmill_runs_repo", "specmill_runs", ["repo", "created_us"])
    op.create_table(
        "specmill_artifacts",
        sa.Column("run_id", sa.String(200), primary_key=True),
        sa.Column("attempt", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("head_commit", sa.String(64), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("specmill_artifacts")
    op.drop_index("ix_specmill_runs_repo", table_name="specmill_runs")
    op.drop_index("ix_specmill_runs_spec", table_name="specmill_runs")
    op.drop_index("ix_specmill_runs_created", table_name="specmill_runs")
    op.drop_table("specmill_runs")
