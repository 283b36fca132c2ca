"""Every error is RFC 9457 problem details; a bad document gets all its problems at once."""

import logging
import sys
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.errors import validation_problems
from app.observability import JsonFormatter

from factories import make_body

PROBLEM = "application/problem+json"


def _assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"]
    assert "detail" in body
    return body


def test_bad_institution_document_reports_every_problem_with_a_pointer(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/institutions",
        json={"kind": "bashkia", "region": "Durrës", "colour": "blue"},
        headers=admin,
    )

    body = _assert_problem(response, 422)
    assert body["detail"] == "4 problems in the request"
    by_pointer = {e["pointer"]: e["detail"] for e in body["errors"]}
    assert set(by_pointer) == {"/name", "/kind", "/region", "/colour"}
    assert by_pointer["/name"] == "is required"
    assert by_pointer["/colour"] == "is not a field of this document"
    assert "police" in by_pointer["/kind"]
    # The rejected values are not echoed back.
    assert "bashkia" not in response.text
    assert "blue" not in response.text


def test_unknown_field_in_a_patch_is_rejected(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    body = make_body(db, kind="committee", region="AL-02")
    db.commit()

    response = client.patch(
        f"/api/v1/bodies/{body.id}", json={"name": "KRAT Durrës", "chair": "x"}, headers=admin
    )

    problem = _assert_problem(response, 422)
    assert problem["errors"] == [{"pointer": "/chair", "detail": "is not a field of this document"}]
    assert client.get(f"/api/v1/bodies/{body.id}", headers=admin).json()["name"] == body.name


def test_problems_inside_a_list_document_point_at_the_item(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    body = make_body(db, kind="committee", region="AL-02")
    db.commit()

    response = client.put(
        f"/api/v1/bodies/{body.id}/members",
        json=[
            {"institution": "Bashkia Durrës", "seat": 1},
            {"institution": 1.5},
            {"institution": "Bashkia Shijak", "role": "boss", "since": "2018-02-30"},
        ],
        headers=admin,
    )

    problem = _assert_problem(response, 422)
    pointers = [e["pointer"] for e in problem["errors"]]
    assert sorted(pointers) == ["/0/seat", "/1/institution", "/2/role", "/2/since"]


def test_invalid_json_is_a_problem_about_the_whole_document(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/institutions",
        content=b'{"name": "Bashkia Durr',
        headers={**admin, "Content-Type": "application/json"},
    )

    problem = _assert_problem(response, 422)
    assert [e["pointer"] for e in problem["errors"]] == [""]


def test_query_parameter_problems_name_the_parameter(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.get(
        "/api/v1/institutions",
        params={"region": "AL-13", "kind": "bashkia", "limit": "many"},
        headers=admin,
    )

    problem = _assert_problem(response, 422)
    assert {e["parameter"] for e in problem["errors"]} == {"region", "kind", "limit"}
    assert all("pointer" not in e for e in problem["errors"])


def test_unknown_id_is_a_404_problem(client: TestClient, admin: dict[str, str]) -> None:
    for path in ("/api/v1/institutions/999999", "/api/v1/bodies/999999"):
        problem = _assert_problem(client.get(path, headers=admin), 404)
        assert problem["type"].endswith("/not-found")


def test_unknown_route_is_a_404_problem(client: TestClient, admin: dict[str, str]) -> None:
    problem = _assert_problem(client.get("/api/v1/no-such-thing", headers=admin), 404)
    assert problem["type"].endswith("/not-found")


def test_wrong_method_is_a_405_problem(client: TestClient, admin: dict[str, str]) -> None:
    response = client.delete("/api/v1/institutions", headers=admin)
    _assert_problem(response, 405)
    assert "GET" in response.headers["allow"]


def test_unknown_region_in_a_document_is_a_problem(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/bodies",
        json={"kind": "committee", "region": "AL-13", "name": "KRAT"},
        headers=admin,
    )
    problem = _assert_problem(response, 422)
    assert [e["pointer"] for e in problem["errors"]] == ["/region"]


SECRET = "Viktima Arbëri nga Durrësi"


@pytest.fixture
def failing_client(configured: str) -> Iterator[TestClient]:
    """A client of an application with one extra route that fails with stored text."""
    from app.main import create_app

    app = create_app()

    def explode() -> None:
        raise RuntimeError(f"could not store {SECRET!r}")

    app.add_api_route("/api/v1/explode", explode)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_unexpected_error_is_a_500_problem_without_trace_or_text(
    failing_client: TestClient,
) -> None:
    response = failing_client.get("/api/v1/explode", headers={"X-Request-ID": "req-500"})

    problem = _assert_problem(response, 500)
    assert SECRET not in response.text
    assert "RuntimeError" not in response.text
    assert "Traceback" not in response.text
    assert "explode" not in problem["detail"]
    # Even a crash is traceable and carries the security headers.
    assert response.headers["x-request-id"] == "req-500"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_unexpected_error_log_carries_no_text(
    failing_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    failing_client.get("/api/v1/explode")
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1
    assert errors[0].error_type == "RuntimeError"  # type: ignore[attr-defined]
    for record in caplog.records:
        # What the service writes: one JSON line per record, whatever the record carries.
        assert SECRET not in JsonFormatter().format(record)


def test_union_member_tags_never_reach_the_pointer() -> None:
    errors = [
        {"type": "int_from_float", "loc": ("body", 1, "institution", "int"), "msg": "x"},
        {"type": "string_type", "loc": ("body", 1, "institution", "constrained-str"), "msg": "y"},
    ]
    assert validation_problems(errors) == [
        {"pointer": "/1/institution", "detail": "must be a whole number, or must be text"}
    ]


def test_log_lines_never_carry_a_traceback() -> None:
    # The server logs "Exception in ASGI application" with the exception attached; the
    # exception's message can quote stored text, so the log line must leave it out.
    try:
        raise RuntimeError(f"could not store {SECRET!r}")
    except RuntimeError:
        record = logging.getLogger("uvicorn.error").makeRecord(
            "uvicorn.error",
            logging.ERROR,
            __file__,
            1,
            "Exception in ASGI application",
            None,
            sys.exc_info(),
        )
    line = JsonFormatter().format(record)
    assert "Exception in ASGI application" in line
    assert SECRET not in line
    assert "Traceback" not in line
