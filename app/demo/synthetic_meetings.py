"""The meetings of the synthetic data: each with attendance, problems and recommendations.

`Builder` makes the rows of one meeting at a time (ids assigned from `Ids`), so the generator
can insert them in batches and never hold more than a batch in memory.
"""

import hashlib
import random
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate, pairwise
from typing import Any

from app.demo import synthetic_text as words
from app.demo.synthetic_plans import ACTOR, LAST, Ids, Rows, stamp
from app.text import fold

END = date(2026, 10, 31)
# Tables of a meeting, in the order their rows must be inserted.
ORDER = (
    "meeting",
    "attendance",
    "problem",
    "recommendation",
    "recommendation_responsible",
    "recommendation_status_change",
    "follow_up",
)
STATUSES = (
    "open",
    "in_progress",
    "implemented",
    "partially_implemented",
    "not_implemented",
    "withdrawn",
)
STATUS_WEIGHTS = tuple(accumulate((35, 25, 20, 8, 5, 7)))
THEMES = tuple(words.PROBLEM_TITLES)
THEME_WEIGHTS = tuple(accumulate(words.PROBLEM_THEME_WEIGHTS))
# Bigger and busier regions meet more (in code order AL-01 .. AL-12).
REGION_WEIGHTS = tuple(accumulate((8, 13, 10, 10, 6, 9, 6, 7, 6, 12, 16, 9)))


@dataclass
class Place:
    """A region as the generator needs it: bodies, institutions, who leads which work."""

    region_id: int
    name: str
    bodies: dict[str, tuple[int, str]]
    regional: list[int]
    guests: list[int]
    chair_id: int | None
    leads: list[list[int]] = field(default_factory=list)
    activities: list[int] = field(default_factory=list)
    # Only recommendations made while the region's plan runs are linked to its activities.
    plan_start: date = date.max


@lru_cache(maxsize=4096)
def _folded(value: str) -> str:
    return fold(value)


