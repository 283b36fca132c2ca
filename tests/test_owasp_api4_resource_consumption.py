"""OWASP API4:2023, unrestricted resource consumption: every input a client sends is bounded.

The schema says so field by field (walked here over every operation of the app, so a new
unbounded string, list or number fails), and the service holds to it: bodies over
KRAT_MAX_BODY_BYTES are refused with 413, over-long lists and strings with 422 pointing at
them, `limit` above 200, over-long cursors and search terms with 422 naming the parameter;
numbers no database column can hold, and JSON nested past reason, are 422s too, never 500s.
Chunked bodies and a small configured limit: `tests/test_operations.py`. Exports have no
row cap by design: they stream, in chunks (`tests/test_recommendation_exports.py`).
"""

import base64
import re
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from owasp_world import database_fingerprint, plan_document

from app.main import create_app
from app.schemas import MAX_ID

from factories import minutes_document

SCHEMA = create_app().openapi()
COMPONENTS = SCHEMA["components"]["schemas"]
OPERATIONS = [
    (method.upper(), path, operation)
    for path, operations in SCHEMA["paths"].items()
    for method, operation in operations.items()
]
LISTS = [
    f"{m} {p}"
    for m, p, op in OPERATIONS
    if "limit" in {x["name"] for x in op.get("parameters", [])}
]
SEARCHES = [
    f"{m} {p}" for m, p, op in OPERATIONS if "q" in {x["name"] for x in op.get("parameters", [])}
]
ID_PATHS = [f"{m} {p}" for m, p, _ in OPERATIONS if "{" in p]
# A pattern bounds a string when it is anchored and repeats nothing without an upper bound.
BOUNDED_PATTERN = re.compile(r"^\^[^*+]*\$$")


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _unbounded(schema: dict[str, Any], where: str) -> list[str]:
    """Every place in `schema` where a client could send something of unlimited size."""
    schema = _resolve(schema)
    found: list[str] = []
    alternatives = schema.get("anyOf", []) + schema.get("oneOf", [])
    types = {_resolve(a).get("type") for a in alternatives}
    for alternative in alternatives:
        alternative = _resolve(alternative)
        # A decimal is a number or its text; the number's bounds and digits hold for both.
        if alternative.get("type") == "string" and types == {"number", "string"}:
            continue
        found += _unbounded(alternative, where)
    kind = schema.get("type")
    if kind == "string" and not (
        "maxLength" in schema
        or "enum" in schema
        or "const" in schema
        or schema.get("format") in {"date", "date-time"}
        or BOUNDED_PATTERN.match(schema.get("pattern", ""))
    ):
        found.append(f"{where}: a string without maxLength")
    if kind == "array":
        items = _resolve(schema.get("items", {}))
        if "maxItems" not in schema and "enum" not in items:
            found.append(f"{where}: a list without maxItems")
        found += _unbounded(items, f"{where}/*")
    if kind in {"integer", "number"} and "maximum" not in schema:
        found.append(f"{where}: a number without maximum")
    for name, value in schema.get("properties", {}).items():
        found += _unbounded(value, f"{where}/{name}")
    return found


def test_every_string_list_and_number_a_client_sends_is_bounded() -> None:
    found = []
    for method, path, operation in OPERATIONS:
        for parameter in operation.get("parameters", []):
            found += _unbounded(parameter["schema"], f"{method} {path} {parameter['name']}")
        body = operation.get("requestBody")
        if body:
            schema = body["content"]["application/json"]["schema"]
            found += _unbounded(schema, f"{method} {path} body")
    assert found == []
    assert len(LISTS) >= 12 and len(SEARCHES) >= 4 and len(ID_PATHS) >= 20


