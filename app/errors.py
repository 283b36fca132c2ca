"""Domain errors and the one renderer that turns every error into RFC 9457 problem details.

Messages never quote stored or submitted free text: a problem names the field (by JSON Pointer)
and what is wrong with it, so that error responses and logs stay free of sensitive content.
"""

import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

PROBLEM_BASE = "https://krat.example/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

log = logging.getLogger("krat.errors")


class AppError(Exception):
    """A failure the client can act on; rendered as problem details with `status`."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = {}


class Unauthorized(AppError):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers = {"WWW-Authenticate": 'Bearer realm="krat"'}


class Forbidden(AppError):
    status, slug, title = 403, "forbidden", "Not allowed"


class NotFound(AppError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(AppError):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(AppError):
    status, slug, title = 412, "precondition-failed", "Resource changed"


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class PreconditionRequired(AppError):
    status, slug, title = 428, "precondition-required", "Precondition required"


class Invalid(AppError):
    """A request with one or more problems, each located by a JSON Pointer or a parameter."""

    status, slug, title = 422, "validation", "Invalid request"

    def __init__(self, errors: Sequence[dict[str, str]], *, title: str | None = None) -> None:
        count = len(errors)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the request")
        self.errors = list(errors)
        if title:
            self.title = title


class ProblemCollector:
    """Collect every problem of a document, so that all are reported at once."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, pointer: str, detail: str) -> None:
        """Record one problem at `pointer` (a JSON Pointer into the request document)."""
        self.errors.append({"pointer": pointer, "detail": detail})

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self, *, title: str = "Invalid request") -> None:
        """Raise `Invalid` with every recorded problem, if there is one."""
        if self.errors:
            raise Invalid(self.errors, title=title)


