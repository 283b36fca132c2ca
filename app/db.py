"""The database engine, the metadata naming convention and the request session."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, create_engine

from app.config import get_settings

# Set before any model is imported: Alembic can only drop constraints that have names.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


WRITE_OPTION = "krat_write"
# A SQLite writer waits for the write lock at BEGIN IMMEDIATE: up to the busy timeout, and then
# again this many times in all, so only a lock held for minutes ends in an error.
WRITE_LOCK_ATTEMPTS = 3

log = logging.getLogger("krat.db")


def is_sqlite(url: str) -> bool:
    """Tell whether a database URL points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite database file (a fresh checkout has no ./data/)."""
    database = make_url(url).database
    if is_sqlite(url) and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str) -> Engine:
    """Create an engine for `url`, configuring SQLite for concurrent readers and durability."""
    # Up to twice the pool in flight, as many as the server's worker threads (40).
    pool = {"pool_size": get_settings().db_pool_size, "max_overflow": get_settings().db_pool_size}
    if not is_sqlite(url):
        # Sessions in UTC, so timestamps come back as UTC whatever the server's zone.
        return create_engine(
            url,
            # No pre-ping: it costs a round trip per request; a connection the server dropped
            # fails one request and is replaced (pool_recycle bounds their age).
            pool_recycle=1800,
            connect_args={"options": "-c timezone=UTC"},
            **pool,
        )
    ensure_sqlite_folder(url)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)
    busy_ms = get_settings().sqlite_busy_timeout_ms

    @event.listens_for(engine, "connect")
    def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
        # Let pysqlite issue no implicit BEGIN; we begin explicitly below so that writers take
        # the write lock up front (BEGIN IMMEDIATE) instead of failing to upgrade a read lock.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # Readers share the WAL snapshot; a writer takes the write lock at BEGIN, so two writers
        # queue on the busy timeout instead of deadlocking on a lock upgrade.
        if connection.get_execution_options().get(WRITE_OPTION, False):
            begin_immediate(connection, busy_ms)
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


def is_locked(error: OperationalError) -> bool:
    """Tell whether a SQLite error means another connection holds the lock."""
    return "database is locked" in str(error.orig) or "database is busy" in str(error.orig)


def begin_immediate(connection: Connection, busy_ms: int) -> None:
    """Take SQLite's write lock, waiting the busy timeout up to WRITE_LOCK_ATTEMPTS times.

    Retrying here is always safe: nothing has been read or written in the transaction yet.
    Every other statement of a write transaction runs with the lock held, so cannot be locked
    out; readers never wait in WAL mode.
    """
    for attempt in range(1, WRITE_LOCK_ATTEMPTS + 1):
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as error:
            if attempt == WRITE_LOCK_ATTEMPTS or not is_locked(error):
                raise
            log.warning(
                "the SQLite write lock stayed busy for %d ms; waiting again (attempt %d of %d)",
                busy_ms,
                attempt + 1,
                WRITE_LOCK_ATTEMPTS,
            )


@lru_cache
def get_engine() -> Engine:
    """Return the process-wide engine for the configured database."""
    return make_engine(get_settings().database_url)


@contextmanager
def autocommit_connection() -> Iterator[Any]:
    """Yield a pooled DBAPI connection on which every statement commits by itself.

    For one-statement reads outside any request session (app.conditional): no BEGIN, and no
    ROLLBACK round trip when the connection goes back to its pool. On PostgreSQL the switch is
    psycopg's client-side `autocommit` flag, set back before the connection is returned.
    """
    connection = get_engine().raw_connection()
    postgres = get_engine().dialect.name == "postgresql"
    try:
        if postgres:
            connection.driver_connection.autocommit = True  # type: ignore[union-attr]
        yield connection
    finally:
        try:
            if postgres:
                connection.driver_connection.autocommit = False  # type: ignore[union-attr]
        finally:
            connection.close()


def autocommit_session() -> Session:
    """Return a session for reads of one statement each, such as a page of the list.

    On PostgreSQL each statement runs on its own (it would see its own snapshot anyway, at
    READ COMMITTED), which saves the BEGIN and ROLLBACK round trips of a transaction; its
    connections come from the same pool, switched client-side. SQLite is in-process: its
    sessions keep their transaction, which costs nothing there.
    """
    return Session(autocommit_engine(), expire_on_commit=False)


def autocommit_engine() -> Engine:
    """Return the engine whose connections autocommit (on SQLite, the engine itself)."""
    engine = get_engine()
    if engine.dialect.name == "sqlite":
        return engine  # pysqlite runs with isolation_level None: autocommit
    return _autocommit(engine)


@lru_cache(maxsize=4)
def _autocommit(engine: Engine) -> Engine:
    # Same pool; SQLAlchemy sets the level at checkout and restores it at return.
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def dispose_engines() -> None:
    """Close every pooled connection of this process and forget its engines (tests use it)."""
    get_engine().dispose()
    _autocommit.cache_clear()
    get_engine.cache_clear()


def get_session() -> Iterator[Session]:
    """Yield a read session for one request."""
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


def write_session() -> Session:
    """Return a session whose transaction takes the write lock up front (on SQLite)."""
    return Session(get_engine().execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)


def get_write_session() -> Iterator[Session]:
    """Yield a write session for one request; the handler commits, never this cleanup."""
    with write_session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
WriteSessionDep = Annotated[Session, Depends(get_write_session)]