def _problem_at(response: Any, where: str, detail: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    kind = "pointer" if where.startswith("/") or where == "" else "parameter"
    assert {kind: where, "detail": detail} in response.json()["errors"], response.json()


def test_a_body_over_the_default_limit_is_refused_with_413(
    client: TestClient, admin: dict[str, str]
) -> None:
    minutes = minutes_document(summary="Përmbledhje. " * 90_000)
    before = database_fingerprint()

    response = client.post("/api/v1/meetings", json=minutes, headers=admin)

    assert response.status_code == 413
    assert response.json()["detail"].endswith("limit of 1048576 bytes")
    assert database_fingerprint() == before


def _representatives(count: int) -> dict[str, Any]:
    attendee = {"institution": "ZVAP", "representatives": [{"name": "Përfaqësues"}] * count}
    return minutes_document(attendees=[attendee])


def _responsible(count: int) -> dict[str, Any]:
    document = minutes_document()
    document["recommendations"][0]["responsible"] = [{"institution": i + 1} for i in range(count)]
    return document


def _recommendations(count: int) -> dict[str, Any]:
    item = {"text": "Rekomandim.", "responsible": [{"institution": "ZVAP"}]}
    return minutes_document(
        recommendations=[{**item, "key": f"r{i}"} for i in range(count)], problems=[]
    )


def _objectives(count: int) -> dict[str, Any]:
    objective = plan_document("2018-01-01")["objectives"][0]
    return plan_document(
        "2018-01-01", objectives=[{**objective, "code": str(i)} for i in range(count)]
    )


def _activities(count: int) -> dict[str, Any]:
    document = plan_document("2018-01-01")
    activity = document["objectives"][0]["activities"][0]
    document["objectives"][0]["activities"] = [{**activity, "code": f"1.{i}"} for i in range(count)]
    return document


LONG_LISTS: dict[str, tuple[str, str, Any, str, int]] = {
    "201 attendees": (
        "POST",
        "/api/v1/meetings",
        minutes_document(attendees=[{"institution": "ZVAP"}] * 201),
        "/attendees",
        200,
    ),
    "501 recommendations": (
        "POST",
        "/api/v1/meetings",
        _recommendations(501),
        "/recommendations",
        500,
    ),
    "201 problems": (
        "POST",
        "/api/v1/meetings",
        minutes_document(
            problems=[{"key": f"p{i}", "theme": "other", "title": "P"} for i in range(201)]
        ),
        "/problems",
        200,
    ),
    "51 agenda items": (
        "POST",
        "/api/v1/meetings",
        minutes_document(agenda=["Pika"] * 51),
        "/agenda",
        50,
    ),
    "51 new institutions": (
        "POST",
        "/api/v1/meetings",
        minutes_document(new_institutions=[{"name": "OJF", "kind": "ngo"}] * 51),
        "/new_institutions",
        50,
    ),
    "21 representatives": (
        "POST",
        "/api/v1/meetings",
        _representatives(21),
        "/attendees/0/representatives",
        20,
    ),
    "21 responsible institutions": (
        "POST",
        "/api/v1/meetings",
        _responsible(21),
        "/recommendations/0/responsible",
        20,
    ),
    "201 members": (
        "PUT",
        "/api/v1/bodies/1/members",
        [{"institution": i + 1, "role": "member"} for i in range(201)],
        "",
        200,
    ),
    "51 objectives": ("POST", "/api/v1/action-plans", _objectives(51), "/objectives", 50),
    "101 activities": (
        "POST",
        "/api/v1/action-plans",
        _activities(101),
        "/objectives/0/activities",
        100,
    ),
    "501 activity edits": (
        "PATCH",
        "/api/v1/action-plans/1",
        {"activities": [{"id": i + 1, "title": "A"} for i in range(501)]},
        "/activities",
        500,
    ),
}


@pytest.mark.parametrize("case", list(LONG_LISTS))
def test_over_long_lists_are_refused_with_a_pointer(
    client: TestClient, admin: dict[str, str], case: str
) -> None:
    method, path, document, where, most = LONG_LISTS[case]
    before = database_fingerprint()

    response = client.request(method, path, json=document, headers=admin)

    _problem_at(response, where, f"must have at most {most} items")
    assert database_fingerprint() == before


def _long_text(count: int) -> dict[str, Any]:
    document = minutes_document()
    document["recommendations"][0]["text"] = "a" * count
    return document


LONG_STRINGS: dict[str, tuple[str, str, Any, str, int]] = {
    "a 5,001-character recommendation": (
        "POST",
        "/api/v1/meetings",
        _long_text(5001),
        "/recommendations/0/text",
        5000,
    ),
    "a 20,001-character summary": (
        "POST",
        "/api/v1/meetings",
        minutes_document(summary="a" * 20_001),
        "/summary",
        20000,
    ),
    "a 301-character title": (
        "POST",
        "/api/v1/meetings",
        minutes_document(title="a" * 301),
        "/title",
        300,
    ),
    "a 201-character institution name": (
        "POST",
        "/api/v1/institutions",
        {"name": "a" * 201, "kind": "ngo", "region": "AL-02"},
        "/name",
        200,
    ),
    "a 4,001-character follow-up": (
        "POST",
        "/api/v1/recommendations/1/follow-ups",
        {"reported_on": "2018-01-15", "institution": 1, "description": "a" * 4001},
        "/description",
        4000,
    ),
}


@pytest.mark.parametrize("case", list(LONG_STRINGS))
def test_over_long_strings_are_refused_with_a_pointer(
    client: TestClient, admin: dict[str, str], case: str
) -> None:
    method, path, document, where, most = LONG_STRINGS[case]

    response = client.request(method, path, json=document, headers=admin)

    _problem_at(response, where, f"must be at most {most} characters")


def _get(client: TestClient, route: str, query: str, admin: dict[str, str]) -> Any:
    method, path = route.split(" ", 1)
    assert method == "GET"
    return client.get(re.sub(r"\{[^}]+\}", "1", path) + query, headers=admin)


def test_every_list_refuses_a_limit_over_200_and_an_over_long_cursor(
    client: TestClient, admin: dict[str, str]
) -> None:
    for route in LISTS:
        _problem_at(_get(client, route, "?limit=201", admin), "limit", "must be ≤ 200")
        _problem_at(
            _get(client, route, "?cursor=" + "A" * 501, admin),
            "cursor",
            "must be at most 500 characters",
        )


def test_every_search_refuses_an_over_long_term(client: TestClient, admin: dict[str, str]) -> None:
    for route in SEARCHES:
        _problem_at(
            _get(client, route, "?q=" + "ë" * 201, admin), "q", "must be at most 200 characters"
        )


def test_ids_no_database_column_can_hold_are_refused(
    client: TestClient, admin: dict[str, str]
) -> None:
    too_big = str(2**63)
    for route in ID_PATHS:
        method, path = route.split(" ", 1)
        parameter = re.search(r"\{([^}]+)\}", path)
        assert parameter
        response = client.request(
            method,
            re.sub(r"\{[^}]+\}", too_big, path, count=1).replace("{follow_up_id}", "1"),
            headers=admin,
        )
        _problem_at(response, parameter.group(1), f"must be ≤ {MAX_ID}")
    response = client.get(f"/api/v1/recommendations?institution={MAX_ID + 1}", headers=admin)
    _problem_at(response, "institution", f"must be ≤ {MAX_ID}")
    document = minutes_document(attendees=[{"institution": 2**70}])
    response = client.post("/api/v1/meetings", json=document, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/attendees/0/institution"


def test_json_nested_past_reason_is_a_422_not_a_crash(
    client: TestClient, admin: dict[str, str]
) -> None:
    deep = b"[" * 200_000 + b"]" * 200_000

    response = client.post(
        "/api/v1/institutions",
        content=deep,
        headers={**admin, "Content-Type": "application/json"},
    )

    _problem_at(response, "", "is not valid JSON (UTF-8)")


def test_a_body_that_is_not_utf8_is_a_422(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/institutions",
        content=b'{"name": "Bashkia Durr\xebs", "kind": "municipality"}',
        headers={**admin, "Content-Type": "application/json"},
    )

    _problem_at(response, "", "is not valid JSON (UTF-8)")


def test_text_with_nul_characters_is_refused_on_both_engines(
    client: TestClient, admin: dict[str, str]
) -> None:
    """PostgreSQL cannot store NUL; SQLite would store what PostgreSQL refuses. Neither does."""
    before = database_fingerprint()
    institution = {"name": "Bashkia\x00 Durrës", "kind": "municipality", "region": "AL-02"}
    forged = base64.urlsafe_b64encode(orjson.dumps(["name", "a\x00", 1])).decode().rstrip("=")

    _problem_at(
        client.post("/api/v1/institutions", json=institution, headers=admin),
        "/name",
        "must not contain NUL characters",
    )
    _problem_at(
        client.post("/api/v1/meetings", json=minutes_document(agenda=["Pika\x00"]), headers=admin),
        "/agenda",
        "must not contain NUL characters",
    )
    _problem_at(
        client.get("/api/v1/recommendations", params={"q": "shkoll\x00"}, headers=admin),
        "q",
        "must not contain NUL characters",
    )
    response = client.get("/api/v1/institutions", params={"cursor": forged}, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "cursor"
    assert database_fingerprint() == before
