"""OWASP API5:2023, broken function level authorization: each role against each write route.

The routes come from the application itself, so a write route added without a row in
`ALLOWED` fails here. Allowed callers must succeed with the matrix's request (so a refusal
below is about the role, never about the request); every other role gets 403 and the database
is left exactly as it was. The region dimension (a secretariat of another region, by any path)
is API1's module, `test_owasp_api1_object_level_authz.py`.
"""

import pytest
from fastapi.testclient import TestClient
from owasp_world import (
    ROLES,
    World,
    build_world,
    database_fingerprint,
    write_requests,
    write_routes,
)
from sqlmodel import Session

from app.main import create_app

REGION_WRITERS = {"admin", "secretariat AL-02"}
FOLLOW_UP_WRITERS = {"admin", "secretariat AL-02", "institution"}
ADMIN_ONLY = {"admin"}

# Who may send each write route's request about Durrës (AL-02) records. "institution" is a
# token of ZVAP, which is responsible for the recommendation and the activity in the matrix.
ALLOWED: dict[str, set[str]] = {
    "POST /api/v1/institutions": REGION_WRITERS,
    "PATCH /api/v1/institutions/{institution_id}": REGION_WRITERS,
    "POST /api/v1/bodies": REGION_WRITERS,
    "PATCH /api/v1/bodies/{body_id}": REGION_WRITERS,
    "PUT /api/v1/bodies/{body_id}/members": REGION_WRITERS,
    "POST /api/v1/meetings": REGION_WRITERS,
    "PUT /api/v1/meetings/{meeting_id}": REGION_WRITERS,
    "DELETE /api/v1/meetings/{meeting_id}": REGION_WRITERS,
    "PATCH /api/v1/problems/{problem_id}": REGION_WRITERS,
    "POST /api/v1/tokens": ADMIN_ONLY,
    "DELETE /api/v1/tokens/{token_id}": ADMIN_ONLY,
    "PATCH /api/v1/recommendations/{recommendation_id}": REGION_WRITERS,
    "POST /api/v1/recommendations/{recommendation_id}/follow-ups": FOLLOW_UP_WRITERS,
    "POST /api/v1/action-plans": REGION_WRITERS,
    "PATCH /api/v1/action-plans/{plan_id}": REGION_WRITERS,
    "POST /api/v1/activities/{activity_id}/follow-ups": FOLLOW_UP_WRITERS,
}
ADMIN_ONLY_READS = ["/api/v1/audit-events", "/api/v1/tokens"]

ROUTES = [route.key for route in write_routes(create_app())]
ALLOWED_CASES = [(key, role) for key in ROUTES for role in sorted(ALLOWED.get(key, {"?"}))]


@pytest.fixture
def world(db: Session, admin: dict[str, str]) -> World:
    return build_world(db, admin)


def test_every_write_route_of_the_app_is_in_the_matrix() -> None:
    assert set(ROUTES) == set(ALLOWED), "add the new write route to ALLOWED and write_requests"


def test_the_matrix_has_a_request_for_every_write_route() -> None:
    dummy = World(*range(1, 12))
    assert set(write_requests(dummy)) == set(ROUTES)


@pytest.mark.parametrize(("route", "role"), ALLOWED_CASES)
def test_allowed_roles_may_use_the_write_route(
    client: TestClient, world: World, route: str, role: str
) -> None:
    assert route in ALLOWED, f"{route} has no row in ALLOWED"
    request = write_requests(world)[route]

    response = client.request(
        request.method, request.path, json=request.json, headers=world.headers[role]
    )

    assert response.status_code == request.expected, response.text


def test_every_other_role_is_refused_every_write_route_and_nothing_changes(
    client: TestClient, world: World
) -> None:
    requests = write_requests(world)
    before = database_fingerprint()
    expected, answered = {}, {}

    for route in ROUTES:
        request = requests[route]
        for role in [r for r in ROLES if r not in ALLOWED.get(route, set())]:
            response = client.request(
                request.method, request.path, json=request.json, headers=world.headers[role]
            )
            expected[route, role] = (403, "application/problem+json", "forbidden")
            answered[route, role] = (
                response.status_code,
                response.headers["content-type"],
                response.json().get("type", "").rsplit("/", 1)[-1],
            )

    assert answered == expected
    assert database_fingerprint() == before


@pytest.mark.parametrize("path", ADMIN_ONLY_READS)
@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_audit_log_and_token_list_are_admin_only(
    client: TestClient, world: World, path: str, role: str
) -> None:
    response = client.get(path, headers=world.headers[role])

    assert response.status_code == 403
    assert client.get(path, headers=world.headers["admin"]).status_code == 200
