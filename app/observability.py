"""Request ids, the body-size limit, security headers, JSON access logs and Prometheus metrics.

One pure-ASGI middleware does all of it, so each request pays for one wrapper. Logs carry the
route template (``/api/v1/meetings/{meeting_id}``), never the query string or any body: those
can hold stored free text.
"""

import logging
import re
import sys
import time
import uuid
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.audit import request_id_var
from app.errors import (
    PayloadTooLarge,
    internal_error_response,
    log_unexpected,
    render_app_error,
)

access_log = logging.getLogger("krat.access")

REQUESTS = Counter(
    "krat_http_requests_total", "HTTP requests handled", ["method", "route", "status"]
)
LATENCY = Histogram(
    "krat_http_request_duration_seconds",
    "Time to handle an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
_API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")

# Fields a log line may carry besides its message; anything else passed as `extra` is dropped.
_LOG_FIELDS = (
    "request_id",
    "method",
    "route",
    "status",
    "duration_ms",
    "actor",
    "error_type",
    "path",
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for field in _LOG_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        return orjson.dumps(entry).decode()


def configure_logging(level: str = "INFO") -> None:
    """Send every log record to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Uvicorn's own access log prints full URLs, query strings included: ours replaces it.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def metrics_response() -> Response:
    """Render this process's metrics in the Prometheus text format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _route_template(scope: Scope) -> str:
    """Return the matched route as a template (ids replaced by parameter names)."""
    if scope.get("route") is None:
        return "unmatched"
    names = {str(value): name for name, value in scope.get("path_params", {}).items()}
    segments = scope["path"].split("/")
    return "/".join(f"{{{names[s]}}}" if s in names else s for s in segments)


class RequestMiddleware:
    """Give every request an id, cap its body, add security headers, log and measure it."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        context_token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        is_api = scope["path"].startswith("/api/")

        started_response = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = message["status"]
                extra = [(b"x-request-id", request_id.encode()), *_SECURITY_HEADERS]
                if is_api:
                    extra.append(_API_CSP)
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            declared = headers.get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
                await self._too_large(scope, receive, send_with_headers)
            else:
                await self.app(scope, self._capped(receive), send_with_headers)
        except Exception as error:
            # Starlette renders unhandled errors outside every middleware, so its 500 would
            # carry no request id or security headers: render it here instead, and keep the
            # connection usable. Only a response cut off mid-stream is re-raised, so that the
            # server aborts it rather than let the client take it for complete.
            status = 500
            log_unexpected(error, scope["path"])
            scope["state"]["error_logged"] = True
            if started_response:
                raise
            await internal_error_response()(scope, receive, send_with_headers)
        finally:
            duration = time.perf_counter() - started
            route = _route_template(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(duration)
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration * 1000, 2),
                    "actor": scope.get("state", {}).get("actor"),
                },
            )
            request_id_var.reset(context_token)

    def _error(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"the request body is larger than the limit of {self.max_body_bytes} bytes",
            max_bytes=self.max_body_bytes,
        )

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await render_app_error(self._error())(scope, receive, send)

    def _capped(self, receive: Receive) -> Receive:
        received = 0
        limit = self.max_body_bytes

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI re-raises HTTPException from body reading (any other error
                    # becomes a 400); the problem handler renders it as 413.
                    raise HTTPException(413, detail=self._error().detail)
            return message

        return capped_receive
