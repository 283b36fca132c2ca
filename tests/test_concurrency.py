"""Concurrent writers against a real server: no duplicate, no loss, no lost update, no lock error.

The server tests share one `krat serve` process per engine and worker count (one worker and its
thread pool, or two worker processes) and drive it from threads, each with its own HTTP
connection. SQLite writers queue for the write lock at BEGIN IMMEDIATE, for the busy timeout
and then again (app.db.begin_immediate); PostgreSQL writers meet on row locks and constraints.
"""

import logging
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from server import (
    WAIT,
    Server,
    at_once,
    client,
    expected_minutes,
    log_failures,
    module_database,
    row_counts,
    running_server,
    session_on,
    stored_minutes,
)
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.config import get_settings
from app.db import get_engine

from factories import make_durres_table, make_token, numbered_minutes

API = "/api/v1"


@pytest.fixture(
    scope="module",
    params=[("sqlite", 1), ("sqlite", 2), ("postgresql", 1), ("postgresql", 2)],
    ids=["sqlite-1-worker", "sqlite-2-workers", "postgresql-1-worker", "postgresql-2-workers"],
)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Session]]:
    """A real server on a database with Durrës's bodies and members, shared by this module.

    The tests number their documents apart, so they can share one server and database.
    """
    engine, workers = request.param
    directory = tmp_path_factory.mktemp(f"{engine}-{workers}")
    with module_database(request, engine, directory) as url, session_on(url) as session:
        make_durres_table(session)
        session.commit()
        with running_server(url, directory / "serve.log", workers=workers) as running:
            yield running, session


@pytest.fixture
def server(served: tuple[Server, Session]) -> Iterator[Server]:
    """The module's server; after each test, its log must show no 5xx and no lock error."""
    yield served[0]
    assert log_failures(served[0].log_text()) == []


@pytest.fixture
def store(served: tuple[Server, Session]) -> Session:
    """A session on the server's database, to count what it stored."""
    return served[1]


@pytest.mark.slow
def test_sixteen_clients_posting_the_same_minutes_make_one_meeting(
    server: Server, store: Session
) -> None:
    document = numbered_minutes(1000)
    before = row_counts(store)

    def post(_index: int, http: httpx2.Client, barrier: threading.Barrier) -> httpx2.Response:
        barrier.wait()
        return http.post(f"{API}/meetings", json=document)

    responses = at_once(16, post, server)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 15 + [201], [r.text for r in responses if r.status_code >= 300]
    assert len({r.json()["id"] for r in responses}) == 1
    newcomer = document["new_institutions"][0]["name"]
    assert stored_minutes(store, document["external_ref"], newcomer) == expected_minutes(document)
    after = row_counts(store)
    assert after["meeting"] == before["meeting"] + 1
    assert after["institution"] == before["institution"] + 1


@pytest.mark.slow
def test_eight_clients_posting_ten_distinct_minutes_each_lose_none(
    server: Server, store: Session
) -> None:
    secretariat = make_token(store, "secretariat", region="AL-02")
    store.commit()
    before = row_counts(store)

    def post_ten(index: int, http: httpx2.Client, barrier: threading.Barrier) -> list[int]:
        barrier.wait()
        return [
            http.post(
                f"{API}/meetings", json=numbered_minutes(index * 10 + n), headers=secretariat
            ).status_code
            for n in range(10)
        ]

    statuses = [status for batch in at_once(8, post_ten, server) for status in batch]

    assert statuses == [201] * 80
    after = row_counts(store)
    one = expected_minutes(numbered_minutes(0))
    for table, per_document in one.items():
        if table != "audit_event":  # each new institution is audited too
            assert after[table] - before[table] == 80 * per_document, table
    for number in range(80):
        document = numbered_minutes(number)
        newcomer = document["new_institutions"][0]["name"]
        assert stored_minutes(store, document["external_ref"], newcomer) == one


def _recommendation_ids(server: Server, number: int) -> list[int]:
    with client(server) as http:
        response = http.post(f"{API}/meetings", json=numbered_minutes(number))
        assert response.status_code == 201, response.text
        return [r["id"] for r in response.json()["recommendations"]]


def _history(http: httpx2.Client, recommendation_id: int) -> list[dict[str, Any]]:
    response = http.get(f"{API}/recommendations/{recommendation_id}/history?limit=200")
    assert response.status_code == 200
    return list(response.json()["items"])


