"""OWASP API3:2023, broken object property level authorization (and mass assignment).

No write document accepts a field the client may not set: ids, versions, timestamps, audit
fields, statuses that move only through a workflow, a record's region on PATCH, token hashes.
Each is tried on every write route of the app, as an admin (so that nothing but the field can
be the reason for the refusal): 422 pointing at the field, and nothing stored. On the way out,
no response and no schema exposes a token's hash or the server's bookkeeping columns. (The
audit log is admin-only: `test_owasp_api5_function_level_authz.py`.)
"""

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient
from owasp_world import World, build_world, database_fingerprint, write_requests, write_routes
from sqlmodel import Session, select

from app.main import create_app
from app.models import ApiToken

SCHEMA = create_app().openapi()
ROUTES = [route.key for route in write_routes(create_app())]

# Fields the server owns, and fields fixed when a record is made; with a plausible value each.
# A write document refuses each of them that is not one of its own fields.
SERVER_FIELDS: dict[str, Any] = {
    "kind": "committee",
    "period_start": "2020-01-01",
    "held_on": "2017-01-01",
    "external_ref": "DR-TT-2017-10-27",
    "key": "r9",
    "text": "Një tekst tjetër.",
    "responsible": [{"institution": 1, "lead": True}],
    "meeting": 1,
    "id": 1,
    "version": 99,
    "created_at": "2017-10-28T09:12:03Z",
    "updated_at": "2017-10-28T09:12:03Z",
    "status": "completed",
    "region": "AL-10",
    "region_id": 10,
    "body_id": 1,
    "meeting_id": 1,
    "activity_id": 1,
    "recommendation_id": 1,
    "institution_id": 1,
    "actor": "admin-token",
    "at": "2017-10-28T09:12:03Z",
    "token": "krat_Zm9vYmFyYmF6",
    "token_hash": "0" * 64,
    "document_hash": "0" * 64,
    "name_folded": "durres",
    "text_folded": "durres",
    "revoked_at": "2017-10-28T09:12:03Z",
    "withdrawn": True,
    "withdrawn_at": "2017-10-28T09:12:03Z",
    "overdue": False,
    "new_status": "completed",
    "problem_id": 1,
}
IMMUTABLE = {"id", "version", "created_at", "updated_at", "actor", "token_hash"}
# Must stay out of these documents whatever else changes: a record's region never moves, and
# these records have no status a client sets directly.
MUST_REFUSE: dict[str, set[str]] = {
    "PATCH /api/v1/institutions/{institution_id}": IMMUTABLE | {"region", "status"},
    "PATCH /api/v1/bodies/{body_id}": IMMUTABLE | {"region", "kind", "status"},
    "PATCH /api/v1/problems/{problem_id}": IMMUTABLE | {"region", "status", "meeting_id"},
    "PATCH /api/v1/recommendations/{recommendation_id}": IMMUTABLE
    | {"region", "text", "meeting_id", "responsible"},
    "PATCH /api/v1/action-plans/{plan_id}": IMMUTABLE | {"region", "period_start"},
    "POST /api/v1/institutions": IMMUTABLE,
    "POST /api/v1/bodies": IMMUTABLE | {"status"},
    "PUT /api/v1/bodies/{body_id}/members": IMMUTABLE | {"body_id"},
    "POST /api/v1/meetings": IMMUTABLE | {"status", "region", "withdrawn_at", "document_hash"},
    "PUT /api/v1/meetings/{meeting_id}": IMMUTABLE | {"status", "region", "withdrawn_at"},
    "POST /api/v1/tokens": IMMUTABLE | {"token", "revoked_at"},
    "POST /api/v1/recommendations/{recommendation_id}/follow-ups": IMMUTABLE
    | {"recommendation_id", "new_status"},
    "POST /api/v1/action-plans": IMMUTABLE,
    "POST /api/v1/activities/{activity_id}/follow-ups": IMMUTABLE | {"activity_id"},
}
BODILESS = {"DELETE /api/v1/meetings/{meeting_id}", "DELETE /api/v1/tokens/{token_id}"}


