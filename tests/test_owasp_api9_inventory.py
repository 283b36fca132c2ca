"""OWASP API9:2023, improper inventory management: the schema is the whole API, and honest.

Every route the application answers is in `/openapi.json` (the docs routes aside) and every
operation there is a route; each says what it does and documents its errors with an example:
401 wherever a token is needed, 403 on writes and admin-only reads, 404 exactly where a path
names a record, 412 exactly where `If-Match` is taken, 413 and 422 where a body or parameters
are read, 409 on the writes that can conflict; and no error it cannot answer. The schemathesis
run (`tests/test_schemathesis.py`) checks the other direction: that what the service answers
is what is documented.
"""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from owasp_world import PUBLIC_PATHS, WRITE_METHODS, app_routes

from app.main import create_app

APP = create_app()
SCHEMA = APP.openapi()
DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect"}
OPERATIONS = {
    f"{method.upper()} {path}": operation
    for path, operations in SCHEMA["paths"].items()
    for method, operation in operations.items()
}
PROTECTED = [key for key in OPERATIONS if key.split(" ", 1)[1] not in PUBLIC_PATHS]
ADMIN_ONLY_READS = {"GET /api/v1/tokens", "GET /api/v1/audit-events"}
# Writes that can collide with what is stored: a duplicate name or key, an overlapping plan, an
# illegal workflow step, different minutes under the same external_ref.
CONFLICTING = {
    "POST /api/v1/institutions",
    "PATCH /api/v1/institutions/{institution_id}",
    "POST /api/v1/bodies",
    "PATCH /api/v1/bodies/{body_id}",
    "POST /api/v1/meetings",
    "PUT /api/v1/meetings/{meeting_id}",
    "POST /api/v1/tokens",
    "PATCH /api/v1/recommendations/{recommendation_id}",
    "POST /api/v1/recommendations/{recommendation_id}/follow-ups",
    "POST /api/v1/action-plans",
}


def _parameters(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"].lower(): p for p in operation.get("parameters", [])}


def test_every_route_of_the_app_is_in_the_schema_and_nothing_else() -> None:
    served = {route.key for route in app_routes(APP) if route.path not in DOCS}

    assert served == set(OPERATIONS)


def test_no_route_is_hidden_from_the_schema() -> None:
    hidden = [
        route.key
        for route in app_routes(APP)
        if route.path not in DOCS and (route.route is None or not route.route.include_in_schema)
    ]
    assert hidden == []


@pytest.mark.parametrize("key", list(OPERATIONS))
def test_every_operation_says_what_it_does(key: str) -> None:
    operation = OPERATIONS[key]

    assert operation.get("summary", "").strip()
    assert operation.get("description", "").strip()
    assert operation.get("tags")


def _documented(key: str) -> set[int]:
    return {int(status) for status in OPERATIONS[key]["responses"]}


def _required_errors(key: str) -> set[int]:
    method, path = key.split(" ", 1)
    operation = OPERATIONS[key]
    parameters = _parameters(operation)
    required: set[int] = set()
    if key in PROTECTED:
        required.add(401)
    if method in WRITE_METHODS or key in ADMIN_ONLY_READS:
        required.add(403)
    if "{" in path:
        required.add(404)
    if "if-match" in parameters:
        required.add(412)
    if "requestBody" in operation:
        required |= {413, 422}
    if parameters:
        required.add(422)
    if key in CONFLICTING:
        required.add(409)
    return required


@pytest.mark.parametrize("key", list(OPERATIONS))
def test_every_operation_documents_its_errors(key: str) -> None:
    missing = _required_errors(key) - _documented(key)

    assert missing == set()


@pytest.mark.parametrize("key", list(OPERATIONS))
def test_no_operation_documents_an_error_it_cannot_answer(key: str) -> None:
    operation = OPERATIONS[key]
    method, path = key.split(" ", 1)

    assert (412 in _documented(key)) == ("if-match" in _parameters(operation))
    assert (404 in _documented(key)) == ("{" in path)
    if 403 in _documented(key):
        assert method in WRITE_METHODS or key in ADMIN_ONLY_READS
    if 304 in _documented(key):
        assert method == "GET"


@pytest.mark.parametrize("key", PROTECTED)
def test_every_error_response_is_a_problem_with_an_example(key: str) -> None:
    for status, response in OPERATIONS[key]["responses"].items():
        if not 400 <= int(status) < 600:
            continue
        content = response.get("content", {})
        assert list(content) == ["application/problem+json"], (status, list(content))
        problem = content["application/problem+json"]
        assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}, status
        example = problem.get("example") or next(iter(problem.get("examples", {}).values()))
        assert example["status"] == int(status), status
        assert example["type"].startswith("https://krat.example/problems/"), status


def test_the_list_of_conflicting_writes_names_real_operations() -> None:
    assert set(ADMIN_ONLY_READS) <= set(OPERATIONS)
    assert set(CONFLICTING) <= set(OPERATIONS)


def test_the_served_schema_is_the_one_the_app_builds(client: TestClient) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200
    assert set(response.json()["paths"]) == set(SCHEMA["paths"])
