"""Plain factory functions for test data: they add and flush, the test commits."""

from typing import Any

from sqlmodel import Session

from app.auth import hash_token, new_token
from app.institutions.service import derive_level
from app.models import ApiToken, Body, Institution, Role
from app.text import fold


def region_id(code: str) -> int:
    return int(code.removeprefix("AL-"))


def make_institution(session: Session, **overrides: Any) -> Institution:
    """Add an institution (regional in Durrës unless told otherwise)."""
    name = overrides.pop("name", "Drejtoria Vendore e Policisë Durrës")
    abbreviation = overrides.pop("abbreviation", None)
    region = overrides.pop("region", "AL-02")
    kind = overrides.pop("kind", "police")
    rid = region_id(region) if region else None
    institution = Institution(
        name=name,
        name_folded=fold(name),
        abbreviation=abbreviation,
        abbreviation_folded=fold(abbreviation) if abbreviation else None,
        kind=kind,
        level=overrides.pop("level", derive_level(kind, rid)),
        region_id=rid,
        **overrides,
    )
    session.add(institution)
    session.flush()
    return institution


def make_body(session: Session, **overrides: Any) -> Body:
    """Add a body (Durrës's Technical Table unless told otherwise)."""
    region = overrides.pop("region", "AL-02")
    kind = overrides.pop("kind", "technical_table")
    name = overrides.pop("name", f"Tryeza Teknike {region}")
    body = Body(
        kind=kind, region_id=region_id(region), name=name, name_folded=fold(name), **overrides
    )
    session.add(body)
    session.flush()
    return body


def make_token(
    session: Session,
    role: str = "reader",
    *,
    region: str | None = None,
    institution_id: int | None = None,
    name: str | None = None,
) -> dict[str, str]:
    """Add an API token and return the Authorization header that carries it."""
    token = new_token()
    session.add(
        ApiToken(
            name=name or f"{role}-{region or institution_id or 'all'}-{token[-6:]}",
            role=Role(role),
            region_id=region_id(region) if region else None,
            institution_id=institution_id,
            token_hash=hash_token(token),
        )
    )
    session.flush()
    return {"Authorization": f"Bearer {token}"}
