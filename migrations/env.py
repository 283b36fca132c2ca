"""Alembic environment: the models' metadata, the configured database, batch mode for SQLite."""

import warnings
from logging.config import fileConfig

from alembic import context
from sqlalchemy import pool
from sqlmodel import SQLModel, create_engine

import app.models  # noqa: F401  (registers every table on the metadata)
from app.config import get_settings

config = context.config
if config.config_file_name is not None and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


# Search indexes made by raw SQL in a migration (2026-11-25_text_search_indexes.py): not in
# the models' metadata, so `alembic check` must not report them as extra.
UNMODELLED = ("recommendation_fts", "ix_recommendation_text_trgm")
# Indexes on expressions, which SQLAlchemy cannot reflect: the models and their migration
# (2026-11-25_institution_name_unique_per_scope.py) declare them; autogenerate cannot compare.
EXPRESSION_INDEXES = {"uq_institution_scope_name_folded"}
warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based")
warnings.filterwarnings("ignore", message="autogenerate skipping metadata-specified expression")


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    if type_ == "index" and name in EXPRESSION_INDEXES:
        return False
    return not (reflected and compare_to is None and name and name.startswith(UNMODELLED))


def database_url() -> str:
    return config.attributes.get("database_url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
