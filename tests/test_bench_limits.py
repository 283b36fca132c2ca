"""The benchmark's baselines compute what the service serves: LIMIT-B's pages, the raw CSV.

bench/README.md reports the service as ratios to these baselines; a baseline that skipped part
of the work (a join, the total, the responsible institutions' order) would flatter nobody but
make every ratio wrong. No timing is asserted here.
"""

import csv
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app import demo
from app.demo.synthetic import generate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import floors
from bench.limits import Pages, connect

LIST = "/api/v1/recommendations"


@pytest.fixture
def pages(configured: str, db: Session) -> Iterator[Pages]:
    """LIMIT-B on the test database, after the demo data and 400 synthetic recommendations."""
    demo.load_all(db)
    generate(db, recommendations=400, seed=11)
    db.commit()
    connection = connect(configured)()
    try:
        yield Pages(configured, connection=connection)
    finally:
        connection.close()


def _service(client: TestClient, admin: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get(LIST, params=params, headers=admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _limit_b(pages: Pages, **params: Any) -> dict[str, Any]:
    status = params.pop("status", [])
    return dict(orjson.loads(pages.page(status=list(status), **params)))


def test_limit_b_walks_the_open_list_page_by_page_exactly_as_the_service(
    client: TestClient, admin: dict[str, str], pages: Pages
) -> None:
    cursor = None
    walked = 0
    undated = 0
    while True:
        params: dict[str, Any] = {"status": "open", "limit": 50}
        if cursor:
            params["cursor"] = cursor
        served = _service(client, admin, **params)
        computed = _limit_b(pages, status=["open"], limit=50, cursor=cursor)
        assert computed == served
        walked += len(served["items"])
        undated += sum(item["due_on"] is None for item in served["items"])
        cursor = served["next_cursor"]
        if cursor is None:
            break
    assert walked == served["total"] > 100
    assert undated > 0, "the walk crossed into the recommendations without a due date"


@pytest.mark.parametrize(
    "params",
    [
        {"status": ["open"], "region": "AL-02", "overdue": True},
        {"status": ["open"], "overdue": False, "limit": 200},
        {"status": ["open", "in_progress"], "limit": 120},
        {"region": "AL-11", "limit": 30},
        {"status": ["implemented"], "region": "AL-03", "overdue": True},
    ],
    ids=["region-overdue", "not-overdue", "two-statuses", "no-status", "empty"],
)
def test_limit_b_filters_exactly_as_the_service(
    client: TestClient, admin: dict[str, str], pages: Pages, params: dict[str, Any]
) -> None:
    query = {**params}
    if "overdue" in query:
        query["overdue"] = str(query["overdue"]).lower()
    served = _service(client, admin, **query)
    assert _limit_b(pages, **params) == served
    if served["next_cursor"]:
        query["cursor"] = served["next_cursor"]
        assert _limit_b(pages, **params, cursor=served["next_cursor"]) == _service(
            client, admin, **query
        )


def test_limit_b_prime_caches_totals_by_data_revision_and_recounts_after_a_write(
    client: TestClient, admin: dict[str, str], pages: Pages, configured: str
) -> None:
    connection = connect(configured)()
    cached = Pages(configured, connection=connection, cache_totals=True)
    try:
        assert _limit_b(cached, status=["open"]) == _service(client, admin, status="open")
        document = floors.benchmark_document(configured, "BENCH-TEST-WRITE")
        response = client.post("/api/v1/meetings", json=document, headers=admin)
        assert response.status_code == 201, response.text
        served = _service(client, admin, status="open")
        assert _limit_b(cached, status=["open"]) == served
        assert _limit_b(pages, status=["open"])["total"] == served["total"]
    finally:
        connection.close()


def test_raw_csv_floor_writes_the_services_export_byte_for_byte(
    client: TestClient, admin: dict[str, str], pages: Pages, configured: str
) -> None:
    response = client.get(LIST, params={"format": "csv"}, headers=admin)
    assert response.status_code == 200
    out = io.BytesIO()
    rows = floors.write_csv(configured, out)
    assert out.getvalue() == response.content
    assert rows == len(list(csv.reader(io.StringIO(response.text)))) - 1 > 400


def test_raw_minutes_floor_stores_what_the_service_stores_for_the_same_document(
    client: TestClient, admin: dict[str, str], pages: Pages, configured: str
) -> None:
    document = floors.benchmark_document(configured, "BENCH-TEST-API")
    response = client.post("/api/v1/meetings", json=document, headers=admin)
    assert response.status_code == 201, response.text
    floors.insert_minutes(configured, ["BENCH-TEST-RAW"], document)
    assert floors.stored_shape(configured, "BENCH-TEST-RAW") == floors.stored_shape(
        configured, "BENCH-TEST-API"
    )
    assert floors.delete_benchmark_meetings(configured, "BENCH-TEST-") == 2
    assert floors.stored_shape(configured, "BENCH-TEST-API") is None
