"""Indexes for searching recommendation text: FTS5 trigrams on SQLite, pg_trgm on PostgreSQL.

Both index `recommendation.text_folded` (lower-case, diacritics removed) for substring matches,
so `q=shkolle` finds "shkollës" through an index. They live outside the SQLAlchemy metadata
(migrations/env.py tells `alembic check` to leave them alone).

SQLite: an external-content FTS5 table kept in step by triggers. A later batch migration that
rebuilds the recommendation table drops these triggers and must create them again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE recommendation_fts USING fts5("
    "text_folded, content='recommendation', content_rowid='id', tokenize='trigram')",
    "INSERT INTO recommendation_fts(recommendation_fts) VALUES ('rebuild')",
    "CREATE TRIGGER recommendation_fts_insert AFTER INSERT ON recommendation BEGIN "
    "INSERT INTO recommendation_fts(rowid, text_folded) VALUES (new.id, new.text_folded); END",
    "CREATE TRIGGER recommendation_fts_delete AFTER DELETE ON recommendation BEGIN "
    "INSERT INTO recommendation_fts(recommendation_fts, rowid, text_folded) "
    "VALUES ('delete', old.id, old.text_folded); END",
    "CREATE TRIGGER recommendation_fts_update AFTER UPDATE OF text_folded ON recommendation BEGIN "
    "INSERT INTO recommendation_fts(recommendation_fts, rowid, text_folded) "
    "VALUES ('delete', old.id, old.text_folded); "
    "INSERT INTO recommendation_fts(rowid, text_folded) VALUES (new.id, new.text_folded); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS recommendation_fts_update",
    "DROP TRIGGER IF EXISTS recommendation_fts_delete",
    "DROP TRIGGER IF EXISTS recommendation_fts_insert",
    "DROP TABLE IF EXISTS recommendation_fts",
]
POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_recommendation_text_trgm ON recommendation "
    "USING gin (text_folded gin_trgm_ops)",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS ix_recommendation_text_trgm"]


def _run(statements: dict[str, list[str]]) -> None:
    for statement in statements.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def upgrade() -> None:
    _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP})


def downgrade() -> None:
    _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN})
