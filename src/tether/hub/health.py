"""`/healthz` and `/readyz`, for load balancers and orchestrators; and the drain on shutdown.

`/healthz` says the process serves HTTP (restart it when it does not answer). `/readyz`
says it should be sent traffic: the store is open, migrated, answers, and its latest
write worked — so it is never 200 while the database is away, read-only or its disk
full, nor while the hub drains for a shutdown. A 503 names the reason.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import JSONResponse

import tether
from tether.errors import StoreError
from tether.hub import api_models as api
from tether.hub.hub import Hub, hub_of
from tether.hub.sockets import close_quietly
from tether.hub.ws_auth import accept_once
from tether.protocol.messages import CloseCode

log = logging.getLogger("tether.hub")

health_router = APIRouter()

DRAIN_REASON = "the hub is shutting down; reconnect"


@health_router.get("/healthz")
async def healthz(request: Request) -> api.Health:
    """Liveness: no auth, no secrets."""
    hub = hub_of(request)
    return api.Health(version=tether.__version__, runners=len(hub.broker.runners))


@health_router.get(
    "/readyz", responses={503: {"model": api.Readiness, "description": "not ready: see reason"}}
)
async def readyz(request: Request) -> JSONResponse:
    """Readiness: 200 only while the store takes writes and the hub is not draining."""
    reason = await not_ready(hub_of(request))
    body = api.Readiness(ready=reason is None, reason=reason)
    return JSONResponse(body.model_dump(), status_code=200 if reason is None else 503)


async def not_ready(hub: Hub) -> str | None:
    """Why the hub should not be sent traffic now, or None. The reason is for anyone
    (the endpoint needs no credentials): what kind of trouble, never where the store is;
    the details are in the hub's log."""
    if hub.draining:
        return DRAIN_REASON
    probe = _PROBES.get(hub)
    if probe is None:
        probe = _PROBES[hub] = _Probe(hub)
    return await probe.check()


class _Probe:
    """One store check at a time per hub: however many callers ask at once (a load
    balancer per replica, or someone flooding an endpoint that needs no credentials), the
    store sees one query, and every caller gets its answer — never a stale one."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._running: asyncio.Future[str | None] | None = None

    async def check(self) -> str | None:
        running = self._running
        if running is None:
            running = self._running = asyncio.ensure_future(self._check())
            running.add_done_callback(self._done)
        return await asyncio.shield(running)

    def _done(self, future: asyncio.Future[str | None]) -> None:
        if self._running is future:
            self._running = None

    async def _check(self) -> str | None:
        store = self.hub.store
        try:
            await store.ping()
        except StoreError as exc:
            if exc.refused:
                store.health.refused(exc)  # logged once, with the details
            return public_reason(exc, default="the store does not answer")
        problem = store.health.problem
        return None if problem is None else public_reason(problem)


_PROBES: weakref.WeakKeyDictionary[Hub, _Probe] = weakref.WeakKeyDictionary()


def public_reason(error: StoreError, default: str = "the store refuses writes") -> str:
    """What kind of store trouble, in words that name no host, database or path."""
    text = error.message.lower()
    if "read-only" in text or "readonly" in text:
        return "the store is read-only"
    if "full" in text:
        return "the store's disk is full"
    if "not open" in text:
        return "the store is not open"
    return default


async def drain(hub: Hub) -> int:
    """Before the server stops: say not-ready, and close every socket with the
    `shutdown` code, which runners and viewers answer by reconnecting (to another
    replica, or to this hub once it is back). Returns how many sockets were closed."""
    hub.draining = True
    closed = await hub.live.close_all(CloseCode.SHUTDOWN, DRAIN_REASON)
    log.info("draining: closed %d socket(s)", closed)
    return closed


async def refused_while_draining(ws: WebSocket) -> bool:
    """A socket that arrives during the drain is closed at once with the `shutdown` code
    (its peer reconnects elsewhere); True when it was."""
    if not hub_of(ws).draining:
        return False
    await accept_once(ws)
    await close_quietly(ws, CloseCode.SHUTDOWN, DRAIN_REASON)
    return True
