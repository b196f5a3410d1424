"""The pull requests runs opened, so a review on one finds its run.

Revision ID: 0015
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "specmill_pull_requests",
        sa.Column("run_id", sa.String(200), primary_key=True),
        sa.Column("repository", sa.String(300), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("branch", sa.Text, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_specmill_pull_requests_number", "specmill_pull_requests", ["repository", "number"])


def downgrade() -> None:
    op.drop_index("ix_specmill_pull_requests_number", table_name="specmill_pull_requests")
    op.drop_table("specmill_pull_requests")
