"""Backups and restores of the configured database: `krat backup` and `krat restore`.

SQLite is copied online with SQLite's own backup API: one read transaction over a WAL
snapshot, so the copy is consistent while the server keeps writing, and it includes commits
still in the -wal file (which a plain file copy would lose). PostgreSQL is backed up with its
own tool, pg_dump, and restored with pg_restore; this module only runs them.

A restore only accepts a backup at this code's newest migration: a restore must serve the
same answers, and a backup from another version could not.
"""

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from app import migrations
from app.config import get_settings
from app.db import is_sqlite

# The tables whose row counts a backup reports: enough to see at a glance that it holds data.
MAIN_TABLES = (
    *("region", "institution", "body", "membership", "meeting", "problem", "recommendation"),
    *("follow_up", "action_plan", "activity", "api_token", "audit_event"),
)
# Tables that a freshly migrated, never used database already fills.
_REFERENCE_TABLES = {"region", "alembic_version"}

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"

PG_DUMP = ("pg_dump", "--format=custom", "--no-owner")
PG_RESTORE = ("pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction")

PG_EXPLANATION = (
    "PostgreSQL is backed up with its own tool, pg_dump (custom format: compressed, "
    "consistent, restorable table by table with pg_restore). `krat backup` runs "
    f"`{' '.join(PG_DUMP)} --file FILE URL`; `krat restore FILE` runs "
    f"`{' '.join(PG_RESTORE)} --dbname URL FILE`."
)

BACKUP_HELP = (
    "SQLite: an online copy made with SQLite's backup API, consistent while the server writes, "
    "checked with PRAGMA integrity_check. " + PG_EXPLANATION
)
RESTORE_HELP = (
    "Only a backup at this krat-tracker's newest migration is accepted. SQLite: the backup is "
    "copied and checked beside the database, then swapped in atomically; refused while a "
    "server has the database open. " + PG_EXPLANATION
)

# A restore brings back the token table as it was, revocations included.
TOKEN_NOTE = (
    "  note: tokens revoked after this backup was made are valid again: "
    "revoke them again (krat tokens list, krat tokens revoke NAME)"
)


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says what to do instead."""


@dataclass
class Report:
    """What a backup or restore did, as lines for the operator."""

    path: Path
    revision: str | None = None
    size: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    def describe(self) -> None:
        """Append the revision, size and row counts to the report's lines."""
        self.lines.append(f"  migration revision: {self.revision}")
        self.lines.append(f"  size: {self.size:,} bytes")
        if self.counts:
            rows = ", ".join(f"{table} {count}" for table, count in self.counts.items())
            self.lines.append(f"  rows: {rows}")


def backup(database_url: str, out: Path) -> Report:
    """Write a consistent backup of the database at `database_url` to `out`."""
    if is_sqlite(database_url):
        return _backup_sqlite(_sqlite_path(database_url), out)
    return _backup_postgres(database_url, out)


def restore(database_url: str, source: Path) -> Report:
    """Replace the database at `database_url` with the backup in `source`.

    The restored write counter (models.DataRevision) is moved past the replaced database's:
    list ETags name a counter value, and a value served before the restore must never come
    to stand for other data after it (that would answer a stale copy with 304).
    """
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    replaced = _data_revision(database_url)
    if is_sqlite(database_url):
        report = _restore_sqlite(_sqlite_path(database_url), source, after=replaced)
    else:
        report = _restore_postgres(database_url, source)
        _advance_data_revision(database_url, after=replaced)
    return report


def _data_revision(database_url: str) -> int:
    """Return the write counter of the database at `database_url` (0 if it has none)."""
    if is_sqlite(database_url) and not _sqlite_path(database_url).exists():
        return 0
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(REVISION_SQL)).scalar() or 0)
    except Exception:
        return 0  # no database yet, or no counter: nothing was served from it
    finally:
        engine.dispose()


def _advance_data_revision(database_url: str, *, after: int) -> None:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text(ADVANCE_SQL), {"after": after})
    finally:
        engine.dispose()


REVISION_SQL = "SELECT value FROM data_revision WHERE id = 1"
# One more than the larger of the two counters, so every list ETag changes.
ADVANCE_SQL = (
    "UPDATE data_revision SET value = "
    "CASE WHEN value > :after THEN value ELSE :after END + 1 WHERE id = 1"
)


def has_data(database_url: str) -> bool:
    """Tell whether the database holds anything a fresh migration would not put there."""
    if is_sqlite(database_url) and not _sqlite_path(database_url).exists():
        return False
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names()) - _REFERENCE_TABLES
            return any(
                connection.execute(text(f'SELECT EXISTS (SELECT 1 FROM "{table}")')).scalar()
                for table in sorted(tables)
            )
    except Exception:
        # Unreadable (corrupt, or not a database at all): replacing it needs the same consent.
        return True
    finally:
        engine.dispose()


