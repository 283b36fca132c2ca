"""JSON responses with validators: ETag on reads, 304 for If-None-Match, 412 for If-Match.

A single resource's ETag is its `version` (bumped by every change to it), so a write can check
`If-Match` inside its transaction without rendering anything. A list's ETag is a hash of the
page it returns.
"""

import hashlib
from decimal import Decimal
from typing import Any

import orjson
from fastapi import Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response
from starlette.types import Scope

from app.errors import PreconditionFailed
from app.models import DataRevision
from app.pagination import next_link

JSON_MEDIA_TYPE = "application/json"


def dumps(payload: Any) -> bytes:
    """Serialise a payload of models, dicts, dates and datetimes to JSON bytes."""
    return orjson.dumps(payload, default=_default, option=_OPTIONS)


# Timestamps are stored in UTC; SQLite hands them back naive, so naive means UTC.
_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def data_revision(session: Session) -> int:
    """Return the count of committed writes (one primary-key read; see models.DataRevision)."""
    return int(session.execute(select(DataRevision.value)).scalar() or 0)


def revision_etag(scope: Scope, revision: int, *extra: object) -> str:
    """Return a list's ETag: the data revision and the query, so no page needs computing.

    Every write bumps the revision, so an unchanged revision means an unchanged answer to the
    same query (`extra` carries what else the answer depends on, such as today's date). It is
    computed from the raw ASGI scope, so app.conditional can compute it before routing.
    """
    query = b"%s?%s|%s" % (scope["path"].encode(), scope["query_string"], repr(extra).encode())
    return f'W/"r{revision}-{hashlib.blake2b(query, digest_size=8).hexdigest()}"'


def not_modified(request: Request, etag: str) -> Response | None:
    """Return a 304 when the client's If-None-Match names `etag`, else None."""
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    return None


def version_etag(version: int, *shows: object) -> str:
    """Return the ETag of a single resource at `version`.

    `shows` names what else its representation depends on (an action plan shows its linked
    recommendations' statuses, and whether they are overdue today): the ETag then changes with
    those too, so a 304 is never stale, while If-Match compares only the version part.
    """
    if not shows:
        return f'"v{version}"'
    digest = hashlib.blake2b(repr(shows).encode(), digest_size=6).hexdigest()
    return f'"v{version}.{digest}"'


def _names_version(header: str, version: int) -> bool:
    """Tell whether an If-Match header names `version` (any ETag version_etag made for it)."""
    wanted = f"v{version}"
    for candidate in (part.strip() for part in header.split(",")):
        tag = candidate.removeprefix("W/").strip('"')
        if candidate == "*" or tag.split(".")[0] == wanted:
            return True
    return False


def etag_matches(header: str | None, etag: str) -> bool:
    """Tell whether an If-None-Match or If-Match header names `etag` (weak comparison)."""
    if not header:
        return False
    candidates = [part.strip() for part in header.split(",")]
    bare = etag.removeprefix("W/")
    return "*" in candidates or any(c.removeprefix("W/") == bare for c in candidates)


def json_response(
    request: Request,
    payload: Any,
    *,
    status_code: int = 200,
    etag: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render `payload`; on GET, tag it and answer 304 when the client's copy is current."""
    body = dumps(payload)
    all_headers = dict(headers or {})
    if request.method in {"GET", "HEAD"} or etag is not None:
        etag = etag or 'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        all_headers["ETag"] = etag
        if request.method in {"GET", "HEAD"} and etag_matches(
            request.headers.get("if-none-match"), etag
        ):
            return Response(status_code=304, headers=all_headers)
    return Response(body, status_code=status_code, media_type=JSON_MEDIA_TYPE, headers=all_headers)


def page_response(
    request: Request,
    items: list[Any],
    next_cursor: str | None,
    total: int,
    *,
    etag: str | None = None,
) -> Response:
    """Render one page of a list, with its `Link: rel="next"` header."""
    page = {"items": items, "next_cursor": next_cursor, "total": total}
    return json_response(request, page, etag=etag, headers=next_link(request, next_cursor))


def check_if_match(request: Request, version: int) -> None:
    """Raise 412 if the request's If-Match names another version of the resource."""
    header = request.headers.get("if-match")
    if header and not _names_version(header, version):
        raise PreconditionFailed(
            "the resource was changed since you read it; read it again and reapply your change",
            current_etag=version_etag(version),
        )