@pytest.fixture
def world(db: Session, admin: dict[str, str]) -> World:
    return build_world(db, admin)


def _body_schema(route: str) -> tuple[dict[str, Any], bool]:
    """The request body's object schema for `route`, and whether the body is a list of them."""
    method, path = route.split(" ", 1)
    content = SCHEMA["paths"][path][method.lower()]["requestBody"]["content"]
    schema = content["application/json"]["schema"]
    is_list = schema.get("type") == "array"
    ref = (schema["items"] if is_list else schema)["$ref"]
    return SCHEMA["components"]["schemas"][ref.rsplit("/", 1)[1]], is_list


def refused_fields(route: str) -> list[str]:
    schema, _ = _body_schema(route)
    return sorted(set(SERVER_FIELDS) - set(schema["properties"]))


def test_every_write_route_with_a_body_is_checked() -> None:
    assert set(MUST_REFUSE) | BODILESS == set(ROUTES)
    for route in BODILESS:
        method, path = route.split(" ", 1)
        assert "requestBody" not in SCHEMA["paths"][path][method.lower()]


@pytest.mark.parametrize("route", sorted(MUST_REFUSE))
def test_the_documents_leave_out_what_the_server_owns(route: str) -> None:
    assert MUST_REFUSE[route] <= set(refused_fields(route))


@pytest.mark.parametrize("route", sorted(MUST_REFUSE))
def test_no_field_the_server_owns_can_be_set(
    client: TestClient, world: World, admin: dict[str, str], route: str
) -> None:
    request = write_requests(world)[route]
    _, is_list = _body_schema(route)
    before = database_fingerprint()

    for field in refused_fields(route):
        document = copy.deepcopy(request.json)
        (document[0] if is_list else document)[field] = SERVER_FIELDS[field]

        response = client.request(request.method, request.path, json=document, headers=admin)

        assert response.status_code == 422, (field, response.text)
        where = f"/0/{field}" if is_list else f"/{field}"
        assert {"pointer": where, "detail": "is not a field of this document"} in (
            response.json()["errors"]
        ), field
    assert database_fingerprint() == before


def _nested(world: World) -> dict[str, tuple[str, Any, str]]:
    requests = write_requests(world)
    minutes = requests["POST /api/v1/meetings"]
    plan = requests["POST /api/v1/action-plans"]

    def edited(document: Any, path: list[Any], field: str, value: Any) -> Any:
        document = copy.deepcopy(document)
        target = document
        for part in path:
            target = target[part]
        target[field] = value
        return document

    return {
        "an activity's status in a plan edit": (
            f"/api/v1/action-plans/{world.plan}",
            {"activities": [{"id": world.activity, "status": "completed"}]},
            "/activities/0/status",
        ),
        "an activity's version in a plan edit": (
            f"/api/v1/action-plans/{world.plan}",
            {"activities": [{"id": world.activity, "version": 7}]},
            "/activities/0/version",
        ),
        "a recommendation's status in minutes": (
            minutes.path,
            edited(minutes.json, ["recommendations", 0], "status", "completed"),
            "/recommendations/0/status",
        ),
        "a recommendation's id in minutes": (
            minutes.path,
            edited(minutes.json, ["recommendations", 0], "id", world.recommendation),
            "/recommendations/0/id",
        ),
        "a problem's id in minutes": (
            minutes.path,
            edited(minutes.json, ["problems", 0], "id", world.problem),
            "/problems/0/id",
        ),
        "an activity's status in a new plan": (
            plan.path,
            edited(plan.json, ["objectives", 0, "activities", 0], "status", "completed"),
            "/objectives/0/activities/0/status",
        ),
        "an activity's id in a new plan": (
            plan.path,
            edited(plan.json, ["objectives", 0, "activities", 0], "id", world.activity),
            "/objectives/0/activities/0/id",
        ),
    }


