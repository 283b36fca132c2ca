"""A server killed with SIGKILL in the middle of minutes imports loses no acknowledged document
and leaves none half-written; the restarted server serves the same database.

SQLite runs in WAL mode with synchronous=FULL: a transaction is durable when COMMIT returns, so
a 201 is only sent for minutes already on disk. Uncommitted WAL frames of the killed process
are discarded when the next process opens the database.
"""

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from server import (
    ABSENT,
    Server,
    client,
    expected_minutes,
    log_failures,
    row_counts,
    running_server,
    stored_minutes,
)
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.config import get_settings
from app.db import get_engine

from factories import make_durres_table, numbered_minutes

API = "/api/v1"
WRITERS = 4
PER_WRITER = 400  # an upper bound; the kill comes long before
ACKNOWLEDGED_BEFORE_KILL = 24
WAIT = 60.0
SENT = 0  # marks a document whose post got no answer: the kill came first


class Stream:
    """Writers posting distinct minutes until the server goes away; what each post got back."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.outcomes: dict[int, int] = {}  # document number → status, or SENT
        self.lock = threading.Lock()
        self.enough = threading.Event()
        self.threads = [
            threading.Thread(target=self._write, args=(w,), daemon=True) for w in range(WRITERS)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=WAIT)
            assert not thread.is_alive(), "a writer did not notice the server was gone"

    def acknowledged(self) -> list[int]:
        return [n for n, status in self.outcomes.items() if status == 201]

    def _write(self, writer: int) -> None:
        with client(self.server, timeout=WAIT) as http:
            for k in range(PER_WRITER):
                number = writer * 1000 + k
                with self.lock:
                    self.outcomes[number] = SENT
                try:
                    response = http.post(f"{API}/meetings", json=numbered_minutes(number))
                except httpx2.TransportError:
                    return  # killed: this document's fate is unknown to the client
                with self.lock:
                    self.outcomes[number] = response.status_code
                    if len(self.acknowledged()) >= ACKNOWLEDGED_BEFORE_KILL:
                        self.enough.set()


def newcomer(number: int) -> str:
    return str(numbered_minutes(number)["new_institutions"][0]["name"])


@pytest.fixture
def durres(db: Session) -> Iterator[Session]:
    """Durrës's bodies and members; then no connection of the test process stays open.

    With none open, the restarted server is the first to open the database, so on SQLite it
    is the one that recovers the killed server's write-ahead log.
    """
    make_durres_table(db)
    db.commit()
    db.close()
    get_engine().dispose()
    yield db


@pytest.mark.slow
def test_a_killed_server_leaves_every_document_whole_or_absent(
    configured: str, durres: Session, tmp_path: Path, is_postgres: bool
) -> None:
    before = row_counts(durres)
    durres.close()
    get_engine().dispose()
    log_path = tmp_path / "serve.log"
    server = Server(configured, log_path).start()
    try:
        stream = Stream(server)
        stream.start()
        assert stream.enough.wait(timeout=WAIT), "the stream never got going"
        server.kill()  # SIGKILL while the writers keep posting
        stream.join()
    finally:
        server.stop()
    outcomes = dict(stream.outcomes)
    assert set(outcomes.values()) <= {201, SENT}, log_failures(log_path.read_text())
    assert len(stream.acknowledged()) >= ACKNOWLEDGED_BEFORE_KILL

    with running_server(configured, log_path) as restarted, client(restarted) as http:
        # Every acknowledged meeting is served by the new process.
        for number in stream.acknowledged():
            ref = numbered_minutes(number)["external_ref"]
            found = http.get(f"{API}/meetings", params={"q": f"Mbledhja nr. {number} e"})
            assert found.status_code == 200
            assert ref in [m["external_ref"] for m in found.json()["items"]]
        stored = {
            number: stored_minutes(
                durres, numbered_minutes(number)["external_ref"], newcomer(number)
            )
            for number in outcomes
        }
        # A client that never heard back posts again: the absent are created, the present
        # answered as repeats, and nothing is stored twice.
        retried = {
            number: http.post(f"{API}/meetings", json=numbered_minutes(number)).status_code
            for number, status in outcomes.items()
            if status == SENT
        }

    whole = expected_minutes(numbered_minutes(0))
    for number, found in stored.items():
        assert found in (whole, ABSENT), (number, found)
        if outcomes[number] == 201:
            assert found == whole, number
        if number in retried:
            assert retried[number] == (200 if found == whole else 201), number
    present = sum(found == whole for found in stored.values()) + sum(
        status == 201 for status in retried.values()
    )
    after = row_counts(durres)
    # Nothing else was written: no row of a half-stored document anywhere.
    for table, per_document in whole.items():
        share = 2 if table == "audit_event" else per_document  # the meeting's and newcomer's
        assert after[table] - before[table] == present * share, table
    assert log_failures(log_path.read_text()) == []
    if not is_postgres:
        assert_sqlite_intact(configured)


def assert_sqlite_intact(url: str) -> None:
    """Check the SQLite file's structure and its foreign keys, and that it is still in WAL mode."""
    with sqlite3.connect(make_url(url).database or "") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    connection.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_sqlite_connection_is_durable_at_commit_and_waits_for_locks(db: Session) -> None:
    # The settings the crash test relies on, as each connection of the service gets them.
    connection = db.connection().connection.driver_connection
    assert connection is not None
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert connection.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    assert connection.execute("PRAGMA foreign_keys").fetchone() == (1,)
    busy_ms = get_settings().sqlite_busy_timeout_ms
    assert connection.execute("PRAGMA busy_timeout").fetchone() == (busy_ms,)
