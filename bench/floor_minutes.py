"""The minutes floor: the rows of a `POST /meetings` inserted with sqlite3 or psycopg alone.

`MinutesWriter.insert` stores what the service stores for the benchmark document (meeting,
attendance, problems, recommendations, their responsible institutions and opening history
entries, one audit event), one transaction per document, with the service's SQLite settings.
"""

import hashlib
import json
import threading
import time
import unicodedata
from datetime import UTC, datetime
from typing import Any

import orjson

from bench.limits import connect

BODY = {"region": "AL-02", "kind": "technical_table"}
ATTENDEES = 20
PROBLEMS = 10
RECOMMENDATIONS = 15
THEMES = ["school_dropout", "child_protection", "victim_assistance", "coordination", "funding"]
ACTOR = "admin-token"


def _mark(url: str) -> str:
    return "?" if url.startswith("sqlite") else "%s"


def benchmark_document(url: str, external_ref: str) -> dict[str, Any]:
    """Return the benchmark's minutes: 20 attendees, 10 problems, 15 recommendations × 2."""
    connection = connect(url)()
    try:
        names = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM institution WHERE (region_id = 2 OR region_id IS NULL) "
                "AND active ORDER BY region_id IS NULL, id"
            ).fetchall()
        ]
    finally:
        connection.close()
    if len(names) < ATTENDEES:
        raise SystemExit(f"AL-02 has {len(names)} institutions; the document needs {ATTENDEES}")
    names = names[:ATTENDEES]
    return {
        "external_ref": external_ref,
        "body": BODY,
        "held_on": "2025-06-17",
        "kind": "regular",
        "title": "Mbledhja e Tryezës Teknike për çështjet e trafikimit të të miturve",
        "location": "Prefektura Durrës",
        "chair": {"name": "Roland Nasto", "position": "Prefekt", "institution": names[0]},
        "summary": " ".join(["Në kuadër të muajit të ndërgjegjësimit u diskutuan rastet."] * 8),
        "agenda": ["Prezantimi i veprimtarisë së anëtarëve", "Problematikat e konstatuara"],
        "attendees": [
            {
                "institution": name,
                "representatives": [{"name": f"Përfaqësuesi {i + 1}", "position": "Specialist"}],
            }
            for i, name in enumerate(names)
        ],
        "problems": [
            {
                "key": f"p{i + 1}",
                "raised_by": names[i],
                "theme": THEMES[i % len(THEMES)],
                "title": f"Problemi {i + 1}: mungesa e koordinimit për fëmijët në rrezik",
                "description": "Mungojnë strukturat për monitorimin dhe ndjekjen e rasteve "
                "të fëmijëve që braktisin shkollën.",
            }
            for i in range(PROBLEMS)
        ],
        "recommendations": [
            {
                "key": f"r{i + 1}",
                "problem": f"p{i % PROBLEMS + 1}",
                "text": f"Rekomandimi {i + 1}: ngritja e një mekanizmi të përbashkët për "
                "ndjekjen e nxënësve që braktisin shkollën dhe referimin e tyre.",
                "responsible": [
                    {"institution": names[(2 * i) % ATTENDEES], "lead": True},
                    {"institution": names[(2 * i + 1) % ATTENDEES]},
                ],
                # Far ahead: posted rows sort after every synthetic due date, so the measured
                # first and deep pages stay the same while posts run (they are deleted after).
                "due_on": "2099-12-31",
            }
            for i in range(RECOMMENDATIONS)
        ],
    }


def fold(text: str) -> str:
    """Fold as app.text.fold does (lower case, no diacritics, single spaces)."""
    extra = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "–": "-", "—": "-"})
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(extra))
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