NESTED = [
    "an activity's status in a plan edit",
    "an activity's version in a plan edit",
    "a recommendation's status in minutes",
    "a recommendation's id in minutes",
    "a problem's id in minutes",
    "an activity's status in a new plan",
    "an activity's id in a new plan",
]


@pytest.mark.parametrize("case", NESTED)
def test_nested_items_refuse_server_fields_too(
    client: TestClient, world: World, admin: dict[str, str], case: str
) -> None:
    path, document, where = _nested(world)[case]
    before = database_fingerprint()
    method = "PATCH" if "/action-plans/" in path else "POST"

    response = client.request(method, path, json=document, headers=admin)

    assert response.status_code == 422, response.text
    assert {"pointer": where, "detail": "is not a field of this document"} in response.json()[
        "errors"
    ]
    assert database_fingerprint() == before


def _properties(schema: Any) -> set[str]:
    """Every property name anywhere in a JSON schema."""
    found: set[str] = set()
    if isinstance(schema, dict):
        found |= set(schema.get("properties", {}))
        for value in schema.values():
            found |= _properties(value)
    elif isinstance(schema, list):
        for value in schema:
            found |= _properties(value)
    return found


def test_no_schema_exposes_hashes_or_folded_columns() -> None:
    names = _properties(SCHEMA)
    assert not {n for n in names if n.endswith(("_hash", "_folded"))}
    assert "token" in _properties(SCHEMA["components"]["schemas"]["TokenCreated"])
    assert "token" not in _properties(SCHEMA["components"]["schemas"]["TokenRead"])


def test_no_response_exposes_a_token_hash(
    client: TestClient, db: Session, world: World, admin: dict[str, str]
) -> None:
    created = client.post(
        "/api/v1/tokens", json={"name": "paneli-i-ri", "role": "reader"}, headers=admin
    )
    assert created.status_code == 201
    revoked = client.delete(f"/api/v1/tokens/{world.token}", headers=admin)
    assert revoked.status_code == 204
    hashes = [row.token_hash for row in db.exec(select(ApiToken)).all()]
    assert len(hashes) >= 7

    responses = [
        created,
        client.get("/api/v1/tokens", headers=admin),
        client.get("/api/v1/audit-events?entity=api_token", headers=admin),
        client.get("/api/v1/audit-events?limit=200", headers=admin),
    ]
    for response in responses:
        assert response.status_code in {200, 201}
        assert "token_hash" not in response.text
        assert not [h for h in hashes if h in response.text]


def _nulls(world: World) -> dict[str, tuple[str, str]]:
    return {
        "an institution's name": (f"/api/v1/institutions/{world.institution}", "name"),
        "an institution's kind": (f"/api/v1/institutions/{world.institution}", "kind"),
        "an institution's level": (f"/api/v1/institutions/{world.institution}", "level"),
        "whether an institution is active": (f"/api/v1/institutions/{world.institution}", "active"),
        "a body's name": (f"/api/v1/bodies/{world.technical_table}", "name"),
        "a problem's theme": (f"/api/v1/problems/{world.problem}", "theme"),
        "a problem's title": (f"/api/v1/problems/{world.problem}", "title"),
        "a plan's title": (f"/api/v1/action-plans/{world.plan}", "title"),
        "a plan's status": (f"/api/v1/action-plans/{world.plan}", "status"),
        "a recommendation's status": (f"/api/v1/recommendations/{world.recommendation}", "status"),
    }


NULLS = [
    "an institution's name",
    "an institution's kind",
    "an institution's level",
    "whether an institution is active",
    "a body's name",
    "a problem's theme",
    "a problem's title",
    "a plan's title",
    "a plan's status",
    "a recommendation's status",
]


@pytest.mark.parametrize("case", NULLS)
def test_a_field_that_always_has_a_value_cannot_be_patched_to_null(
    client: TestClient, world: World, admin: dict[str, str], case: str
) -> None:
    path, field = _nulls(world)[case]
    before = database_fingerprint()

    response = client.patch(path, json={field: None}, headers=admin)

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"] == f"/{field}"
    assert database_fingerprint() == before
