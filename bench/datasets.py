"""The benchmark's databases: built once with `krat demo --synthetic N`, reused afterwards.

A dataset is rebuilt when it is missing, when `--rebuild` is given, or when a migration it was
built with has changed since (new migration files are applied with `krat db upgrade` instead).
What was built is recorded in bench/data/<name>.json with the two tokens the runs use.
"""

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psycopg

from bench.limits import connect

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
KRAT = str(Path(sys.executable).parent / "krat")
SEED = 1
DEEP_PER_MILLION = 300_000
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")


@dataclass
class Dataset:
    """One database of N synthetic recommendations on one engine."""

    engine: str  # "sqlite" or "postgresql"
    size: int

    @property
    def scale(self) -> str:
        return f"{self.size // 1000}k" if self.size < 1_000_000 else f"{self.size // 10**6}m"

    @property
    def name(self) -> str:
        return f"{'sqlite' if self.engine == 'sqlite' else 'pg'}-{self.scale}"

    @property
    def url(self) -> str:
        if self.engine == "sqlite":
            return f"sqlite:///{DATA / f'sqlite-{self.scale}.db'}"
        return f"{POSTGRES}/krat_bench_{self.scale}"

    @property
    def marker(self) -> Path:
        return DATA / f"{self.name}.json"

    def env(self) -> dict[str, str]:
        return {**os.environ, "KRAT_DATABASE_URL": self.url}

    def krat(self, *args: str, capture: bool = False) -> str:
        """Run a `krat` command on this dataset's database."""
        done = subprocess.run(
            [KRAT, *args],
            env=self.env(),
            cwd=ROOT,
            check=True,
            text=True,
            stdout=subprocess.PIPE if capture else None,
        )
        return done.stdout.strip() if capture else ""


def migration_hashes() -> dict[str, str]:
    """Return the sha256 of every migration file, by file name."""
    folder = ROOT / "migrations" / "versions"
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.glob("*.py"))
    }


def prepare(dataset: Dataset, *, rebuild: bool, log: Any = print) -> dict[str, Any]:
    """Make sure the dataset exists and is current; return its marker (tokens included)."""
    DATA.mkdir(parents=True, exist_ok=True)
    marker = json.loads(dataset.marker.read_text()) if dataset.marker.exists() else None
    current = migration_hashes()
    reason = _rebuild_reason(dataset, marker, current, rebuild)
    if reason:
        log(f"[{dataset.name}] building {dataset.size:,} recommendations ({reason})")
        marker = _build(dataset, log)
    elif marker is None:
        log(f"[{dataset.name}] adopting the existing {dataset.size:,} recommendations")
        dataset.krat("db", "upgrade")
        _settle(dataset)
        marker = {"size": dataset.size, "seed": SEED, "adopted": True}
    elif marker.get("migrations") != current:
        log(f"[{dataset.name}] new migrations: krat db upgrade")
        dataset.krat("db", "upgrade")
    marker["migrations"] = current
    if not _tokens_work(dataset, marker):
        marker["tokens"] = _create_tokens(dataset)
    dataset.marker.write_text(json.dumps(marker, indent=2))
    return marker


def _rebuild_reason(
    dataset: Dataset, marker: dict[str, Any] | None, current: dict[str, str], rebuild: bool
) -> str | None:
    if rebuild:
        return "--rebuild"
    if not _exists(dataset):
        return "missing"
    if marker is None:
        if _synthetic_size(dataset) == dataset.size:
            return None  # built by hand with the same command: adopt it
        return "no record of how it was built"
    if marker.get("size") != dataset.size or marker.get("seed") != SEED:
        return "built with another size or seed"
    built = marker.get("migrations", {})
    changed = [name for name, digest in built.items() if current.get(name) != digest]
    if changed:
        return f"migration changed since it was built: {', '.join(changed)}"
    return None


def _exists(dataset: Dataset) -> bool:
    if dataset.engine == "sqlite":
        return Path(dataset.url.split("///", 1)[1]).exists()
    try:
        with psycopg.connect(_conninfo(dataset.url), connect_timeout=5) as c:
            return bool(c.execute("SELECT to_regclass('recommendation') IS NOT NULL").fetchone()[0])
    except psycopg.OperationalError:
        return False


def _synthetic_size(dataset: Dataset) -> int | None:
    c = connect(dataset.url)()
    try:
        rows = c.execute(
            "SELECT after FROM audit_event WHERE entity = 'synthetic' ORDER BY id"
        ).fetchall()
    except Exception:
        return None
    finally:
        c.close()
    if len(rows) != 1:
        return None
    after = rows[0][0]
    after = json.loads(after) if isinstance(after, str) else after
    return int(after["recommendations"]) if after.get("seed") == SEED else None