class MinutesWriter:
    """Inserts the rows of one document per transaction on one raw connection."""

    def __init__(self, url: str, document: dict[str, Any]) -> None:
        self.sqlite = url.startswith("sqlite")
        self.m = _mark(url)
        self.connection = connect(url)()
        if self.sqlite:
            # The service's durability: WAL, synchronous=FULL, write lock taken at BEGIN.
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=FULL")
            self.connection.execute("PRAGMA busy_timeout=15000")
        self.document = document
        cur = self.connection.execute(
            f"SELECT b.id, b.region_id FROM body b JOIN region r ON r.id = b.region_id "
            f"WHERE r.code = {self.m} AND b.kind = {self.m}",
            [BODY["region"], BODY["kind"]],
        )
        self.body_id, self.region_id = cur.fetchone()
        ids = dict(
            self.connection.execute(
                "SELECT name, id FROM institution WHERE region_id = 2 OR region_id IS NULL"
            ).fetchall()
        )
        self.attendance = [
            (ids[a["institution"]], json.dumps(a["representatives"]), position)
            for position, a in enumerate(document["attendees"])
        ]
        self.problems = [
            (p["key"], ids[p["raised_by"]], p["theme"], p["title"], p["description"])
            for p in document["problems"]
        ]
        self.recommendations = [
            (r["key"], r["problem"], r["text"], fold(r["text"]), r["due_on"])
            for r in document["recommendations"]
        ]
        self.responsible = [
            [(ids[x["institution"]], bool(x.get("lead", False))) for x in r["responsible"]]
            for r in document["recommendations"]
        ]
        self.chair = ids[document["chair"]["institution"]]
        m = self.m
        self.sql_problems = (
            "INSERT INTO problem (meeting_id, key, raised_by_id, theme, title, description, "
            "text_folded, version, created_at, updated_at) VALUES "
            + ", ".join([f"({', '.join([m] * 10)})"] * len(self.problems))
            + " RETURNING key, id"
        )
        self.sql_recommendations = (
            "INSERT INTO recommendation (meeting_id, body_id, region_id, key, problem_id, text, "
            "text_folded, status, due_on, version, created_at, updated_at) VALUES "
            + ", ".join([f"({', '.join([m] * 12)})"] * len(self.recommendations))
            + " RETURNING key, id"
        )

    def _now(self) -> Any:
        now = datetime.now(UTC)
        # SQLAlchemy's SQLite format, so the rows read back exactly like the service's.
        return now.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else now

    def insert(self, external_ref: str) -> None:
        """Store one document's rows in one transaction."""
        doc, m, c = self.document, self.m, self.connection
        now = self._now()
        digest = hashlib.sha256(orjson.dumps({**doc, "external_ref": external_ref})).hexdigest()
        c.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")
        meeting_id = c.execute(
            "INSERT INTO meeting (body_id, region_id, external_ref, held_on, kind, title, "
            "title_folded, location, chair_name, chair_position, chair_institution_id, summary, "
            "agenda, document_hash, version, created_at, updated_at) VALUES "
            f"({', '.join([m] * 17)}) RETURNING id",
            [
                self.body_id,
                self.region_id,
                external_ref,
                doc["held_on"],
                doc["kind"],
                doc["title"],
                fold(doc["title"]),
                doc["location"],
                doc["chair"]["name"],
                doc["chair"]["position"],
                self.chair,
                doc["summary"],
                json.dumps(doc["agenda"]),
                digest,
                1,
                now,
                now,
            ],
        ).fetchone()[0]
        c.cursor().executemany(
            f"INSERT INTO attendance (meeting_id, institution_id, representatives, position) "
            f"VALUES ({m}, {m}, {m}, {m})",
            [(meeting_id, *row) for row in self.attendance],
        )
        values: list[Any] = []
        for key, raised_by, theme, title, description in self.problems:
            text_folded = fold(f"{title} {description}")
            values += [meeting_id, key, raised_by, theme, title, description, text_folded]
            values += [1, now, now]
        problem_ids = dict(c.execute(self.sql_problems, values).fetchall())
        values = []
        for key, problem, text, text_folded, due_on in self.recommendations:
            values += [meeting_id, self.body_id, self.region_id, key, problem_ids[problem]]
            values += [text, text_folded, "open", due_on, 1, now, now]
        recommendation_ids = dict(c.execute(self.sql_recommendations, values).fetchall())
        ids = [recommendation_ids[row[0]] for row in self.recommendations]
        c.cursor().executemany(
            "INSERT INTO recommendation_responsible (recommendation_id, institution_id, lead, "
            f"position) VALUES ({m}, {m}, {m}, {m})",
            [
                (rec_id, inst, lead, position)
                for rec_id, responsible in zip(ids, self.responsible, strict=True)
                for position, (inst, lead) in enumerate(responsible)
            ],
        )
        c.cursor().executemany(
            "INSERT INTO recommendation_status_change (recommendation_id, from_status, "
            f"to_status, actor, at) VALUES ({m}, NULL, 'open', {m}, {m})",
            [(rec_id, ACTOR, now) for rec_id in ids],
        )
        summary = {
            "id": meeting_id,
            "body_id": self.body_id,
            "external_ref": external_ref,
            "held_on": doc["held_on"],
            "kind": doc["kind"],
            "document_hash": digest,
            "withdrawn_at": None,
            "attendees": [row[0] for row in self.attendance],
            "problems": [row[0] for row in self.problems],
            "recommendations": [row[0] for row in self.recommendations],
        }
        c.execute(
            "INSERT INTO audit_event (at, actor, action, entity, entity_id, after) "
            f"VALUES ({m}, {m}, 'create', 'meeting', {m}, {m})",
            [now, ACTOR, meeting_id, json.dumps(summary)],
        )
        c.execute("COMMIT")

    def close(self) -> None:
        self.connection.close()


def insert_minutes(url: str, refs: list[str], document: dict[str, Any]) -> None:
    """Insert the document once per external_ref, each in its own transaction."""
    writer = MinutesWriter(url, document)
    try:
        for ref in refs:
            writer.insert(ref)
    finally:
        writer.close()


def minutes_rate(url: str, workers: int, seconds: float, prefix: str) -> dict[str, Any]:
    """Insert documents from `workers` threads for `seconds`; return documents per second."""
    document = benchmark_document(url, prefix)
    writers = [MinutesWriter(url, document) for _ in range(workers)]
    done = [0] * workers
    start = time.perf_counter()
    deadline = start + seconds

    def work(index: int) -> None:
        while time.perf_counter() < deadline:
            writers[index].insert(f"{prefix}{index}-{done[index]}")
            done[index] += 1

    cpu = time.process_time()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    for writer in writers:
        writer.close()
    return {
        "documents": sum(done),
        "seconds": elapsed,
        "documents_per_s": sum(done) / elapsed,
        "floor_cpu_pct": 100.0 * (time.process_time() - cpu) / elapsed,
    }