def _require_head(revision: str | None, source: Path) -> None:
    head = migrations.head_revision()
    if revision is None:
        raise BackupError(f"{source} is not a krat-tracker backup: it has no migration revision")
    if revision != head:
        raise BackupError(
            f"{source} is at migration {revision}, but this krat-tracker is at {head}: "
            "restore it with the krat-tracker version that made it, or put it in a scratch "
            "database yourself (SQLite: copy the file; PostgreSQL: pg_restore into an empty "
            "database), run `krat db upgrade` against that, and back that up instead"
        )


# --- SQLite ------------------------------------------------------------------------------------


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("the configured SQLite database is not a file; nothing to back up")
    return Path(database)


def _sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def _read_only(path: Path) -> sqlite3.Connection:
    timeout = get_settings().sqlite_busy_timeout_ms / 1000
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)


def _backup_sqlite(source: Path, out: Path) -> Report:
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    if out.resolve() in {p.resolve() for p in [source, *_sidecars(source)]}:
        raise BackupError("the backup file must not be the database itself")
    report = Report(out)
    report.lines.append(f"backup: SQLite online backup of {source} to {out}")
    with _temporary_beside(out) as temporary:
        with closing(_read_only(source)) as connection:
            _copy_sqlite(connection, temporary)
        _check_integrity(temporary)
        report.revision, report.counts = _sqlite_contents(temporary)
        _fsync(temporary)
        os.replace(temporary, out)
    _fsync_directory(out.parent)
    report.size = out.stat().st_size
    report.lines.append("  integrity check: ok")
    report.describe()
    report.lines.append("  restore with: krat restore FILE (stop the server first)")
    return report


def _copy_sqlite(source: sqlite3.Connection, destination: Path) -> None:
    with closing(sqlite3.connect(destination, isolation_level=None)) as copy:
        # All pages in one step: one read transaction, hence one consistent snapshot, while
        # WAL lets the server's writers carry on.
        source.backup(copy)
        # A single self-contained file (no -wal beside it), safe to move and archive.
        copy.execute("PRAGMA journal_mode=DELETE")


def _check_integrity(path: Path) -> None:
    with closing(sqlite3.connect(path)) as connection:
        rows = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    if rows != ["ok"]:
        raise BackupError(f"the copy fails SQLite's integrity check: {'; '.join(rows[:5])}")


def _sqlite_contents(path: Path) -> tuple[str | None, dict[str, int]]:
    with closing(sqlite3.connect(path)) as connection:
        listed = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = {row[0] for row in listed}
        revision = None
        if "alembic_version" in tables:
            found = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = found[0] if found else None
        counts = {
            table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            for table in MAIN_TABLES
            if table in tables
        }
    return revision, counts


def _restore_sqlite(target: Path, source: Path, *, after: int) -> Report:
    if source.resolve() in {p.resolve() for p in [target, *_sidecars(target)]}:
        raise BackupError("the backup file is the database itself")
    _require_magic(source, SQLITE_MAGIC, "a SQLite database", other=(PG_DUMP_MAGIC, "pg_dump"))
    report = Report(source)
    report.lines.append(f"restore: {source} into the SQLite database {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with _temporary_beside(target) as temporary:
        try:
            with closing(_read_only(source)) as connection:
                _copy_sqlite(connection, temporary)
            _check_integrity(temporary)
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{source} is not a usable SQLite database ({error})") from error
        report.revision, report.counts = _sqlite_contents(temporary)
        _require_head(report.revision, source)
        with closing(sqlite3.connect(temporary)) as copy, copy:
            copy.execute(ADVANCE_SQL, {"after": after})
        _fsync(temporary)
        _release(target)
        os.replace(temporary, target)
    _fsync_directory(target.parent)
    report.size = target.stat().st_size
    report.lines.append("  integrity check: ok")
    report.describe()
    report.lines.append(TOKEN_NOTE)
    return report


def _release(target: Path) -> None:
    """Fold the target's -wal into it and delete its side files, refusing if it is in use."""
    if target.exists():
        try:
            with closing(sqlite3.connect(target, timeout=0, isolation_level=None)) as connection:
                # Exclusive locking fails at once if any other connection (a server's pool
                # included, even idle) has the database open in WAL mode.
                connection.execute("PRAGMA locking_mode=EXCLUSIVE")
                connection.execute("BEGIN EXCLUSIVE")
                connection.execute("COMMIT")
                busy = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise BackupError(
                    f"{target} is in use: stop every `krat serve` process, then restore"
                ) from error
            busy = 0
        except sqlite3.DatabaseError:
            busy = 0  # not a database any more: it is being replaced, nothing to keep
        if busy:
            raise BackupError(f"{target} is in use: stop every `krat serve` process, then restore")
    # Left beside the new file, an old -wal would be replayed into it: remove them first.
    for sidecar in _sidecars(target):
        sidecar.unlink(missing_ok=True)


# --- PostgreSQL --------------------------------------------------------------------------------


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """Return the URL for libpq tools (no driver, no password) and their environment."""
    url: URL = make_url(database_url)
    env = dict(os.environ)
    if url.password:
        # On the command line a password would show in `ps`; libpq reads it from here.
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not on PATH. {PG_EXPLANATION} Install the PostgreSQL client tools of "
            f"the server's major version (Debian/Ubuntu: apt install postgresql-client), "
            f"or run the command above yourself."
        )
    return found


