"""Bearer tokens and roles: who the caller is, and the one place that decides what they may do.

Tokens are 32 random bytes shown once; only their SHA-256 is stored. A token is high-entropy,
so a fast hash is safe, and looking the hash up by index compares no secret byte by byte.
"""

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session, select

from app.config import get_settings
from app.db import get_engine
from app.errors import Forbidden, Unauthorized
from app.models import ApiToken, Role

TOKEN_PREFIX = "krat_"
# A revoked token stops working within this many seconds in every server process.
TOKEN_CACHE_SECONDS = 5.0

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="A token from `krat tokens create`, or KRAT_ADMIN_TOKEN in development.",
)


@dataclass(frozen=True)
class Actor:
    """The authenticated caller."""

    name: str
    role: Role
    region_id: int | None = None
    institution_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin


def new_token() -> str:
    """Return a fresh random token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


class _TokenCache:
    """Token hash → actor, kept a few seconds so a request costs no token query."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Actor | None]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> tuple[bool, Actor | None]:
        entry = self._entries.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, digest: str, actor: Actor | None) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[digest] = (time.monotonic() + TOKEN_CACHE_SECONDS, actor)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


token_cache = _TokenCache()


def _lookup(digest: str) -> Actor | None:
    with Session(get_engine()) as session:
        token = session.exec(
            select(ApiToken).where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))  # type: ignore[union-attr]
        ).first()
    if token is None:
        return None
    return Actor(token.name, Role(token.role), token.region_id, token.institution_id)


def _lookup_and_cache(token: str) -> Actor | None:
    """Return the actor of a token the cache does not know, from the database (a query)."""
    digest = hash_token(token)
    actor = _lookup(digest)
    token_cache.put(digest, actor)
    return actor


def authenticate_cached(token: str) -> tuple[bool, Actor | None]:
    """Return (known, actor) for a token without a query: False when only the database knows."""
    admin_token = get_settings().admin_token
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return True, Actor("admin-token", Role.admin)
    return token_cache.get(hash_token(token))


async def get_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Actor:
    """Authenticate the request's bearer token, or answer 401.

    Async: a token in the cache costs no query and no worker-thread hop; only a miss goes to
    a worker thread for its query.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send 'Authorization: Bearer <token>'")
    token = credentials.credentials
    found, actor = authenticate_cached(token)
    if not found:
        actor = await run_in_threadpool(_lookup_and_cache, token)
    if actor is None:
        raise Unauthorized("the token is unknown or revoked")
    request.state.actor = actor.name
    return actor


CurrentActor = Annotated[Actor, Depends(get_actor)]


# --- the rules ---------------------------------------------------------------------------------


def require_admin(actor: Actor) -> None:
    """Allow only the national coordinator's office."""
    if not actor.is_admin:
        raise Forbidden("only an admin token may do this")


def require_region_write(actor: Actor, region_id: int | None) -> None:
    """Allow admins, and secretariats writing within their own region.

    `region_id` None means a national or international record: admins only.
    """
    if actor.is_admin:
        return
    if actor.role == Role.secretariat and region_id is not None and actor.region_id == region_id:
        return
    if actor.role == Role.secretariat:
        raise Forbidden("a secretariat token may write only records of its own region")
    raise Forbidden(f"a {actor.role} token may not make this change")


def require_follow_up_write(actor: Actor, region_id: int, responsible_ids: Iterable[int]) -> None:
    """Allow admins, the region's secretariat, and institutions responsible for the subject."""
    if actor.role == Role.institution:
        if actor.institution_id in set(responsible_ids):
            return
        raise Forbidden(
            "an institution token may report only on what its institution is responsible for"
        )
    require_region_write(actor, region_id)
