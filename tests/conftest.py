"""Test fixtures: every database test runs on SQLite and, when configured, on PostgreSQL.

SQLite tests copy a freshly migrated template file; PostgreSQL tests share one migrated
database that is truncated after each test. Set KRAT_TEST_POSTGRES_URL to include PostgreSQL;
under CI (CI=true) it must be set, so the PostgreSQL half can never be skipped silently.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text
from sqlmodel import Session, SQLModel

from app import auth, migrations, pagination
from app.config import get_settings
from app.db import dispose_engines, get_engine
from app.regions import service as regions

ADMIN_TOKEN = "test-admin-token"


def _worker_postgres_url(base: str | None) -> str | None:
    """Give each pytest-xdist worker a PostgreSQL database of its own (created if missing).

    The worker's URL replaces KRAT_TEST_POSTGRES_URL in the environment, so tests and the
    server processes they start all use the worker's database.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not base or not worker:
        return base
    url = make_url(base)
    name = f"{url.database}_{worker}"
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        found = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first()
        if found is None:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    worker_url = url.set(database=name).render_as_string(hide_password=False)
    os.environ["KRAT_TEST_POSTGRES_URL"] = worker_url
    return worker_url


POSTGRES_URL = _worker_postgres_url(os.environ.get("KRAT_TEST_POSTGRES_URL"))
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

if IN_CI and not POSTGRES_URL:
    raise pytest.UsageError(
        "CI must set KRAT_TEST_POSTGRES_URL: the PostgreSQL half may not be skipped"
    )

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per test session."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    """The PostgreSQL test database, emptied and migrated to head once per test session."""
    assert POSTGRES_URL
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    migrations.upgrade(POSTGRES_URL)
    return POSTGRES_URL


def _truncate_postgres(url: str) -> None:
    # Reference rows the migrations seed stay: the regions and the write counter.
    kept = {"region", "data_revision"}
    tables = [t.name for t in SQLModel.metadata.sorted_tables if t.name not in kept]
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=ENGINES)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """The URL of an empty, migrated database of each engine."""
    if request.param == "sqlite":
        path = tmp_path / "krat.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    if not POSTGRES_URL:
        pytest.skip("KRAT_TEST_POSTGRES_URL is not set")
    url = request.getfixturevalue("postgres_migrated")
    yield url
    _truncate_postgres(url)


def _reset_caches() -> None:
    get_settings.cache_clear()
    get_engine.cache_clear()
    regions.clear_cache()
    auth.token_cache.clear()
    pagination.totals.clear()


@pytest.fixture
def configured(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the application's settings at the test database."""
    monkeypatch.setenv("KRAT_DATABASE_URL", database_url)
    monkeypatch.setenv("KRAT_ADMIN_TOKEN", ADMIN_TOKEN)
    _reset_caches()
    yield database_url
    dispose_engines()
    _reset_caches()


@pytest.fixture
def db(configured: str) -> Iterator[Session]:
    """A session on the test database, for factories and for checking what was stored."""
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


@pytest.fixture
def client(configured: str) -> Iterator[TestClient]:
    """An HTTP client for a fresh application on the test database."""
    from app.main import create_app

    with TestClient(create_app(), base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def admin() -> dict[str, str]:
    """Headers of the development admin token."""
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")
