"""The `krat` command: serve, db, tokens, demo (and, below, import and export)."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
import uvicorn
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app import backup as backups
from app import clock, demo, migrations
from app.action_plans import progress, progress_export
from app.action_plans import service as plans
from app.auth import Actor
from app.config import get_settings
from app.db import get_engine, write_session
from app.demo.synthetic import Reporter, generate
from app.errors import AppError, Conflict, Invalid, validation_problems
from app.exports import ExportFormat, Lang
from app.meetings import ingest
from app.meetings.schemas import MinutesDocument
from app.models import ApiToken, RecommendationStatus, Role
from app.recommendations import export as recommendation_export
from app.recommendations import search as recommendation_search
from app.recommendations import service as recommendations
from app.recommendations.schemas import RecommendationSort
from app.regions import service as regions
from app.tokens import service as tokens
from app.tokens.schemas import TokenCreate

app = typer.Typer(help="krat-tracker: the KRAT coordination record.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tokens_app, name="tokens")
export_app = typer.Typer(help="Exports to files (JSON, CSV, XLSX).", no_args_is_help=True)
app.add_typer(export_app, name="export")

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
            # The value itself is never printed: server logs are kept and shared.
            'authenticate with:  curl -H "Authorization: Bearer $KRAT_ADMIN_TOKEN" '
            f"http://{shown}:{port}/api/v1/regions   (KRAT_ADMIN_TOKEN is set: development only)",
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
        # `Server: uvicorn` tells a scanner what to try; clients have no use for it.
        server_header=False,
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
    synthetic: Annotated[
        int,
        typer.Option("--synthetic", min=0, help="Also generate N synthetic recommendations."),
    ] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic data.")] = 1,
) -> None:
    """Load the demo data: bodies, institutions, the seed meetings and plans."""
    with write_session() as session:
        if if_empty and not demo.is_empty(session):
            typer.echo("demo: the database already has data; nothing loaded", err=True)
            return
        counts = demo.load_all(session)
        session.commit()
    if synthetic > 0:
        made = generate(get_engine(), recommendations=synthetic, seed=seed, progress=Reporter())
        counts["synthetic rows"] = sum(made.values())
    summary = ", ".join(f"{part}: {count}" for part, count in counts.items())
    typer.echo(f"demo loaded ({summary})", err=True)


@export_app.command("progress")
def export_progress(
    plan: Annotated[int, typer.Option("--plan", help="The action plan's id.")],
    out: Annotated[str, typer.Option("--out", help="File to write; '-' for stdout.")],
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", formats=["%Y-%m-%d"], help="Snapshot date (default: today)."),
    ] = None,
    export_format: Annotated[
        ExportFormat, typer.Option("--format", help="json, csv or xlsx.")
    ] = ExportFormat.json,
    lang: Annotated[Lang, typer.Option("--lang", help="Headers and labels: en or sq.")] = Lang.en,
) -> None:
    """Write a plan's progress as of a date, with the same figures as the API."""
    with Session(get_engine()) as session:
        try:
            row = plans.get(session, plan)
            report = progress.report(session, row, as_of.date() if as_of else clock.today())
        except AppError as error:
            _fail(_explain(error))

    def track(rows: Iterator[list[Any]], count: int) -> Iterator[list[Any]]:
        with typer.progressbar(rows, length=count, label="activities", file=sys.stderr) as bar:
            yield from bar

    if out == "-":
        progress_export.write(report, export_format, lang, sys.stdout.buffer, track=track)
        return
    with open(out, "wb") as stream:
        progress_export.write(report, export_format, lang, stream, track=track)
    typer.echo(f"wrote {out}", err=True)


@export_app.command("recommendations")
def export_recommendations(
    out: Annotated[str, typer.Option("--out", help="File to write; '-' for stdout.")],
    status: Annotated[
        list[RecommendationStatus] | None, typer.Option("--status", help="Repeatable.")
    ] = None,
    region: Annotated[str | None, typer.Option(help="Region code, e.g. AL-02.")] = None,
    body: Annotated[int | None, typer.Option(help="Body id.")] = None,
    institution: Annotated[int | None, typer.Option(help="Responsible institution id.")] = None,
    overdue: Annotated[bool | None, typer.Option("--overdue/--not-overdue")] = None,
    due_before: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"])] = None,
    due_after: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"])] = None,
    q: Annotated[
        str | None, typer.Option(help="Words in the text (any case, any accents).")
    ] = None,
    sort: Annotated[RecommendationSort, typer.Option()] = RecommendationSort.due_on,
    export_format: Annotated[
        ExportFormat, typer.Option("--format", help="json, csv or xlsx.")
    ] = ExportFormat.csv,
    lang: Annotated[Lang, typer.Option("--lang", help="Headers and labels: en or sq.")] = Lang.en,
) -> None:
    """Write every recommendation matching the filters, as the API's list and downloads do."""
    today = clock.today()
    try:
        filters = recommendations.Filters(
            status=[str(s) for s in status or ()],
            region=region,
            body=body,
            institution=institution,
            overdue=overdue,
            due_before=due_before.date() if due_before else None,
            due_after=due_after.date() if due_after else None,
            q=q,
        )
        with Session(get_engine()) as session:
            filters = recommendation_search.plan(session, filters)
            total = recommendations.count(session, filters, today)
    except AppError as error:
        _fail(_explain(error))
    with (
        _output(out) as stream,
        typer.progressbar(length=total, label="recommendations", file=sys.stderr) as bar,
    ):
        recommendation_export.write(
            export_format, filters, sort, lang, today, stream, progress=lambda: bar.update(1)
        )
    if out != "-":
        typer.echo(f"wrote {total} recommendations to {out}", err=True)


