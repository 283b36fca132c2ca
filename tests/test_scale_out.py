"""Two `krat serve` processes on one PostgreSQL database, writers on both: one result.

This is how a deployment grows past one machine, so it is tested here: the database's
constraints and row locks, not any process's memory, keep the record whole. Only the token
cache is per process, and a revoked token stops working everywhere within its 5 seconds.
"""

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from server import (
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
from sqlalchemy import text
from sqlmodel import Session

from app.auth import TOKEN_CACHE_SECONDS

from factories import make_durres_table, numbered_minutes

pytestmark = pytest.mark.slow

API = "/api/v1"


@pytest.fixture(scope="module")
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server, Session]]:
    """Two servers on one PostgreSQL database with Durrës's bodies and members."""
    directory = tmp_path_factory.mktemp("scale-out")
    with module_database(request, "postgresql", directory) as url, session_on(url) as session:
        make_durres_table(session)
        session.commit()
        with (
            running_server(url, directory / "first.log") as first,
            running_server(url, directory / "second.log") as second,
        ):
            yield first, second, session


@pytest.fixture
def servers(pair: tuple[Server, Server, Session]) -> Iterator[tuple[Server, Server]]:
    """Both servers; after each test, neither log may show a 5xx or an error."""
    first, second, _ = pair
    yield first, second
    assert log_failures(first.log_text()) == []
    assert log_failures(second.log_text()) == []


@pytest.fixture
def store(pair: tuple[Server, Server, Session]) -> Session:
    """A session on the shared database, to count what the servers stored."""
    return pair[2]


def duplicates(session: Session) -> list[Any]:
    """Return every (body, external_ref) stored more than once."""
    session.rollback()
    rows = session.execute(
        text(
            "SELECT body_id, external_ref, count(*) FROM meeting "
            "GROUP BY body_id, external_ref HAVING count(*) > 1"
        )
    ).all()
    session.rollback()
    return list(rows)


def test_the_same_minutes_posted_to_both_servers_at_once_make_one_meeting(
    servers: tuple[Server, Server], store: Session
) -> None:
    before = row_counts(store)
    for round_ in range(4):
        document = numbered_minutes(100 + round_)

        def post(
            _index: int, http: httpx2.Client, barrier: threading.Barrier, document: Any = document
        ) -> httpx2.Response:
            barrier.wait()
            return http.post(f"{API}/meetings", json=document)

        responses = at_once(16, post, *servers)

        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * 15 + [201], [r.text for r in responses if r.status_code > 201]
        assert len({r.json()["id"] for r in responses}) == 1
        newcomer = document["new_institutions"][0]["name"]
        assert stored_minutes(store, document["external_ref"], newcomer) == (
            expected_minutes(document)
        )
    assert duplicates(store) == []
    assert row_counts(store)["meeting"] == before["meeting"] + 4


def test_distinct_minutes_split_across_both_servers_are_all_kept(
    servers: tuple[Server, Server], store: Session
) -> None:
    before = row_counts(store)

    def post_ten(index: int, http: httpx2.Client, barrier: threading.Barrier) -> list[int]:
        barrier.wait()
        return [
            http.post(f"{API}/meetings", json=numbered_minutes(1000 + index * 10 + n)).status_code
            for n in range(10)
        ]

    statuses = [s for batch in at_once(8, post_ten, *servers) for s in batch]

    assert statuses == [201] * 80
    assert duplicates(store) == []
    after = row_counts(store)
    for table, per_document in expected_minutes(numbered_minutes(0)).items():
        share = 2 if table == "audit_event" else per_document  # the meeting's and newcomer's
        assert after[table] - before[table] == 80 * share, table


def test_if_match_changes_split_across_both_servers_lose_no_update(
    servers: tuple[Server, Server],
) -> None:
    first, _ = servers
    with client(first) as http:
        created = http.post(f"{API}/meetings", json=numbered_minutes(2000))
        assert created.status_code == 201
        racing, retrying = (r["id"] for r in created.json()["recommendations"][:2])

    url = f"{API}/recommendations/{racing}"

    def change_once(index: int, http: httpx2.Client, barrier: threading.Barrier) -> int:
        etag = http.get(url).headers["ETag"]
        barrier.wait()  # every client, on either server, holds the same ETag
        change = {"status": "withdrawn", "note": f"Tërhequr nga klienti {index}."}
        return http.patch(url, json=change, headers={"If-Match": etag}).status_code

    assert sorted(at_once(8, change_once, *servers)) == [200] + [412] * 7
    with client(first) as http:
        history = http.get(f"{url}/history").json()["items"]
        assert http.get(url).json()["version"] == 2
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "open"),
        ("open", "withdrawn"),
    ]

    url = f"{API}/recommendations/{retrying}"
    clients, steps = 8, 3

    def change_until_applied(index: int, http: httpx2.Client, barrier: threading.Barrier) -> int:
        barrier.wait()
        refused = 0
        for step in range(steps):
            for _attempt in range(200):
                current = http.get(url)
                status = current.json()["status"]
                target = "implemented" if status == "in_progress" else "in_progress"
                response = http.patch(
                    url,
                    json={"status": target, "note": f"klienti {index} hapi {step}"},
                    headers={"If-Match": current.headers["ETag"]},
                )
                if response.status_code == 200:
                    break
                assert response.status_code == 412, response.text
                refused += 1
            else:
                pytest.fail("a client never got its change in")
        return refused

    at_once(clients, change_until_applied, *servers)

    with client(first) as http:
        stored = http.get(url).json()
        history = http.get(f"{url}/history", params={"limit": 200}).json()["items"]
    assert stored["version"] == 1 + clients * steps
    assert sorted(h["note"] for h in history[1:]) == sorted(
        f"klienti {i} hapi {s}" for i in range(clients) for s in range(steps)
    )
    assert [h["from_status"] for h in history[1:]] == [h["to_status"] for h in history[:-1]]


def test_a_token_revoked_through_one_server_stops_working_on_the_other(
    servers: tuple[Server, Server],
) -> None:
    first, second = servers
    with client(first) as admin_http:
        created = admin_http.post(
            f"{API}/tokens",
            json={"name": "sekretariati-durres-skalim", "role": "secretariat", "region": "AL-02"},
        )
        assert created.status_code == 201, created.text
        token = created.json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        with httpx2.Client(base_url=second.url, timeout=10) as other:
            assert other.get(f"{API}/regions", headers=bearer).status_code == 200  # cached now

            revoked = admin_http.delete(f"{API}/tokens/{created.json()['id']}")
            assert revoked.status_code == 204
            # The process that revoked it refuses it at once.
            assert admin_http.get(f"{API}/regions", headers=bearer).status_code == 401

            deadline = time.monotonic() + TOKEN_CACHE_SECONDS + 2
            statuses = []
            while time.monotonic() < deadline:
                statuses.append(other.get(f"{API}/regions", headers=bearer).status_code)
                if statuses[-1] == 401:
                    break
                time.sleep(0.2)
    assert statuses[-1] == 401, f"still accepted {len(statuses)} times after the revocation"
    assert set(statuses) <= {200, 401}
