"""Alembic, driven from code: the CLI upgrades with it and /readyz compares revisions."""

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from app.db import ensure_sqlite_folder


def _project_root() -> Path:
    # A source checkout (and the Docker image's WORKDIR) holds alembic.ini beside app/.
    for candidate in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if (candidate / "alembic.ini").is_file() and (candidate / "migrations").is_dir():
            return candidate
    raise FileNotFoundError("alembic.ini and migrations/ not found; run from the project folder")


def alembic_config(database_url: str | None = None) -> Config:
    """Return the Alembic configuration, pointed at `database_url` when given."""
    root = _project_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database at `database_url` up to `revision`."""
    ensure_sqlite_folder(database_url)
    command.upgrade(alembic_config(database_url), revision)


@lru_cache
def head_revision() -> str | None:
    """Return the newest migration's revision id."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """Return the revision the database is at (None when it was never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