@contextmanager
def _output(out: str) -> Iterator[BinaryIO]:
    if out == "-":
        yield sys.stdout.buffer
        return
    with open(out, "wb") as stream:
        yield stream


# --- import ---------------------------------------------------------------------------------

import_app = typer.Typer(help="Import documents from files.", no_args_is_help=True)
app.add_typer(import_app, name="import")

IMPORTED = {"created", "unchanged"}


def _minutes_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    return files


def _import_minutes_file(path: Path, actor: Actor) -> tuple[str, list[str]]:
    """Store one minutes file in its own transaction; return its status and report lines."""
    try:
        document = MinutesDocument.model_validate_json(path.read_bytes())
    except OSError as error:
        return "invalid", [f"cannot read the file: {error.strerror}"]
    except ValidationError as error:
        located = ({**e, "loc": ("body", *e["loc"])} for e in error.errors())
        return "invalid", [
            f"{p.get('pointer') or '/'}: {p['detail']}" for p in validation_problems(located)
        ]
    with write_session() as session:
        try:
            try:
                outcome = ingest.submit(session, document, actor=actor)
                session.commit()
            except IntegrityError:
                # Someone posted the same minutes meanwhile: answer as the second post would.
                session.rollback()
                outcome = ingest.submit(session, document, actor=actor)
                session.commit()
        except Invalid as error:
            return "invalid", [f"{e.get('pointer') or '/'}: {e['detail']}" for e in error.errors]
        except Conflict as error:
            return "conflict", [error.detail]
        except AppError as error:
            return "failed", [error.detail]
    return ("created" if outcome.created else "unchanged"), [f"meeting {outcome.meeting.id}"]


@import_app.command("minutes")
def import_minutes(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Minutes documents (*.json), or folders of them.", exists=True),
    ],
    as_name: Annotated[
        str, typer.Option("--as", help="The actor recorded in the audit log.")
    ] = CLI_ACTOR,
) -> None:
    """Import minutes documents, each all-or-nothing in its own transaction; exit 1 if any fails."""
    actor = Actor(as_name, Role.admin)
    files = _minutes_files(paths)
    report: list[tuple[Path, str, list[str]]] = []
    with typer.progressbar(files, label="minutes", file=sys.stderr) as bar:
        for path in bar:
            status, lines = _import_minutes_file(path, actor)
            report.append((path, status, lines))
    for path, status, lines in report:
        if status in IMPORTED:
            typer.echo(f"{status:<9} {path}: {lines[0]}")
            continue
        typer.echo(f"{status:<9} {path}")
        for line in lines:
            typer.echo(f"    {line}")
    counts = {
        s: sum(1 for _, status, _ in report if status == s)
        for s in dict.fromkeys(r[1] for r in report)
    }
    summary = ", ".join(f"{count} {status}" for status, count in counts.items()) or "no files"
    typer.echo(f"minutes: {summary}", err=True)
    if any(status not in IMPORTED for _, status, _ in report):
        raise typer.Exit(1)


# --- backup and restore ------------------------------------------------------------------------


@app.command("backup", epilog=backups.BACKUP_HELP)
def backup_command(
    out: Annotated[Path, typer.Option("--out", help="The backup file (replaced atomically).")],
) -> None:
    """Back up the configured database to a file while the server runs (SQLite or pg_dump)."""
    try:
        report = backups.backup(get_settings().database_url, out)
    except backups.BackupError as error:
        _fail(str(error))
    for line in report.lines:
        typer.echo(line, err=True)


@app.command("restore", epilog=backups.RESTORE_HELP)
def restore_command(
    file: Annotated[
        Path, typer.Argument(help="A file made by `krat backup`.", exists=True, dir_okay=False)
    ],
    yes: Annotated[
        bool, typer.Option("--yes", help="Replace a database that already holds data.")
    ] = False,
) -> None:
    """Replace the configured database with a backup; stop every server process first."""
    url = get_settings().database_url
    if not yes and backups.has_data(url):
        _fail("the database holds data and a restore replaces all of it: pass --yes", 2)
    try:
        report = backups.restore(url, file)
    except backups.BackupError as error:
        _fail(str(error))
    for line in report.lines:
        typer.echo(line, err=True)


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="krat")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