def _conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _build(dataset: Dataset, log: Any) -> dict[str, Any]:
    started = time.perf_counter()
    if dataset.engine == "sqlite":
        path = Path(dataset.url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        _empty_postgres(dataset.url)
    dataset.krat("db", "upgrade")
    dataset.krat("demo", "--synthetic", str(dataset.size), "--seed", str(SEED))
    _settle(dataset)
    seconds = time.perf_counter() - started
    log(f"[{dataset.name}] built in {seconds:.0f} s")
    return {"size": dataset.size, "seed": SEED, "build_seconds": round(seconds, 1)}


def _settle(dataset: Dataset) -> None:
    if dataset.engine == "postgresql":
        # Set the visibility map now rather than whenever autovacuum gets to it, so that
        # index-only scans (the counts) behave the same in every run.
        with psycopg.connect(_conninfo(dataset.url), autocommit=True) as c:
            c.execute("VACUUM ANALYZE")


def _empty_postgres(url: str) -> None:
    conninfo = _conninfo(url)
    base, name = conninfo.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as c:
        found = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not found:
            c.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(conninfo, autocommit=True) as c:
        c.execute("DROP SCHEMA public CASCADE")
        c.execute("CREATE SCHEMA public")


def _create_tokens(dataset: Dataset) -> dict[str, str]:
    stamp = time.strftime("%Y%m%d%H%M%S")
    reader = dataset.krat(
        "tokens", "create", "--name", f"bench-reader-{stamp}", "--role", "reader", capture=True
    )
    writer = dataset.krat(
        "tokens",
        "create",
        "--name",
        f"bench-secretariat-{stamp}",
        "--role",
        "secretariat",
        "--region",
        "AL-02",
        capture=True,
    )
    return {"reader": reader.splitlines()[-1], "writer": writer.splitlines()[-1]}


def _tokens_work(dataset: Dataset, marker: dict[str, Any]) -> bool:
    tokens = marker.get("tokens") or {}
    if set(tokens) != {"reader", "writer"}:
        return False
    digests = [hashlib.sha256(t.encode()).hexdigest() for t in tokens.values()]
    m = "?" if dataset.engine == "sqlite" else "%s"
    c = connect(dataset.url)()
    try:
        found = c.execute(
            f"SELECT count(*) FROM api_token WHERE token_hash IN ({m}, {m}) AND revoked_at IS NULL",
            digests,
        ).fetchone()[0]
    finally:
        c.close()
    return bool(found == 2)


def deep_cursor(dataset: Dataset) -> tuple[str, int]:
    """Return the cursor of the open page that many rows deep (300,000 per million), and depth.

    The cursor is the service's (base64url JSON ["due_on", due_on, id] of the last row before
    the page), computed here from the row at that offset in (due_on NULLS LAST, id) order.
    """
    depth = DEEP_PER_MILLION * dataset.size // 1_000_000
    c = connect(dataset.url)()
    try:
        row = c.execute(
            "SELECT due_on, id FROM recommendation WHERE status = 'open' "
            f"ORDER BY due_on IS NULL, due_on, id LIMIT 1 OFFSET {depth - 1}"
        ).fetchone()
    finally:
        c.close()
    due_on = row[0] if row[0] is None or isinstance(row[0], str) else row[0].isoformat()
    raw = orjson.dumps(["due_on", due_on, row[1]])
    return base64.urlsafe_b64encode(raw).decode().rstrip("="), depth


# Every PostgreSQL dataset's service, LIMIT-B and LIMIT-B′ stay up for the whole run, each
# keeping up to 16 connections (c16), and the minutes floor opens 8 more.
CONNECTIONS_PER_POSTGRES_DATASET = 3 * 16


def require_connections(datasets: list[Dataset]) -> None:
    """Stop with advice when PostgreSQL allows too few connections for this run's servers."""
    postgres = [d for d in datasets if d.engine == "postgresql"]
    if not postgres:
        return
    needed = CONNECTIONS_PER_POSTGRES_DATASET * len(postgres) + 8 + 10
    with psycopg.connect(_conninfo(postgres[0].url)) as connection:
        allowed = int(connection.execute("SHOW max_connections").fetchone()[0])
    if allowed < needed:
        raise SystemExit(
            f"PostgreSQL allows {allowed} connections; this run needs about {needed}. Raise it "
            "(psql -c 'ALTER SYSTEM SET max_connections = 200', then restart PostgreSQL) or "
            "run fewer PostgreSQL datasets (--datasets)."
        )


def environment(datasets: list[Dataset]) -> dict[str, Any]:
    """Describe the machine and software the run measured."""
    import platform
    import sqlite3

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    postgres = None
    for dataset in datasets:
        if dataset.engine == "postgresql":
            with psycopg.connect(_conninfo(dataset.url)) as c:
                postgres = c.execute("SHOW server_version").fetchone()[0]
            break
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres,
        "wrk": (wrk.stdout + wrk.stderr).splitlines()[0] if (wrk.stdout + wrk.stderr) else "",
        "git": git_state(),
    }


def git_state() -> dict[str, Any]:
    """Return the commit, whether app/ or migrations/ differ from it, and a hash of app/ as run."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    changed = git("status", "--porcelain", "--", "app", "migrations").splitlines()
    digest = hashlib.sha256()
    for path in sorted((ROOT / "app").rglob("*.py")) + sorted((ROOT / "migrations").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty_files": len(changed),
        "tree_sha": digest.hexdigest()[:12],
        "at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