class Builder:
    """Builds the rows of meetings, one meeting at a time, until the caller takes them."""

    def __init__(self, rng: random.Random, ids: Ids, places: list[Place]) -> None:
        self.rng = rng
        self.ids = ids
        self.places = places
        self.rows: Rows = {name: [] for name in ORDER}
        self.pending = 0

    def take(self) -> Rows:
        """Return the rows built so far and start afresh."""
        rows, self.rows, self.pending = self.rows, {name: [] for name in ORDER}, 0
        return rows

    def meeting(self, held_on: date, size: int) -> None:
        """Build one meeting with its attendance, problems and `size` recommendations."""
        rng = self.rng
        place = self.places[bisect_left(REGION_WEIGHTS, rng.random() * REGION_WEIGHTS[-1])]
        kind_of_body = "committee" if rng.random() < 0.4 else "technical_table"
        body_id, body_name = place.bodies[kind_of_body]
        kind = _meeting_kind(rng, kind_of_body, held_on)
        meeting_id = self.ids.next("meeting")
        created = stamp(held_on + timedelta(1), rng)
        external_ref = f"SYN-{body_id}-{meeting_id}"
        title = rng.choice(words.MEETING_TITLES[kind]).format(body=body_name, region=place.name)
        self.rows["meeting"].append(
            {
                "id": meeting_id,
                "body_id": body_id,
                "region_id": place.region_id,
                "external_ref": external_ref,
                "held_on": held_on,
                "kind": kind,
                "title": title,
                "title_folded": _folded(title),
                "location": f"Prefektura e Qarkut {place.name}",
                "chair_name": _person(rng),
                "chair_position": f"Prefekt i Qarkut {place.name}"
                if kind_of_body == "committee"
                else "Koordinator i Tryezës Teknike",
                "chair_institution_id": place.chair_id,
                "summary": rng.choice(words.SUMMARIES),
                "agenda": rng.sample(words.AGENDA, rng.randint(2, 4)),
                "document_hash": hashlib.sha256(external_ref.encode()).hexdigest(),
                "withdrawn_at": None,
                "version": 1,
                "created_at": created,
                "updated_at": created,
            }
        )
        attendees = rng.sample(place.guests, min(len(place.guests), rng.randint(5, 20)))
        for position, institution_id in enumerate(attendees):
            self.rows["attendance"].append(
                {
                    "id": self.ids.next("attendance"),
                    "meeting_id": meeting_id,
                    "institution_id": institution_id,
                    "representatives": [
                        {"name": _person(rng), "position": rng.choice(words.POSITIONS)}
                    ],
                    "position": position,
                }
            )
        problems = [
            self._problem(meeting_id, n, attendees, created) for n in range(rng.randint(0, 5))
        ]
        for n in range(size):
            self._recommendation(place, meeting_id, body_id, held_on, created, n, problems)
        self.pending += size

    def _problem(self, meeting_id: int, n: int, attendees: list[int], created: datetime) -> int:
        rng = self.rng
        theme = THEMES[bisect_left(THEME_WEIGHTS, rng.random() * THEME_WEIGHTS[-1])]
        title = rng.choice(words.PROBLEM_TITLES[theme])
        description = rng.choice(words.PROBLEM_DESCRIPTIONS)
        problem_id = self.ids.next("problem")
        self.rows["problem"].append(
            {
                "id": problem_id,
                "meeting_id": meeting_id,
                "key": f"p{n + 1}",
                "raised_by_id": rng.choice(attendees),
                "theme": theme,
                "title": title,
                "description": description,
                "text_folded": _folded(f"{title} {description or ''}"),
                "withdrawn_at": None,
                "version": 1,
                "created_at": created,
                "updated_at": created,
            }
        )
        return problem_id

    def _recommendation(
        self,
        place: Place,
        meeting_id: int,
        body_id: int,
        held_on: date,
        created: datetime,
        n: int,
        problems: list[int],
    ) -> None:
        rng = self.rng
        group = rng.randrange(len(words.GROUPS))
        content, folded = _recommendation_text(rng, group)
        status = STATUSES[bisect_left(STATUS_WEIGHTS, rng.random() * STATUS_WEIGHTS[-1])]
        age = (END - held_on).days
        if age < 90 and rng.random() * 90 > age:
            status = "open"  # just made: rarely acted on yet
        recommendation_id = self.ids.next("recommendation")
        responsible = _responsible(rng, place, group)
        steps = _steps(rng, status, created)
        self._history(recommendation_id, created, steps, responsible[0])
        self.rows["recommendation"].append(
            {
                "id": recommendation_id,
                "meeting_id": meeting_id,
                "body_id": body_id,
                "region_id": place.region_id,
                "key": f"r{n + 1}",
                "problem_id": rng.choice(problems) if problems and rng.random() < 0.6 else None,
                "text": content,
                "text_folded": folded,
                "status": status,
                "due_on": None
                if rng.random() < 0.03
                else held_on + timedelta(rng.randint(30, 540)),
                "activity_id": rng.choice(place.activities)
                if held_on >= place.plan_start and rng.random() < 0.02
                else None,
                "removed_at": None,
                "version": 1 + len(steps),
                "created_at": created,
                "updated_at": steps[-1][2] if steps else created,
            }
        )
        for position, institution_id in enumerate(responsible):
            self.rows["recommendation_responsible"].append(
                {
                    "recommendation_id": recommendation_id,
                    "institution_id": institution_id,
                    "lead": position == 0,
                    "position": position,
                }
            )

    def _history(
        self,
        recommendation_id: int,
        created: datetime,
        steps: list[tuple[str, str, datetime, str | None]],
        lead: int,
    ) -> None:
        rng = self.rng
        # Some institutions report the last step themselves, as a follow-up carrying the
        # status; its description is then the step's note, as the follow-up service records.
        reported = bool(steps) and rng.random() < 0.2
        if reported:
            from_status, to_status, at, note = steps[-1]
            note = note or rng.choice(words.FOLLOW_UP_TEXTS)
            steps = [*steps[:-1], (from_status, to_status, at, note)]
            self._follow_up(recommendation_id, lead, at, note, to_status)
        elif steps and rng.random() < 0.05:
            at = min(steps[0][2] + timedelta(days=rng.randint(1, 60)), LAST)
            self._follow_up(recommendation_id, lead, at, rng.choice(words.FOLLOW_UP_TEXTS), None)
        history = self.rows["recommendation_status_change"]
        history.append(_change(self.ids, recommendation_id, None, "open", created, None))
        for from_status, to_status, at, note in steps:
            history.append(_change(self.ids, recommendation_id, from_status, to_status, at, note))

    def _follow_up(
        self, recommendation_id: int, institution_id: int, at: datetime, text: str, status: Any
    ) -> None:
        self.rows["follow_up"].append(
            {
                "id": self.ids.next("follow_up"),
                "activity_id": None,
                "recommendation_id": recommendation_id,
                "reported_on": at.date(),
                "institution_id": institution_id,
                "description": text,
                "progress_value": None,
                "new_status": status,
                "actor": ACTOR,
                "created_at": at,
            }
        )


