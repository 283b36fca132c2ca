"""The migrations build the models' schema from nothing, undo it, and build it again.

Each engine gets a database of its own: a fresh SQLite file, and a scratch PostgreSQL database
created beside KRAT_TEST_POSTGRES_URL's and dropped afterwards, so the shared test database the
other tests use stays at head whatever order the tests run in.
"""

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from app import migrations

POSTGRES_URL = os.environ.get("KRAT_TEST_POSTGRES_URL")

REGIONS = {
    "AL-01": "Berat",
    "AL-02": "Durrës",
    "AL-03": "Elbasan",
    "AL-04": "Fier",
    "AL-05": "Gjirokastër",
    "AL-06": "Korçë",
    "AL-07": "Kukës",
    "AL-08": "Lezhë",
    "AL-09": "Dibër",
    "AL-10": "Shkodër",
    "AL-11": "Tiranë",
    "AL-12": "Vlorë",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of each engine, never migrated."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("KRAT_TEST_POSTGRES_URL is not set")
    name = f"krat_migr_{secrets.token_hex(6)}"
    server = create_engine(
        make_url(POSTGRES_URL).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        names = set(inspect(engine).get_table_names()) - {"alembic_version"}
        # SQLite's FTS5 search index (migration 0002) lives outside the models' metadata.
        return {name for name in names if not name.startswith("recommendation_fts")}
    finally:
        engine.dispose()


def _regions(url: str) -> dict[str, str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT code, name FROM region ORDER BY id")).all()
        return {code: name for code, name in rows}
    finally:
        engine.dispose()


def test_migrations_have_exactly_one_head() -> None:
    heads = ScriptDirectory.from_config(migrations.alembic_config()).get_heads()
    assert len(heads) == 1


def test_upgrade_check_downgrade_upgrade_round_trip(empty_database: str) -> None:
    config = migrations.alembic_config(empty_database)
    model_tables = {table.name for table in SQLModel.metadata.sorted_tables}

    command.upgrade(config, "head")
    assert _tables(empty_database) == model_tables
    # `alembic check`: raises if autogenerate finds any difference between models and database.
    command.check(config)

    command.downgrade(config, "base")
    assert _tables(empty_database) == set()

    command.upgrade(config, "head")
    assert _tables(empty_database) == model_tables
    command.check(config)
    assert _regions(empty_database) == REGIONS


def test_first_migration_seeds_the_twelve_regions_with_diacritics(empty_database: str) -> None:
    migrations.upgrade(empty_database)
    assert _regions(empty_database) == REGIONS
