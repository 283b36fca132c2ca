"""Documented error responses and headers shared by the routers, with examples."""

from typing import Annotated, Any

from fastapi import Header

from app.errors import PROBLEM_BASE, PROBLEM_MEDIA_TYPE


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


UNAUTHORIZED = {
    401: _problem(
        401, "unauthorized", "Authentication required", "send 'Authorization: Bearer <token>'"
    )
}
FORBIDDEN = {
    403: _problem(
        403,
        "forbidden",
        "Not allowed",
        "a secretariat token may write only records of its own region",
    )
}
NOT_FOUND = {404: _problem(404, "not-found", "Not found", "there is no institution 17")}
CONFLICT = {
    409: _problem(
        409,
        "conflict",
        "Conflict",
        "an institution with this name already exists in AL-02",
        existing_id=5,
    )
}
PRECONDITION_FAILED = {
    412: _problem(
        412,
        "precondition-failed",
        "Resource changed",
        "the resource was changed since you read it; read it again and reapply your change",
        current_etag='"v3"',
    )
}
TOO_LARGE = {
    413: _problem(
        413,
        "payload-too-large",
        "Request body too large",
        "the request body is larger than the limit of 1048576 bytes",
    )
}
INVALID = {
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
NOT_MODIFIED = {304: {"description": "Not modified: the copy named by If-None-Match is current"}}

READ_ERRORS: dict[int | str, dict[str, Any]] = {
    **NOT_MODIFIED,
    **UNAUTHORIZED,
    **NOT_FOUND,
    **INVALID,
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **UNAUTHORIZED,
    **FORBIDDEN,
    **NOT_FOUND,
    **CONFLICT,
    **PRECONDITION_FAILED,
    **TOO_LARGE,
    **INVALID,
}

IfMatchHeader = Annotated[
    str | None,
    Header(
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