def _run(command: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tool = Path(command[0]).name
        raise BackupError(f"{tool} failed (exit {result.returncode}): {result.stderr.strip()}")
    return result.stdout


def _backup_postgres(database_url: str, out: Path) -> Report:
    libpq_url, env = _libpq(database_url)
    pg_dump = _tool("pg_dump")
    report = Report(out)
    report.lines.append(f"backup: {PG_EXPLANATION}")
    report.lines.append(f"  running: {' '.join(PG_DUMP)} --file {out} {libpq_url}")
    with _temporary_beside(out) as temporary:
        _run([pg_dump, *PG_DUMP[1:], f"--file={temporary}", f"--dbname={libpq_url}"], env)
        # Reading the archive back is pg_dump's counterpart of an integrity check.
        entries = _run([_tool("pg_restore"), "--list", str(temporary)], env)
        report.revision = _dump_revision(temporary, env)
        _fsync(temporary)
        os.replace(temporary, out)
    _fsync_directory(out.parent)
    report.size = out.stat().st_size
    listed = sum(1 for line in entries.splitlines() if line and not line.startswith(";"))
    report.lines.append(f"  archive check (pg_restore --list): {listed} entries")
    report.describe()
    report.lines.append("  restore with: krat restore FILE (runs pg_restore)")
    return report


def _dump_revision(archive: Path, env: dict[str, str]) -> str | None:
    """Return the migration revision stored in a pg_dump archive, without restoring it."""
    command = [_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-"]
    script = _run([*command, str(archive)], env)
    match = re.search(r"^COPY \S*alembic_version .*? FROM stdin;\n(.*?)\n\\\.$", script, re.M)
    if match is None:
        return None
    return match.group(1).strip() or None


def _restore_postgres(database_url: str, source: Path) -> Report:
    _require_magic(source, PG_DUMP_MAGIC, "a pg_dump archive", other=(SQLITE_MAGIC, "SQLite"))
    libpq_url, env = _libpq(database_url)
    pg_restore = _tool("pg_restore")
    report = Report(source)
    report.revision = _dump_revision(source, env)
    _require_head(report.revision, source)
    report.lines.append(f"restore: {PG_EXPLANATION}")
    report.lines.append(f"  running: {' '.join(PG_RESTORE)} --dbname {libpq_url} {source}")
    _run([pg_restore, *PG_RESTORE[1:], f"--dbname={libpq_url}", str(source)], env)
    report.size = source.stat().st_size
    report.counts = _postgres_counts(database_url)
    report.describe()
    report.lines.append(TOKEN_NOTE)
    return report


def _postgres_counts(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            return {
                table: int(connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())
                for table in MAIN_TABLES
                if table in tables
            }
    finally:
        engine.dispose()


# --- files -------------------------------------------------------------------------------------


def _require_magic(path: Path, magic: bytes, kind: str, *, other: tuple[bytes, str]) -> None:
    with path.open("rb") as stream:
        head = stream.read(len(SQLITE_MAGIC))
    if head.startswith(magic):
        return
    if head.startswith(other[0]):
        raise BackupError(
            f"{path} is a {other[1]} backup, but the configured database needs {kind}: "
            "set KRAT_DATABASE_URL to the kind of database the backup came from"
        )
    raise BackupError(f"{path} is not {kind}; nothing was changed")


@contextmanager
def _temporary_beside(path: Path) -> Iterator[Path]:
    """Yield a fresh file name in `path`'s folder (so os.replace is atomic); remove it after."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
    finally:
        for leftover in [temporary, *_sidecars(temporary)]:
            leftover.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    with path.open("rb+") as stream:
        os.fsync(stream.fileno())


def _fsync_directory(path: Path) -> None:
    # The rename itself is durable only once the folder's entry is on disk.
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
