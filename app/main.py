"""The application: routers, error handlers, middleware, health and metrics."""

from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from sqlalchemy import text
from starlette.responses import JSONResponse, Response

from app.action_plans.router import router as action_plans_router
from app.audit_events.router import router as audit_events_router
from app.bodies.router import router as bodies_router
from app.conditional import ConditionalListMiddleware
from app.config import get_settings
from app.db import get_engine
from app.errors import install_error_handlers
from app.follow_ups.router import router as follow_ups_router
from app.institutions.router import router as institutions_router
from app.meetings.router import router as meetings_router
from app.migrations import current_revision, head_revision
from app.observability import RequestMiddleware, configure_logging, metrics_response
from app.openapi import PROBLEM_SCHEMA
from app.problems.router import router as problems_router
from app.recommendations.router import router as recommendations_router
from app.regions.router import router as regions_router
from app.schemas import reject_nul_in_query
from app.tokens.router import router as tokens_router

API_PREFIX = "/api/v1"
RECOMMENDATIONS_PATH = f"{API_PREFIX}/recommendations"

DESCRIPTION = """
The system of record for Albania's Regional Anti-Trafficking Committees (KRAT) and their
Technical Tables: member institutions, meetings and their minutes, the problems raised, the
recommendations made and who must carry them out, and the regional action plans.

**Authentication**: `Authorization: Bearer <token>`. Tokens come from `krat tokens create`.

**Errors** are RFC 9457 problem details (`application/problem+json`); a 422 lists every problem
at once, each with a JSON Pointer into the request document (or the name of the parameter).

**Lists** are keyset-paged: pass `next_cursor` back as `cursor`; `Link: rel="next"` says the same.
Reads carry an `ETag`; send it as `If-None-Match` for a 304, or as `If-Match` on a write to get
412 instead of overwriting someone else's change.

Names are matched case- and diacritic-insensitively: `durres` finds `Durrës`.
"""


def create_app() -> FastAPI:
    """Build the application from the current settings."""
    settings = get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="krat-tracker",
        version="1.0.0",
        description=DESCRIPTION,
        docs_url="/docs" if settings.docs_enabled else None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    install_error_handlers(app)
    app.include_router(_operations_router())
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(reject_nul_in_query)])
    for router in (
        regions_router,
        institutions_router,
        bodies_router,
        meetings_router,
        problems_router,
        tokens_router,
        recommendations_router,
        follow_ups_router,
        action_plans_router,
        audit_events_router,
    ):
        api.include_router(router)
    app.include_router(api)
    # Added innermost first: the 304 short cut still gets a request id, headers, log and metrics.
    app.add_middleware(ConditionalListMiddleware, path=RECOMMENDATIONS_PATH)
    app.add_middleware(RequestMiddleware, max_body_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "X-Request-ID",
            ],
            expose_headers=["ETag", "Link", "Location", "X-Request-ID"],
        )
    app.openapi = lambda: _openapi_schema(app)  # type: ignore[method-assign]
    return app


def _openapi_schema(app: FastAPI) -> dict[str, Any]:
    """Build the OpenAPI schema once, with the problem-details schema the errors refer to."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        app.openapi_schema = schema
    return app.openapi_schema


def _operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Tell whether the process is alive")
    def healthz() -> dict[str, str]:
        """Tell whether the process is alive (no database access, no authentication)."""
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Tell whether the database is reachable and migrated",
        responses={503: {"description": "Database unreachable or not at the newest migration"}},
    )
    def readyz() -> Response:
        """Tell whether the database is reachable and migrated to the newest revision."""
        try:
            engine = get_engine()
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            current = current_revision(engine)
        except Exception:  # any failure to reach the database means "not ready"
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
        head = head_revision()
        if current != head:
            return JSONResponse(
                {"status": "unavailable", "database": "not migrated", "revision": current}, 503
            )
        return JSONResponse({"status": "ok", "revision": current})

    @router.get(
        "/metrics",
        summary="Expose request counts and latencies in the Prometheus text format",
        response_class=Response,
    )
    def metrics() -> Response:
        """Expose this process's request counts and latencies in the Prometheus text format."""
        return metrics_response()

    return router


app = create_app()