@pytest.mark.slow
def test_concurrent_if_match_changes_admit_exactly_one(server: Server, store: Session) -> None:
    recommendation = _recommendation_ids(server, 2000)[0]
    url = f"{API}/recommendations/{recommendation}"
    secretariat = make_token(store, "secretariat", region="AL-02")
    store.commit()
    clients = 8

    def change(index: int, http: httpx2.Client, barrier: threading.Barrier) -> httpx2.Response:
        etag = http.get(url, headers=secretariat).headers["ETag"]
        barrier.wait()  # every client holds the same ETag
        change = (
            {"status": "in_progress", "due_on": f"2019-01-{index + 1:02d}"}
            if index % 2
            else {"status": "withdrawn", "note": f"Tërhequr nga klienti {index}."}
        )
        return http.patch(url, json=change, headers={**secretariat, "If-Match": etag})

    responses = at_once(clients, change, server)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * (clients - 1), [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 200)
    with client(server) as http:
        stored = http.get(url).json()
        history = _history(http, recommendation)
    assert stored == winner
    assert stored["version"] == 2
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "open"),
        ("open", winner["status"]),
    ]


@pytest.mark.slow
def test_clients_retrying_on_412_apply_every_change_once(server: Server, store: Session) -> None:
    recommendation = _recommendation_ids(server, 3000)[1]
    url = f"{API}/recommendations/{recommendation}"
    clients, steps = 8, 3

    def change_until_applied(
        index: int, http: httpx2.Client, barrier: threading.Barrier
    ) -> list[int]:
        barrier.wait()
        statuses: list[int] = []
        for step in range(steps):
            for _attempt in range(200):
                current = http.get(url)
                assert current.status_code == 200
                # Each step moves the workflow on from whatever this client just read.
                status = current.json()["status"]
                target = "implemented" if status == "in_progress" else "in_progress"
                response = http.patch(
                    url,
                    json={"status": target, "note": f"klienti {index} hapi {step}"},
                    headers={"If-Match": current.headers["ETag"]},
                )
                statuses.append(response.status_code)
                if response.status_code != 412:
                    break
        return statuses

    outcomes = at_once(clients, change_until_applied, server)

    every = [status for statuses in outcomes for status in statuses]
    assert set(every) <= {200, 412}, every
    assert every.count(200) == clients * steps
    with client(server) as http:
        stored = http.get(url).json()
        history = _history(http, recommendation)
    assert stored["version"] == 1 + clients * steps
    changes = history[1:]
    assert sorted(h["note"] for h in changes) == sorted(
        f"klienti {i} hapi {s}" for i in range(clients) for s in range(steps)
    )
    # One unbroken chain: each change starts from the status the previous one left.
    assert [h["from_status"] for h in history[1:]] == [h["to_status"] for h in history[:-1]]
    assert history[-1]["to_status"] == stored["status"]


def test_a_server_log_shows_any_lock_error_or_5xx() -> None:
    # The fixture's last check relies on this reading of the log.
    lines = [
        "krat-tracker on http://localhost:8000",
        '{"level": "INFO", "logger": "krat.access", "msg": "request", "status": 201}',
        '{"level": "ERROR", "logger": "uvicorn.error", "msg": "Exception in ASGI application"}',
        '{"level": "INFO", "logger": "krat.access", "msg": "request", "status": 503}',
        "sqlite3.OperationalError: database is locked",
    ]
    assert log_failures("\n".join(lines)) == lines[2:]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_writer_locked_out_past_the_busy_timeout_waits_again(
    configured: str, db: Session, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_durres_table(db)
    db.commit()
    monkeypatch.setenv("KRAT_SQLITE_BUSY_TIMEOUT_MS", "50")
    get_settings.cache_clear()
    get_engine().dispose()
    get_engine.cache_clear()
    from app.main import create_app

    waited_once = threading.Event()
    flag = _Flag(waited_once)
    logging.getLogger("krat.db").addHandler(flag)
    # Another process's writer holds the lock until this one has waited a whole busy timeout.
    holder = sqlite3.connect(make_url(configured).database or "", check_same_thread=False)
    holder.isolation_level = None
    holder.execute("BEGIN IMMEDIATE")

    def release() -> None:
        waited_once.wait(timeout=WAIT)
        holder.execute("COMMIT")

    releaser = threading.Thread(target=release)
    releaser.start()
    try:
        with TestClient(create_app()) as http:
            response = http.post(f"{API}/meetings", json=numbered_minutes(1), headers=admin)
    finally:
        releaser.join(timeout=WAIT)
        holder.close()
        logging.getLogger("krat.db").removeHandler(flag)

    assert waited_once.is_set()
    assert response.status_code == 201, response.text
    assert stored_minutes(db, "DR-TT-N00001", "Qendra Komunitare Nr. 1 Durrës") == (
        expected_minutes(numbered_minutes(1))
    )


class _Flag(logging.Handler):
    """Set an event when the database layer logs that it waits again for the write lock."""

    def __init__(self, event: threading.Event) -> None:
        super().__init__()
        self.event = event

    def emit(self, record: logging.LogRecord) -> None:
        self.event.set()
