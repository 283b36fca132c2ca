"""Text search over recommendations (`q`), through an index on both engines.

`text_folded` holds the text lower-cased and without diacritics; `q` is folded the same way and
matched as a substring, so `shkolle` finds "shkollës". PostgreSQL indexes `text_folded` with
pg_trgm and its planner weighs that index against the list's ordered indexes by itself.

SQLite's planner cannot weigh the FTS5 trigram index (migration 2026-11-25_text_search_indexes)
so `plan()` probes it: a rare term is looked up through the index (a few rows to sort); a common
one is matched while walking the list's ordered index, where a page fills after a few rows.
"""

from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, bindparam, column, func, select, table
from sqlmodel import Session

from app.text import fold, like_pattern

FTS = table("recommendation_fts", column("rowid"), column("text_folded"))
# Above this many matches a term is common: walking the ordered index finds a page sooner
# than sorting every match.
RARE_LIMIT = 2000
_TRIGRAM = 3


def _indexable(term: str) -> bool:
    # FTS5 trigram LIKE needs 3 characters and has no ESCAPE clause.
    return len(term) >= _TRIGRAM and not any(ch in term for ch in "%_\\")


def fts_matches(q: str) -> Any:
    """Return the select of the ids of recommendations whose folded text contains `q`."""
    return select(FTS.c.rowid).where(FTS.c.text_folded.like(bindparam("q_fts", f"%{fold(q)}%")))


def plan(session: Session, filters: Any) -> Any:
    """Return `filters` marked to use the FTS index when that is the fast way to find `q`."""
    term = fold(filters.q or "")
    if session.get_bind().dialect.name != "sqlite" or not _indexable(term):
        return filters
    probe = fts_matches(term).limit(RARE_LIMIT + 1).subquery()
    found = session.execute(select(func.count()).select_from(probe)).scalar_one()
    return replace(filters, q_by_index=found <= RARE_LIMIT)


def condition(filters: Any, text_folded: Any) -> ColumnElement[bool]:
    """Return the WHERE condition for `filters.q` on the recommendation table."""
    if filters.q_by_index:
        return text_folded.table.c.id.in_(fts_matches(filters.q))
    return text_folded.like(bindparam("q", like_pattern(filters.q)), escape="\\")
