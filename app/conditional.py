"""Conditional GETs of the recommendations list, answered 304 before any routing.

The list's ETag is the data revision and the query (responses.revision_etag), so telling a
dashboard that its copy is current needs no page, no parameter validation and no route: only the
caller's token (from the token cache) and the revision. Dashboards poll this list all day, so
this is its most frequent request.

Whatever this middleware cannot decide at once goes on to the app, which answers exactly as it
would without it: no If-None-Match, a token the cache does not hold yet, a download format, a
stale ETag, a database error. A query the app would reject with 422 never got an ETag from it,
so only a client that forged one could be told 304 for it.
"""

import asyncio
import logging
import sqlite3
from urllib.parse import parse_qsl

import psycopg
from anyio import to_thread
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Receive, Scope, Send

from app import clock
from app.auth import authenticate_cached
from app.db import autocommit_connection
from app.models import DataRevision
from app.responses import etag_matches, revision_etag

log = logging.getLogger("krat.conditional")

_REVISION_SQL = f"SELECT value FROM {DataRevision.__tablename__} WHERE id = 1"
DATABASE_ERRORS = (SQLAlchemyError, sqlite3.Error, psycopg.Error)


def current_data_revision() -> int:
    """Return the count of committed writes (models.DataRevision), read outside any session."""
    with autocommit_connection() as connection:
        cursor = connection.cursor()
        cursor.execute(_REVISION_SQL)
        row = cursor.fetchone()
        cursor.close()
    return int(row[0]) if row else 0


class SharedRevisionRead:
    """One revision read, off the event loop, for every request waiting when it starts.

    A request may only use a read that started after it arrived, or it could miss a write
    committed just before it: so requests arriving during a read wait for the next one, and
    each read serves all of them. Under load that is one query for many requests.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next: asyncio.Future[int] | None = None  # the read not started yet
        self._reading = False
        self._task: asyncio.Task[None] | None = None  # held: the loop keeps only weak refs

    async def read(self) -> int:
        """Return the revision as read by a query that started after this call."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests start several): start afresh
            self._loop, self._next, self._reading = loop, None, False
        if self._next is None:
            self._next = loop.create_future()
            if not self._reading:
                self._reading = True
                self._task = loop.create_task(self._read_while_waited_for())
        # Shielded: a client hanging up must not cancel the read others wait for.
        return await asyncio.shield(self._next)

    async def _read_while_waited_for(self) -> None:
        try:
            while self._next is not None:
                waiting, self._next = self._next, None  # later arrivals wait for the next read
                try:
                    waiting.set_result(await to_thread.run_sync(current_data_revision))
                except Exception as error:
                    waiting.set_exception(error)
                finally:
                    if not waiting.done():  # cancelled: the event loop is closing
                        waiting.cancel()
        finally:
            self._reading = False


class ConditionalListMiddleware:
    """Answer `GET <path>` with 304 when If-None-Match names the list's current ETag."""

    def __init__(self, app: ASGIApp, *, path: str) -> None:
        self.app = app
        self.path = path
        self.revision = SharedRevisionRead()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = await self._unchanged(scope) if self._applies(scope) else None
        if answer is None:
            await self.app(scope, receive, send)
            return
        etag, actor = answer
        scope["route"] = self.path  # matched: metrics and the access log name the route
        scope.setdefault("state", {})["actor"] = actor
        await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", etag)]})
        await send({"type": "http.response.body", "body": b""})

    def _applies(self, scope: Scope) -> bool:
        return (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"] == self.path
            and _is_json_query(scope["query_string"])
        )

    async def _unchanged(self, scope: Scope) -> tuple[bytes, str] | None:
        """Return (ETag, actor name) to answer 304 with, or None to let the app answer."""
        headers = dict(scope["headers"])
        if_none_match = headers.get(b"if-none-match")
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if not if_none_match or scheme.lower() != "bearer" or not token:
            return None
        known, actor = authenticate_cached(token.strip())
        if not known or actor is None:
            return None
        try:
            revision = await self.revision.read()
        except DATABASE_ERRORS:
            log.warning("could not read the data revision; the app answers instead")
            return None
        etag = revision_etag(scope, revision, clock.today())
        if not etag_matches(if_none_match.decode("latin-1"), etag):
            return None
        return etag.encode(), actor.name


def _is_json_query(query_string: bytes) -> bool:
    """Tell whether a query asks for a JSON page: downloads have no ETag, NUL gets a 422."""
    if b"format" not in query_string and b"%00" not in query_string:
        return True
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return all("\0" not in name + value for name, value in pairs) and all(
        value == "json" for name, value in pairs if name == "format"
    )
