"""Run `krat serve` as a real process for tests: a free loopback port, a log file, readiness.

The server runs in its own process group, so stopping or killing it reaches uvicorn's worker
processes too, and nothing is left behind when a test fails half-way.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import pytest
from sqlalchemy import text
from sqlmodel import Session

from app.db import make_engine

from conftest import POSTGRES_URL, _truncate_postgres

ROOT = Path(__file__).resolve().parent.parent
KRAT = str(Path(sys.executable).parent / "krat")
ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
START_SECONDS = 60.0
STOP_SECONDS = 15.0
WAIT = 60.0  # seconds any one thread may wait at a barrier or for its work
T = TypeVar("T")


def free_port() -> int:
    """Return a loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerError(RuntimeError):
    """The server did not become ready."""


class Server:
    """One `krat serve` process (and its workers) on a loopback port, logging to a file."""

    def __init__(self, database_url: str, log_path: Path, *, workers: int = 1) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.workers = workers
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        """Start the process and wait until /readyz answers 200; try another port if taken."""
        for _attempt in range(3):
            self.port = free_port()
            self._spawn()
            if self._wait_ready():
                return self
            if "address already in use" not in self.log_text().lower():
                break
        self.kill()
        raise ServerError(f"krat serve never became ready; log:\n{self.log_text()[-4000:]}")

    def _spawn(self) -> None:
        env = {
            **os.environ,
            "KRAT_DATABASE_URL": self.database_url,
            "KRAT_ADMIN_TOKEN": ADMIN_TOKEN,
            "KRAT_LOG_LEVEL": "INFO",
        }
        command = [KRAT, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--workers", str(self.workers)]
        # Appended, not replaced: a restarted server keeps the first run's lines for the asserts.
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    def _wait_ready(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + START_SECONDS
        with httpx2.Client(base_url=self.url, timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    self.process.wait()
                    return False
                try:
                    if client.get("/readyz").status_code == 200:
                        return True
                except httpx2.TransportError:
                    pass
                time.sleep(0.1)
        return False

    def log_text(self) -> str:
        """Return everything the server processes wrote so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _signal_group(self, signum: int) -> None:
        """Signal the server's process group, only while its leader is not yet reaped.

        An unreaped leader keeps the group id reserved, so the signal can reach no process
        but ours. Uvicorn's master outlives its workers, so none is left once it is reaped.
        """
        assert self.process is not None
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL the server and its workers at once, as a crash or power cut would."""
        if self.process is None:
            return
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=STOP_SECONDS)

    def stop(self) -> None:
        """Stop the server gracefully; SIGKILL whatever still runs after the grace time."""
        if self.process is None:
            return
        self._signal_group(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_SECONDS)
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=STOP_SECONDS)


@contextmanager
def module_database(request: pytest.FixtureRequest, engine: str, directory: Path) -> Iterator[str]:
    """Yield the URL of an empty, migrated database of `engine` for one module's servers.

    Module-scoped servers cannot use conftest's per-test database; this uses the same SQLite
    template and the same PostgreSQL database, emptied afterwards as conftest does.
    """
    if engine == "sqlite":
        path = directory / "krat.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    if not POSTGRES_URL:
        pytest.skip("KRAT_TEST_POSTGRES_URL is not set")
    url = request.getfixturevalue("postgres_migrated")
    try:
        yield url
    finally:
        _truncate_postgres(url)


@contextmanager
def session_on(url: str) -> Iterator[Session]:
    """Yield a session of the test process on `url`, configured as the server's engine is."""
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


@contextmanager
def running_server(database_url: str, log_path: Path, *, workers: int = 1) -> Iterator[Server]:
    """Start `krat serve` on `database_url`, yield it ready, and always stop it afterwards."""
    server = Server(database_url, log_path, workers=workers)
    try:
        yield server.start()
    finally:
        server.stop()


def client(server: Server, *, timeout: float = 60.0) -> httpx2.Client:
    """Return an HTTP client of `server` sending the admin token (close it, or use `with`)."""
    return httpx2.Client(base_url=server.url, headers=ADMIN, timeout=timeout)


def at_once(
    count: int, work: Callable[[int, httpx2.Client, threading.Barrier], T], *servers: Server
) -> list[T]:
    """Run `work(i, client, barrier)` in `count` threads, each with its own connection.

    Thread i talks to servers[i % len(servers)]; `barrier` lets the threads act together.
    """
    barrier = threading.Barrier(count, timeout=WAIT)

    def run(index: int) -> T:
        with client(servers[index % len(servers)]) as http:
            http.get("/healthz").raise_for_status()  # connected before the barrier
            return work(index, http, barrier)

    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(run, i) for i in range(count)]
        return [future.result(timeout=WAIT * 3) for future in futures]


