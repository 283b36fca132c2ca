"""Posting minutes: stored whole or not at all, idempotent, every problem reported at once."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, func, select

from app import clock
from app.meetings import ingest
from app.models import (
    AuditEvent,
    Institution,
    Meeting,
    Problem,
    Recommendation,
    RecommendationResponsible,
    RecommendationStatusChange,
)

from factories import (
    make_body,
    make_durres_table,
    make_institution,
    make_plan_activity,
    make_token,
    minutes_document,
    post_minutes,
)

URL = "/api/v1/meetings"


def row_counts(db: Session) -> dict[str, int]:
    """Count the rows of every table (regions aside)."""
    db.expire_all()
    counts = {}
    for table in SQLModel.metadata.sorted_tables:
        if table.name != "region":
            counts[table.name] = db.execute(select(func.count()).select_from(table)).scalar_one()
    db.rollback()
    return counts


@pytest.fixture
def durres(db: Session) -> dict[str, Institution]:
    found = make_durres_table(db)
    db.commit()
    return found


def errors_by_pointer(response: Any) -> dict[str, str]:
    return {e["pointer"]: e["detail"] for e in response.json()["errors"]}


def test_first_post_creates_the_meeting_with_location(
    client: TestClient, admin: dict[str, str], durres: dict[str, Institution], db: Session
) -> None:
    response = client.post(URL, json=minutes_document(), headers=admin)
    assert response.status_code == 201, response.text
    minutes = response.json()
    assert response.headers["Location"] == f"{URL}/{minutes['id']}"
    assert response.headers["ETag"] == f'"v{minutes["version"]}"'
    assert minutes["body"]["name"] == "Tryeza Teknike Durrës"
    assert minutes["region"] == {"code": "AL-02", "name": "Durrës"}
    assert minutes["chair"]["institution"]["name"] == "Prefektura e Qarkut Durrës"
    assert [a["institution"]["name"] for a in minutes["attendees"]] == [
        "Bashkia Durrës",
        "World Vision Shqipëri",
        "Zyra Vendore e Arsimit Parauniversitar Durrës",
    ]
    r1 = minutes["recommendations"][0]
    assert r1["status"] == "open" and r1["problem"] == "p1"
    assert r1["problem_id"] == minutes["problems"][0]["id"]
    # The lead comes first whatever the document's order.
    assert [(r["institution"]["abbreviation"], r["lead"]) for r in r1["responsible"]] == [
        ("ZVAP", True),
        ("DRSHSSH", False),
    ]
    stored = db.exec(select(Recommendation)).all()
    assert {r.region_id for r in stored} == {2}
    history = db.exec(select(RecommendationStatusChange)).all()
    assert sorted((h.from_status, h.to_status, h.note) for h in history) == [
        (None, "open", None),
        (None, "open", None),
    ]
    events = db.exec(select(AuditEvent).where(AuditEvent.entity == "meeting")).all()
    assert [(e.action, e.entity_id) for e in events] == [("create", minutes["id"])]


def test_new_institutions_are_created_in_the_bodys_region(
    client: TestClient, admin: dict[str, str], durres: dict[str, Institution], db: Session
) -> None:
    response = client.post(URL, json=minutes_document(), headers=admin)
    assert response.status_code == 201, response.text
    created = db.exec(select(Institution).where(Institution.abbreviation == "WV")).one()
    assert (created.name, created.region_id, created.kind) == ("World Vision Shqipëri", 2, "ngo")
    audited = db.exec(
        select(AuditEvent).where(
            AuditEvent.entity == "institution", AuditEvent.entity_id == created.id
        )
    ).all()
    assert len(audited) == 1


def test_reposting_the_same_minutes_creates_nothing(
    client: TestClient, admin: dict[str, str], durres: dict[str, Institution], db: Session
) -> None:
    first = client.post(URL, json=minutes_document(), headers=admin)
    assert first.status_code == 201
    before = row_counts(db)
    again = client.post(URL, json=minutes_document(), headers=admin)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert "Location" not in again.headers
    by_id = minutes_document(body={"id": first.json()["body"]["id"]})
    assert client.post(URL, json=by_id, headers=admin).status_code == 200
    assert row_counts(db) == before


def test_reposting_changed_minutes_is_a_conflict_naming_put(
    client: TestClient, admin: dict[str, str], durres: dict[str, Institution], db: Session
) -> None:
    meeting_id = client.post(URL, json=minutes_document(), headers=admin).json()["id"]
    before = row_counts(db)
    response = client.post(URL, json=minutes_document(title="Takim i ndryshuar"), headers=admin)
    assert response.status_code == 409
    problem = response.json()
    assert problem["meeting_id"] == meeting_id
    assert f"PUT /api/v1/meetings/{meeting_id}" in problem["detail"]
    assert "ndryshuar" not in response.text
    assert row_counts(db) == before


@pytest.mark.parametrize("declares_institutions", [False, True])
def test_a_concurrent_identical_post_answers_as_the_second(
    client: TestClient,
    admin: dict[str, str],
    durres: dict[str, Institution],
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
    declares_institutions: bool,
) -> None:
    document = minutes_document()
    if not declares_institutions:
        document["new_institutions"] = []
        document["attendees"].pop(1)
        document["recommendations"].pop(1)
    first = client.post(URL, json=document, headers=admin).json()
    before = row_counts(db)
    real = ingest.find_existing
    calls: list[int] = []

    def racing(*args: Any, **kwargs: Any) -> Any:
        # The first look misses the row, as if the other post committed just after it: the
        # insert then hits the unique constraint, or the declared institutions already exist.
        calls.append(1)
        return None if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(ingest, "find_existing", racing)
    response = client.post(URL, json=document, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == first["id"]
    assert len(calls) == 2
    assert row_counts(db) == before


def test_two_identical_posts_racing_make_one_meeting(
    client: TestClient,
    admin: dict[str, str],
    durres: dict[str, Institution],
    db: Session,
    is_postgres: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not is_postgres:
        pytest.skip("SQLite takes the write lock at BEGIN: two posts cannot interleave")
    both_checked = threading.Barrier(2, timeout=20)
    real_create = ingest._create

    def after_both_checked(*args: Any, **kwargs: Any) -> Any:
        # Both posts have looked for the minutes and found none before either stores them.
        both_checked.wait()
        return real_create(*args, **kwargs)

    monkeypatch.setattr(ingest, "_create", after_both_checked)
    with ThreadPoolExecutor(2) as pool:
        responses = list(
            pool.map(lambda _: client.post(URL, json=minutes_document(), headers=admin), [1, 2])
        )
    assert sorted(r.status_code for r in responses) == [200, 201]
    assert responses[0].json()["id"] == responses[1].json()["id"]
    assert db.exec(select(func.count()).select_from(Meeting)).one() == 1
    assert db.exec(select(func.count()).select_from(Institution)).one() == len(durres) + 1


def test_the_unique_constraint_guards_body_and_external_ref(
    db: Session, durres: dict[str, Institution]
) -> None:
    meeting = post_minutes(db)
    db.commit()
    duplicate = Meeting(
        body_id=meeting.body_id,
        region_id=meeting.region_id,
        external_ref=meeting.external_ref,
        held_on=meeting.held_on,
        kind="regular",
        title="x",
        document_hash="0" * 64,
    )
    db.add(duplicate)
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()


def test_a_bad_document_stores_nothing_and_reports_every_problem(
    client: TestClient, admin: dict[str, str], durres: dict[str, Institution], db: Session
) -> None:
    document = minutes_document()
    document["held_on"] = (clock.today() + timedelta(days=3)).isoformat()
    document["attendees"].append({"institution": "Bashkia Durrës"})
    document["problems"].append({"key": "p1", "theme": "coordination", "title": "Tjetër"})
    document["recommendations"][0]["responsible"][0]["institution"] = "ZVAP Durres"
    document["recommendations"][1]["problem"] = "p9"
    document["recommendations"][1]["responsible"].append({"institution": "DRSHSSH", "lead": True})
    document["recommendations"][1]["responsible"].append({"institution": "Policia e Shtetit"})
    before = row_counts(db)
    response = client.post(URL, json=document, headers=admin)
    assert response.status_code == 422
    body = response.json()
    assert body["title"] == "Invalid minutes"
    errors = errors_by_pointer(response)
    assert errors["/held_on"] == "date is in the future"
    assert "/attendees/0" in errors["/attendees/3/institution"]
    assert "/problems/0" in errors["/problems/1/key"]
    assert errors["/recommendations/0/responsible/0/institution"].startswith(
        "unknown institution 'ZVAP Durres' in AL-02; did you mean "
    )
    assert "(ZVAP)" in errors["/recommendations/0/responsible/0/institution"]
    assert "p9" in errors["/recommendations/1/problem"]
    assert "only one" in errors["/recommendations/1/responsible/2/lead"]
    assert (
        "unknown institution 'Policia e Shtetit'"
        in errors["/recommendations/1/responsible/3/institution"]
    )
    assert body["detail"] == f"{len(errors)} problems in the request"
    assert row_counts(db) == before
    # No free text of the document is echoed back.
    assert "Tjetër" not in response.text and "Monitorimi" not in response.text


def test_an_unknown_body_is_reported_with_the_other_problems(
    client: TestClient, admin: dict[str, str], durres: dict[str, Institution]
) -> None:
    document = minutes_document(body={"region": "AL-05", "kind": "committee"})
    document["recommendations"][0]["key"] = "r2"
    response = client.post(URL, json=document, headers=admin)
    assert response.status_code == 422
    errors = errors_by_pointer(response)
    assert errors["/body"] == "AL-05 has no body of kind committee"
    assert "/recommendations/1/key" in errors
    # Gjirokastër has no ZVAP: references are checked against the named region.
    assert "/problems/0/raised_by" in errors
    by_id = client.post(URL, json=minutes_document(body={"id": 999}), headers=admin)
    assert by_id.status_code == 422
    assert errors_by_pointer(by_id) == {"/body": "there is no body 999"}


def test_ambiguous_references_list_the_candidates(
    client: TestClient, admin: dict[str, str], durres: dict[str, Institution], db: Session
) -> None:
    make_institution(db, name="Drejtoria Rajonale e Punësimit Durrës", abbreviation="DRP")
    make_institution(db, name="Drejtoria Rajonale e Policisë Durrës", abbreviation="DRP")
    db.commit()
    document = minutes_document()
    document["attendees"].append({"institution": "drp"})
    response = client.post(URL, json=document, headers=admin)
    assert response.status_code == 422
    detail = errors_by_pointer(response)["/attendees/3/institution"]
    assert "ambiguous" in detail and "Punësimit" in detail and "Policisë" in detail


def test_references_by_id_name_and_abbreviation_ignore_case_and_diacritics(
    client: TestClient, admin: dict[str, str], durres: dict[str, Institution]
) -> None:
    document = minutes_document()
    document["attendees"] = [
        {"institution": durres["police"].id},
        {"institution": "PREFEKTURA E QARKUT DURRES"},
        {"institution": "iom"},
    ]
    response = client.post(URL, json=document, headers=admin)
    assert response.status_code == 201, response.text
    assert [a["institution"]["id"] for a in response.json()["attendees"]] == [
        durres["police"].id,
        durres["prefecture"].id,
        durres["iom"].id,
    ]


def test_declaring_an_existing_institution_is_refused(
    client: TestClient, admin: dict[str, str], durres: dict[str, Institution]
) -> None:
    document = minutes_document()
    document["new_institutions"] += [
        {"name": "Bashkia Durres", "kind": "municipality"},
        {"name": "Organizata Nderkombetare per Migracionin", "kind": "international"},
        {"name": "world vision shqipëri", "kind": "ngo"},
    ]
    response = client.post(URL, json=document, headers=admin)
    assert response.status_code == 422
    errors = errors_by_pointer(response)
    assert "already exists in AL-02" in errors["/new_institutions/1/name"]
    assert "already exists in the national institutions" in errors["/new_institutions/2/name"]
    assert "/new_institutions/0" in errors["/new_institutions/3/name"]


def test_activity_links_must_name_an_activity_of_a_plan_of_the_region(
    client: TestClient, admin: dict[str, str], durres: dict[str, Institution], db: Session
) -> None:
    here = make_plan_activity(db, region="AL-02", code="1.2")
    elsewhere = make_plan_activity(db, region="AL-10", code="1.2")
    db.commit()
    document = minutes_document()
    document["recommendations"][0]["activity"] = {"plan": elsewhere.action_plan_id, "code": "1.2"}
    document["recommendations"][1]["activity"] = {"plan": here.action_plan_id, "code": "9.9"}
    response = client.post(URL, json=document, headers=admin)
    assert response.status_code == 422
    errors = errors_by_pointer(response)
    assert "belongs to AL-10, not to AL-02" in errors["/recommendations/0/activity"]
    assert "has no activity '9.9'" in errors["/recommendations/1/activity"]
    document["recommendations"][1]["activity"] = {"plan": 999, "code": "1.2"}
    missing = client.post(URL, json=document, headers=admin)
    assert errors_by_pointer(missing)["/recommendations/1/activity"] == (
        "there is no action plan 999"
    )
    document["recommendations"][0]["activity"] = {"plan": here.action_plan_id, "code": "1.2"}
    del document["recommendations"][1]["activity"]
    linked = client.post(URL, json=document, headers=admin)
    assert linked.status_code == 201, linked.text
    assert linked.json()["recommendations"][0]["activity"] == {
        "id": here.id,
        "plan_id": here.action_plan_id,
        "code": "1.2",
    }
    assert linked.json()["recommendations"][1]["activity"] is None


def test_shape_errors_have_pointers_and_limits(
    client: TestClient, admin: dict[str, str], durres: dict[str, Institution]
) -> None:
    document = minutes_document(colour="blue")
    document["recommendations"][0]["text"] = "x" * 5001
    document["recommendations"][1]["responsible"] = []
    document["problems"][0]["key"] = "p 1"
    document["body"] = {"id": 1, "region": "AL-02"}
    document["attendees"] = [{"institution": "Bashkia Durrës"}] * 201
    response = client.post(URL, json=document, headers=admin)
    assert response.status_code == 422
    errors = errors_by_pointer(response)
    assert errors["/colour"] == "is not a field of this document"
    assert errors["/recommendations/0/text"] == "must be at most 5000 characters"
    assert errors["/recommendations/1/responsible"].startswith("must have at least 1")
    assert "letters, digits" in errors["/problems/0/key"]
    assert "either" in errors["/body"]
    assert errors["/attendees"] == "must have at most 200 items"


def test_a_due_date_before_the_meeting_is_refused(
    client: TestClient, admin: dict[str, str], durres: dict[str, Institution]
) -> None:
    document = minutes_document()
    document["recommendations"][0]["due_on"] = "2017-10-26"
    response = client.post(URL, json=document, headers=admin)
    assert response.status_code == 422
    assert errors_by_pointer(response) == {
        "/recommendations/0/due_on": "due date is before the meeting"
    }


def test_secretariats_post_only_for_their_own_region(
    client: TestClient, durres: dict[str, Institution], db: Session
) -> None:
    shkoder = make_token(db, "secretariat", region="AL-10")
    own = make_token(db, "secretariat", region="AL-02")
    reader = make_token(db, "reader")
    db.commit()
    before = row_counts(db)
    refused = client.post(URL, json=minutes_document(), headers=shkoder)
    assert refused.status_code == 403
    # Even an invalid document of another region is a 403, not a list of its problems.
    bad = minutes_document(held_on="2999-01-01")
    assert client.post(URL, json=bad, headers=shkoder).status_code == 403
    assert client.post(URL, json=minutes_document(), headers=reader).status_code == 403
    assert (
        client.post(URL, json=minutes_document(body={"id": 999}), headers=reader).status_code == 403
    )
    assert row_counts(db) == before
    created = client.post(URL, json=minutes_document(), headers=own)
    assert created.status_code == 201, created.text


def test_get_returns_the_document_with_ids(
    client: TestClient, admin: dict[str, str], durres: dict[str, Institution]
) -> None:
    created = client.post(URL, json=minutes_document(), headers=admin).json()
    response = client.get(f"{URL}/{created['id']}", headers=admin)
    assert response.status_code == 200
    assert response.json() == created
    minutes = response.json()
    assert minutes["external_ref"] == "DR-TT-2017-10-27"
    assert minutes["agenda"] == minutes_document()["agenda"]
    assert minutes["attendees"][0]["representatives"] == [
        {"name": "Përfaqësues i Bashkisë", "position": "Specialist"}
    ]
    assert minutes["problems"][0]["raised_by"]["abbreviation"] == "ZVAP"
    assert minutes["withdrawn"] is False and minutes["withdrawn_at"] is None
    assert all(isinstance(r["id"], int) for r in minutes["recommendations"])
    cached = client.get(
        f"{URL}/{created['id']}", headers={**admin, "If-None-Match": response.headers["ETag"]}
    )
    assert cached.status_code == 304
    assert client.get(f"{URL}/999", headers=admin).status_code == 404


def test_the_meeting_etag_changes_when_a_problem_changes(
    client: TestClient, admin: dict[str, str], durres: dict[str, Institution]
) -> None:
    created = client.post(URL, json=minutes_document(), headers=admin)
    etag = created.headers["ETag"]
    problem_id = created.json()["problems"][0]["id"]
    patched = client.patch(
        f"/api/v1/problems/{problem_id}", json={"theme": "child_protection"}, headers=admin
    )
    assert patched.status_code == 200
    again = client.get(f"{URL}/{created.json()['id']}", headers={**admin, "If-None-Match": etag})
    assert again.status_code == 200
    assert again.json()["problems"][0]["theme"] == "child_protection"


def _post(client: TestClient, admin: dict[str, str], **overrides: Any) -> int:
    document = minutes_document(**overrides)
    document["new_institutions"] = []
    document["attendees"].pop(1)
    document["recommendations"][1]["responsible"] = [{"institution": "DVP", "lead": True}]
    if "body" in overrides:
        document["new_institutions"] = []
        document["attendees"] = []
        document["problems"] = []
        document["recommendations"] = []
        document["chair"] = None
    response = client.post(URL, json=document, headers=admin)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_list_filters_by_region_body_dates_kind_and_title(
    client: TestClient, admin: dict[str, str], durres: dict[str, Institution], db: Session
) -> None:
    shkoder = make_body(
        db, region="AL-10", kind="committee", name="Komiteti Rajonal Antitrafik Shkodër"
    )
    db.commit()
    table = _post(client, admin)
    workshop = _post(
        client,
        admin,
        external_ref="SH-2017-06",
        body={"id": shkoder.id},
        held_on="2017-06-20",
        kind="workshop",
        title="Punëtori për fuqizimin e kapaciteteve",
    )
    later = _post(
        client, admin, external_ref="DR-TT-2018-01", held_on="2018-01-15", title="Takim pune"
    )

    def ids(**params: Any) -> list[int]:
        response = client.get(URL, params=params, headers=admin)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids() == [later, table, workshop]
    assert ids(region="AL-02") == [later, table]
    assert ids(body=shkoder.id) == [workshop]
    assert ids(**{"from": "2017-10-01", "to": "2017-12-31"}) == [table]
    assert ids(kind="workshop") == [workshop]
    assert ids(q="PUNETORI") == [workshop]
    page = client.get(URL, params={"limit": 2}, headers=admin)
    assert page.json()["total"] == 3 and page.json()["next_cursor"]
    rest = client.get(URL, params={"limit": 2, "cursor": page.json()["next_cursor"]}, headers=admin)
    assert [i["id"] for i in rest.json()["items"]] == [workshop]
    item = client.get(URL, params={"region": "AL-02", "to": "2017-12-31"}, headers=admin).json()
    assert item["items"][0] == {
        "id": table,
        "external_ref": "DR-TT-2017-10-27",
        "held_on": "2017-10-27",
        "kind": "regular",
        "title": "Takim me Tryezën Teknike KRAT",
        "body": {
            "id": item["items"][0]["body"]["id"],
            "region": "AL-02",
            "kind": "technical_table",
            "name": "Tryeza Teknike Durrës",
        },
        "region": {"code": "AL-02", "name": "Durrës"},
        "problems": 1,
        "recommendations": 2,
        "withdrawn": False,
    }
    assert client.get(URL, params={"kind": "picnic"}, headers=admin).status_code == 422


def test_stored_rows_match_the_document(db: Session, durres: dict[str, Institution]) -> None:
    meeting = post_minutes(db)
    db.commit()
    assert db.exec(select(func.count()).select_from(Problem)).one() == 1
    responsible = db.exec(
        select(RecommendationResponsible).order_by(
            RecommendationResponsible.recommendation_id, RecommendationResponsible.position
        )
    ).all()
    assert [(r.institution_id, r.lead, r.position) for r in responsible][:2] == [
        (durres["zvap"].id, True, 0),
        (durres["drshssh"].id, False, 1),
    ]
    assert meeting.title_folded == "takim me tryezen teknike krat"
    assert len(meeting.document_hash) == 64
