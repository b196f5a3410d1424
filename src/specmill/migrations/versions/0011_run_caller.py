"""Who started each run over the API (a digest of its token), for the per-token queue quota.

Revision ID: 0011
Revises: 0015
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("specmill_runs", sa.Column("caller", sa.String(64), nullable=True))
    op.create_index("ix_specmill_runs_caller", "specmill_runs", ["caller", "created_us"])


def downgrade() -> None:
    op.drop_index("ix_specmill_runs_caller", table_name="specmill_runs")
    with op.batch_alter_table("specmill_runs") as batch:
        batch.drop_column("caller")