# --- what the server logged and stored ---------------------------------------------------------


def log_failures(text: str) -> list[str]:
    """Return the log lines that show a failure: a 5xx, an error record, or a locked database.

    The service logs an unexpected exception by its type only (its text may quote stored data),
    so a lock error shows as an ERROR record and a 500; the phrase is matched too, for the
    SQLite driver's own message should any path print it.
    """
    failures = []
    for line in text.splitlines():
        if "database is locked" in line:
            failures.append(line)
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # the start-up banner is plain text
        status = entry.get("status") if isinstance(entry, dict) else None
        if entry.get("level") in {"ERROR", "CRITICAL"} or (
            isinstance(status, int) and status >= 500
        ):
            failures.append(line)
    return failures


MINUTES_TABLES = (
    "meeting",
    "attendance",
    "problem",
    "recommendation",
    "recommendation_responsible",
    "recommendation_status_change",
    "institution",
    "audit_event",
)


def row_counts(session: Session) -> dict[str, int]:
    """Count the rows of every table a minutes post writes to, in a fresh transaction."""
    session.rollback()
    counts = {
        table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        for table in MINUTES_TABLES
    }
    # Ends the read: on SQLite a later write from this stale snapshot would fail at once.
    session.rollback()
    return counts


def stored_minutes(session: Session, external_ref: str, newcomer: str) -> dict[str, int]:
    """Count what is stored of one posted document: its meeting and every row hanging off it."""
    session.rollback()  # a fresh snapshot: the server wrote since this session last read
    meetings = session.execute(
        text("SELECT id FROM meeting WHERE external_ref = :ref"), {"ref": external_ref}
    ).all()
    counts = {
        "meeting": len(meetings),
        "institution": session.execute(
            text("SELECT count(*) FROM institution WHERE name = :name"), {"name": newcomer}
        ).scalar_one(),
    }
    meeting_id = meetings[0][0] if meetings else -1
    per_meeting = {
        "attendance": "SELECT count(*) FROM attendance WHERE meeting_id = :id",
        "problem": "SELECT count(*) FROM problem WHERE meeting_id = :id",
        "recommendation": "SELECT count(*) FROM recommendation WHERE meeting_id = :id",
        "recommendation_responsible": "SELECT count(*) FROM recommendation_responsible r "
        "JOIN recommendation c ON c.id = r.recommendation_id WHERE c.meeting_id = :id",
        "recommendation_status_change": "SELECT count(*) FROM recommendation_status_change s "
        "JOIN recommendation c ON c.id = s.recommendation_id WHERE c.meeting_id = :id",
        "audit_event": "SELECT count(*) FROM audit_event "
        "WHERE entity = 'meeting' AND entity_id = :id",
    }
    for name, sql in per_meeting.items():
        counts[name] = session.execute(text(sql), {"id": meeting_id}).scalar_one()
    session.rollback()
    return counts


def expected_minutes(document: dict[str, Any]) -> dict[str, int]:
    """Return what `stored_minutes` finds of a wholly stored document from numbered_minutes."""
    recommendations = document["recommendations"]
    return {
        "meeting": 1,
        "institution": len(document["new_institutions"]),
        "attendance": len(document["attendees"]),
        "problem": len(document["problems"]),
        "recommendation": len(recommendations),
        "recommendation_responsible": sum(len(r["responsible"]) for r in recommendations),
        "recommendation_status_change": len(recommendations),
        "audit_event": 1,
    }


ABSENT = dict.fromkeys(MINUTES_TABLES, 0)  # what stored_minutes finds of an absent document