def pointer(*parts: str | int) -> str:
    """Build a JSON Pointer (RFC 6901) from path parts."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def problem_response(
    status: int,
    *,
    slug: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """Render RFC 9457 problem details."""
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def render_app_error(error: AppError) -> Response:
    """Render a domain error."""
    extra = dict(error.extra)
    if isinstance(error, Invalid):
        extra["errors"] = error.errors
    return problem_response(
        error.status,
        slug=error.slug,
        title=error.title,
        detail=error.detail,
        headers=error.headers,
        **extra,
    )


# Pydantic inserts union-member tags into error locations: type names ("int", "str"),
# constrained or wrapped types ("constrained-str", "function-after[...]") and model class names
# ("BodyByKind"). They are not part of the document, so they are dropped from the pointer.
# Document fields are snake_case, so a hyphen, brackets or a capital never belong to a field.
_UNION_TAG = re.compile(
    r"^(int|str|float|bool|date|datetime|decimal|none"
    r"|[a-z]+(-[a-z]+)+|[a-z-]+\[.*\]|[A-Z][A-Za-z0-9]*)$"
)

_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this document",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "date_from_datetime_parsing": "must be a date as YYYY-MM-DD",
    "date_parsing": "must be a date as YYYY-MM-DD",
    "date_type": "must be a date as YYYY-MM-DD",
    "date_from_datetime_inexact": "must be a date as YYYY-MM-DD",
    "datetime_parsing": "must be a date and time as RFC 3339",
    "datetime_from_date_parsing": "must be a date and time as RFC 3339",
    "datetime_type": "must be a date and time as RFC 3339",
    "decimal_parsing": "must be a number",
    "decimal_type": "must be a number",
    "json_invalid": "is not valid JSON",
    "string_too_short": "must not be empty",
}


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    ctx = error.get("ctx") or {}
    if kind == "enum":
        return f"must be one of: {ctx.get('expected', '')}".replace("'", "")
    if kind == "literal_error":
        return f"must be {ctx.get('expected', '')}".replace("'", "")
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} items"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} items"
    if kind in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
        bound = {"greater_than_equal": "≥", "greater_than": ">", "less_than_equal": "≤"}
        value = next(iter(ctx.values()), "")
        return f"must be {bound.get(kind, '<')} {value}"
    if kind == "value_error":
        # Our own validators raise ValueError with a message written for the clerk.
        return str(ctx.get("error", error.get("msg", "is invalid")))
    if kind == "string_pattern_mismatch":
        return "has an invalid format"
    # Pydantic's own text names the rule, never the rejected value.
    return str(error.get("msg", "is invalid"))


def validation_problems(errors: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """Turn Pydantic errors into problem entries: a JSON Pointer for the body, else the
    parameter name; one entry per location (union branches are merged)."""
    entries: dict[tuple[str, str], str] = {}
    for error in errors:
        loc = [part for part in error.get("loc", ()) if not _is_union_tag(part)]
        source = loc[0] if loc else "body"
        # A JSON syntax error's location is a character offset, not a place in the document:
        # the problem is the whole body.
        path = [] if error.get("type") == "json_invalid" else loc[1:]
        message = _message(error)
        if source == "body":
            key = ("pointer", pointer(*path))
        else:
            key = ("parameter", str(path[0]) if path else str(source))
        if key in entries and message not in entries[key]:
            entries[key] = f"{entries[key]}, or {message}"
        else:
            entries.setdefault(key, message)
    return [{kind: where, "detail": message} for (kind, where), message in entries.items()]


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and bool(_UNION_TAG.match(part))


def install_error_handlers(app: FastAPI) -> None:
    """Render every error the application can raise as problem details."""

    @app.exception_handler(AppError)
    async def _app_error(_request: Request, error: AppError) -> Response:
        return render_app_error(error)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, error: RequestValidationError) -> Response:
        problems = validation_problems(error.errors())
        count = len(problems)
        return problem_response(
            422,
            slug="validation",
            title="Invalid request",
            detail=f"{count} problem{'s' if count != 1 else ''} in the request",
            errors=problems,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 400 and error.__cause__ is not None:
            # FastAPI answers 400 when a JSON body cannot even be decoded (not UTF-8, nested
            # too deeply); to the client that is invalid JSON, reported like any other.
            return render_app_error(
                Invalid([{"pointer": "", "detail": "is not valid JSON (UTF-8)"}])
            )
        titles = {
            400: "Bad request",
            404: "Not found",
            405: "Method not allowed",
            413: PayloadTooLarge.title,
        }
        slugs = {404: NotFound.slug, 413: PayloadTooLarge.slug}
        detail = error.detail if isinstance(error.detail, str) else titles.get(error.status_code)
        return problem_response(
            error.status_code,
            slug=slugs.get(error.status_code, f"http-{error.status_code}"),
            title=titles.get(error.status_code, "HTTP error"),
            detail=str(detail or ""),
            headers=dict(error.headers or {}),
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, error: IntegrityError) -> Response:
        # A uniqueness check in a service passed, then a concurrent transaction stored the same
        # key first: the database's constraint is the final word, and it is the client's 409.
        if is_unique_violation(error):
            return render_app_error(
                Conflict(
                    "a record with the same identity was stored meanwhile; "
                    "read the collection again and retry"
                )
            )
        log_unexpected(error, request.url.path)
        return internal_error_response()

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        # The request middleware has already logged and answered errors raised inside it;
        # Starlette still calls this, so log only what happened outside it.
        if not getattr(request.state, "error_logged", False):
            log_unexpected(error, request.url.path)
        return internal_error_response()


def is_unique_violation(error: IntegrityError) -> bool:
    """Tell whether a database error is a unique-constraint violation (PostgreSQL or SQLite)."""
    original = error.orig
    if getattr(original, "sqlstate", None) == "23505":
        return True
    return "UNIQUE constraint failed" in str(original)


def log_unexpected(error: BaseException, path: str) -> None:
    """Log an unhandled error by its type name only."""
    # Exception messages and tracebacks can carry stored text or SQL parameters.
    log.error("unhandled error", extra={"error_type": type(error).__name__, "path": path})


def internal_error_response() -> Response:
    """Render the 500 problem, which says nothing about the failure itself."""
    return problem_response(
        500,
        slug="internal",
        title="Internal server error",
        detail="The server failed to handle this request; it has been logged.",
    )