def _meeting_kind(rng: random.Random, body_kind: str, held_on: date) -> str:
    awareness = 0.45 if held_on.month == 10 else 0.08
    draw = rng.random()
    if draw < awareness:
        return "awareness"
    draw = rng.random()
    if body_kind == "committee":
        return "regular" if draw < 0.78 else "extraordinary" if draw < 0.88 else "conference"
    return "regular" if draw < 0.7 else "workshop" if draw < 0.85 else "training"


def _person(rng: random.Random) -> str:
    return f"{rng.choice(words.FIRST_NAMES)} {rng.choice(words.SURNAMES)}"


def _recommendation_text(rng: random.Random, group: int) -> tuple[str, str]:
    """Compose a recommendation's text; return it with its folded form."""
    genitive, accusative, _ = words.GROUPS[group]
    draw = rng.random()
    if draw < 0.12:
        a, b = rng.sample(words.PARTNERS, 2)
        parts: tuple[str, ...] = (words.PARTNERSHIP_HEAD.format(a=a, b=b), " ", genitive)
    elif draw < 0.35:
        parts = (rng.choice(words.HEADS_ACCUSATIVE), " ", accusative)
    else:
        parts = (rng.choice(words.HEADS_GENITIVE), " ", genitive)
    parts += (rng.choice(words.TAILS), ".", rng.choice(words.SECOND_SENTENCES))
    # Folding part by part gives fold(text) (parts hold single spaces only) without folding
    # a hundred thousand distinct sentences one by one.
    return "".join(parts), "".join(_fold_part(part) for part in parts)


@lru_cache(maxsize=4096)
def _fold_part(part: str) -> str:
    if not part.strip():
        return part
    return f"{' ' if part.startswith(' ') else ''}{fold(part)}{' ' if part.endswith(' ') else ''}"


def _responsible(rng: random.Random, place: Place, group: int) -> list[int]:
    """Return 1–3 institutions of the region, the lead (suited to the work) first."""
    lead = rng.choice(place.leads[group])
    draw = rng.random()
    count = 1 if draw < 0.45 else 2 if draw < 0.8 else 3
    others = [i for i in rng.sample(place.regional, count) if i != lead][: count - 1]
    return [lead, *others]


def _steps(
    rng: random.Random, status: str, created: datetime
) -> list[tuple[str, str, datetime, str | None]]:
    """Return the status changes (from, to, at, note) that led from open to `status`."""
    if status == "open":
        return []
    if status == "in_progress" or (status == "withdrawn" and rng.random() < 0.5):
        path = ["open", status]
    else:
        path = ["open", "in_progress", status]
    # Steps fall between the meeting and the last day of the data, closer for recent meetings.
    room = (LAST - created).total_seconds()
    at = created
    steps = []
    for from_status, to_status in pairwise(path):
        at += timedelta(seconds=rng.uniform(0.05, 0.45) * min(room, 400 * 86400))
        note = None if to_status == "in_progress" else rng.choice(words.STATUS_NOTES[to_status])
        steps.append((from_status, to_status, at, note))
    return steps


def _change(
    ids: Ids,
    recommendation_id: int,
    from_status: str | None,
    to_status: str,
    at: datetime,
    note: Any,
) -> dict[str, Any]:
    return {
        "id": ids.next("recommendation_status_change"),
        "recommendation_id": recommendation_id,
        "from_status": from_status,
        "to_status": to_status,
        "note": note,
        "actor": ACTOR,
        "at": at,
    }
