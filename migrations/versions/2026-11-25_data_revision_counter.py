"""A counter of committed writes, read by lists for their ETags and cached totals.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    data_revision = op.create_table(
        "data_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_revision")),
    )
    # Start past zero on a database that already has data, so no list ETag repeats.
    op.bulk_insert(data_revision, [{"id": 1, "value": 1}])


def downgrade() -> None:
    op.drop_table("data_revision")
