"""Generated requests: schemathesis over the whole OpenAPI schema, in-process, as an admin.

Every operation of `create_app()`'s schema gets requests generated from the schema itself
(its examples first, then boundary values and random valid and invalid data, with and without
the token), against a database holding the demo data (`app.demo.load_all`) so that ids exist.
Each response must be no 5xx, a documented status code, a documented content type, and match
the documented schema. The budget is bounded and the seed fixed, so a run is reproducible and
takes a couple of minutes: 25 examples per operation on SQLite, 15 on PostgreSQL (whose run
is there for what only PostgreSQL refuses: out-of-range integers, NUL characters).
"""

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session

from app import demo
from app.db import get_engine
from app.exports import XLSX_MEDIA_TYPE
from app.main import create_app

from conftest import ADMIN_TOKEN

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SEED = 20171027  # the Technical Table of Durrës met on 27 October 2017

CONFIG_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "headers": CONFIG_HEADERS,
        "generation": {"deterministic": True, "database": "none"},
    }
)
# Loaded once, from an application built like any other; each test sends its requests to the
# application of its own `client`, which is bound to that test's database.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(), config=CONFIG)

# Each operation's examples share one database, so generated writes pile up, and a request is
# a database round trip: neither is a reason to stop.
HEALTH_CHECKS = [
    HealthCheck.too_slow,
    HealthCheck.filter_too_much,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
    HealthCheck.function_scoped_fixture,
]


@pytest.fixture
def demo_client(client: TestClient) -> Iterator[TestClient]:
    """A client of an application whose database holds the demo data."""
    with Session(get_engine()) as session:
        demo.load_all(session)
        session.commit()
    yield client


@schema.parametrize()
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(max_examples=25, derandomize=True, deadline=None, suppress_health_check=HEALTH_CHECKS)
def test_generated_requests_on_sqlite(case: schemathesis.Case, demo_client: TestClient) -> None:
    case.call_and_validate(checks=CHECKS, app=demo_client.app)


@schema.parametrize()
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@settings(max_examples=15, derandomize=True, deadline=None, suppress_health_check=HEALTH_CHECKS)
def test_generated_requests_on_postgresql(case: schemathesis.Case, demo_client: TestClient) -> None:
    case.call_and_validate(checks=CHECKS, app=demo_client.app)


EXPORTS = [
    ("/api/v1/recommendations", {"format": "csv"}, "text/csv"),
    ("/api/v1/recommendations", {"format": "xlsx", "lang": "sq"}, XLSX_MEDIA_TYPE),
    ("/api/v1/action-plans/{plan_id}/progress", {"format": "csv"}, "text/csv"),
    ("/api/v1/action-plans/{plan_id}/progress", {"format": "xlsx"}, XLSX_MEDIA_TYPE),
    ("/api/v1/action-plans/{plan_id}/progress", {}, "application/json"),
]


@pytest.mark.parametrize(("path", "query", "media_type"), EXPORTS)
def test_downloads_conform_to_the_documented_content_types(
    demo_client: TestClient, path: str, query: dict[str, str], media_type: str
) -> None:
    operation = schema[path]["GET"]
    path_parameters = {"plan_id": 1} if "{plan_id}" in path else None
    case = operation.Case(
        path_parameters=path_parameters, query=query, headers=dict(CONFIG_HEADERS)
    )

    response = case.call_and_validate(checks=CHECKS, app=demo_client.app)

    assert response.status_code == 200
    assert response.headers["content-type"][0].split(";")[0] == media_type
    assert len(response.content) > 100
