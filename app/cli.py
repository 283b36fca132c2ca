"""The `krat` command: serve, db, tokens, demo (and, below, import and export)."""

import sys
from typing import Annotated

import typer
import uvicorn
from sqlmodel import Session, select

from app import demo, migrations
from app.config import get_settings
from app.db import get_engine, write_session
from app.errors import AppError, Invalid
from app.models import ApiToken, Role
from app.regions import service as regions
from app.tokens import service as tokens
from app.tokens.schemas import TokenCreate

app = typer.Typer(help="krat-tracker: the KRAT coordination record.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tokens_app, name="tokens")

CLI_ACTOR = "cli"


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _explain(error: AppError) -> str:
    if isinstance(error, Invalid):
        return "; ".join(
            f"{e.get('pointer') or e.get('parameter', '')}: {e['detail']}" for e in error.errors
        )
    return error.detail


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the API with uvicorn."""
    settings = get_settings()
    shown = "localhost" if host in {"127.0.0.1", "0.0.0.0"} else host
    typer.echo(
        f"krat-tracker on http://{shown}:{port}  (docs: http://{shown}:{port}/docs)", err=True
    )
    if settings.admin_token:
        typer.echo(
            f"authenticate with:  curl -H 'Authorization: Bearer {settings.admin_token}' "
            f"http://{shown}:{port}/api/v1/regions   (KRAT_ADMIN_TOKEN, development only)",
            err=True,
        )
    else:
        typer.echo(
            "authenticate with a token from:  krat tokens create --name NAME --role admin",
            err=True,
        )
    uvicorn.run(
        "app.main:app",
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,
        proxy_headers=True,
    )


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Migrate the configured database up to the newest revision."""
    migrations.upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {migrations.current_revision(get_engine())}", err=True)


@db_app.command("current")
def db_current() -> None:
    """Print the revision the configured database is at."""
    typer.echo(migrations.current_revision(get_engine()) or "none")


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Option(help="Unique name; recorded as the actor of writes.")],
    role: Annotated[Role, typer.Option(help="admin, secretariat, institution or reader.")],
    region: Annotated[str | None, typer.Option(help="Region code, for secretariat.")] = None,
    institution: Annotated[int | None, typer.Option(help="Institution id.")] = None,
) -> None:
    """Create a token and print it, alone, on stdout (it is never shown again)."""
    try:
        data = TokenCreate(name=name, role=role, region=region, institution=institution)
    except ValueError as error:
        _fail(str(error).splitlines()[0], 2)
    with write_session() as session:
        try:
            _record, token = tokens.create(session, data, actor=CLI_ACTOR)
        except AppError as error:
            _fail(_explain(error), 2)
        session.commit()
    typer.echo(token)


@tokens_app.command("list")
def tokens_list() -> None:
    """List tokens: name, role, binding, created, revoked."""
    with Session(get_engine()) as session:
        rows = session.exec(select(ApiToken).order_by(ApiToken.id)).all()
    for row in rows:
        binding = regions.region_code(row.region_id) or (
            f"institution {row.institution_id}" if row.institution_id else "-"
        )
        revoked = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
        typer.echo(f"{row.name}\t{row.role}\t{binding}\t{row.created_at:%Y-%m-%d}\t{revoked}")


@tokens_app.command("revoke")
def tokens_revoke(name: Annotated[str, typer.Argument(help="The token's name.")]) -> None:
    """Revoke a token by name."""
    with write_session() as session:
        try:
            tokens.revoke(session, tokens.get_by_name(session, name), actor=CLI_ACTOR)
        except AppError as error:
            _fail(_explain(error))
        session.commit()
    typer.echo(f"revoked {name}", err=True)


@app.command("demo")
def demo_command(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing unless the database is empty.")
    ] = False,
) -> None:
    """Load the demo data: bodies, institutions, the seed meetings and plans."""
    with write_session() as session:
        if if_empty and not demo.is_empty(session):
            typer.echo("demo: the database already has data; nothing loaded", err=True)
            return
        counts = demo.load_all(session)
        session.commit()
    summary = ", ".join(f"{part}: {count}" for part, count in counts.items())
    typer.echo(f"demo loaded ({summary})", err=True)


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="krat")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
