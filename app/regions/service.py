"""The 12 regions: seeded by the first migration, never changed, so cached per process."""

from functools import lru_cache

from sqlmodel import Session, col, select

from app.db import get_engine
from app.errors import NotFound
from app.models import Region
from app.regions.schemas import RegionRead


@lru_cache
def _regions() -> tuple[RegionRead, ...]:
    with Session(get_engine()) as session:
        rows = session.exec(select(Region).order_by(col(Region.id))).all()
    return tuple(RegionRead(code=r.code, name=r.name) for r in rows)


def all_regions() -> tuple[RegionRead, ...]:
    """Return the regions in code order."""
    return _regions()


def region_id(code: str) -> int:
    """Return the id of the region with ISO `code` (ids are the code's number)."""
    if not any(r.code == code for r in _regions()):
        raise NotFound(f"there is no region {code}")
    return int(code.removeprefix("AL-"))


def region_ref(region_id: int | None) -> RegionRead | None:
    """Return the code and name of a region id."""
    if region_id is None:
        return None
    return _regions()[region_id - 1]


def region_code(region_id: int | None) -> str | None:
    """Return the ISO code of a region id."""
    return None if region_id is None else f"AL-{region_id:02d}"


def clear_cache() -> None:
    """Forget the cached regions (tests point the process at a new database)."""
    _regions.cache_clear()


__all__ = ["Session", "all_regions", "clear_cache", "region_code", "region_id", "region_ref"]
