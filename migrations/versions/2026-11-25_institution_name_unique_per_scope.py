"""One institution of a name per scope: a region, or the national institutions.

The services check this before they write; the index is what two concurrent creates of the same
name cannot both pass. National institutions have no region, and NULLs never collide in a
unique index, so the scope is indexed as coalesce(region_id, 0).

A database that already holds two institutions of the same folded name in one scope (from
such a race) fails this migration: rename or merge one of them, then upgrade again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "uq_institution_scope_name_folded",
        "institution",
        [sa.text("coalesce(region_id, 0)"), "name_folded"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_institution_scope_name_folded", table_name="institution")
