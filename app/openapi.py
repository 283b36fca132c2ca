"""Documented error responses and headers shared by the routers, with examples."""

from typing import Annotated, Any

from fastapi import Header, Path, Query

from app.errors import PROBLEM_BASE, PROBLEM_MEDIA_TYPE
from app.schemas import MAX_ID

# FastAPI's `responses=`: status code → OpenAPI response object.
Responses = dict[int | str, dict[str, Any]]


def _problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    example = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    example.update(extra)
    return {
        "description": title,
        "content": {
            PROBLEM_MEDIA_TYPE: {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": example,
            }
        },
    }


UNAUTHORIZED: Responses = {
    401: _problem(
        401, "unauthorized", "Authentication required", "send 'Authorization: Bearer <token>'"
    )
}
FORBIDDEN: Responses = {
    403: _problem(
        403,
        "forbidden",
        "Not allowed",
        "a secretariat token may write only records of its own region",
    )
}
NOT_FOUND: Responses = {404: _problem(404, "not-found", "Not found", "there is no institution 17")}
CONFLICT: Responses = {
    409: _problem(
        409,
        "conflict",
        "Conflict",
        "an institution with this name already exists in AL-02",
        existing_id=5,
    )
}
PRECONDITION_FAILED: Responses = {
    412: _problem(
        412,
        "precondition-failed",
        "Resource changed",
        "the resource was changed since you read it; read it again and reapply your change",
        current_etag='"v3"',
    )
}
TOO_LARGE: Responses = {
    413: _problem(
        413,
        "payload-too-large",
        "Request body too large",
        "the request body is larger than the limit of 1048576 bytes",
    )
}
INVALID: Responses = {
    422: _problem(
        422,
        "validation",
        "Invalid request",
        "2 problems in the request",
        errors=[
            {
                "pointer": "/recommendations/1/responsible/0/institution",
                "detail": "unknown institution 'ZVAP Durres' in AL-02; did you mean "
                "'Zyra Vendore e Arsimit Parauniversitar Durrës' (ZVAP)?",
            },
            {"pointer": "/held_on", "detail": "date is in the future"},
        ],
    )
}
NOT_MODIFIED: Responses = {
    304: {"description": "Not modified: the copy named by If-None-Match is current"}
}

# Each operation documents the errors it can answer, no more: 404 only where the path names a
# record, 412 only where If-Match is taken (tests/test_owasp_api9_inventory.py holds to it).
# 409 stays on every write: a unique constraint hit by a concurrent writer answers it anywhere.

# Collections.
LIST_ERRORS: Responses = {
    **NOT_MODIFIED,
    **UNAUTHORIZED,
    **INVALID,
}
# A record, or a collection under one, named by the path.
READ_ERRORS: Responses = {**LIST_ERRORS, **NOT_FOUND}
# A new record posted to a collection.
CREATE_ERRORS: Responses = {
    **UNAUTHORIZED,
    **FORBIDDEN,
    **CONFLICT,
    **TOO_LARGE,
    **INVALID,
}
# A change to the record the path names, conditional on If-Match.
WRITE_ERRORS: Responses = {
    **CREATE_ERRORS,
    **NOT_FOUND,
    **PRECONDITION_FAILED,
}

IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The resource's id.", examples=[1])]


def id_query(description: str, example: int) -> Any:
    """Return the Query() of an optional id filter, bounded like every id."""
    return Query(ge=1, le=MAX_ID, description=description, examples=[example])


# Room for a few ETags; a longer header is not one a client of this API sends.
MAX_IF_MATCH = 200

IfMatchHeader = Annotated[
    str | None,
    Header(
        max_length=MAX_IF_MATCH,
        description="The ETag you read; the write is refused with 412 if the resource changed.",
        examples=['"v1"'],
    ),
]

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["detail"],
                "properties": {
                    "pointer": {"type": "string", "description": "JSON Pointer into the body"},
                    "parameter": {"type": "string", "description": "Query or path parameter"},
                    "detail": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}
