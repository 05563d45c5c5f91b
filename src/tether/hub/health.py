"""`/healthz` and `/readyz`, for load balancers and orchestrators; and the drain on shutdown.

`/healthz` says the process serves HTTP (restart it when it does not answer). `/readyz`
says it should be sent traffic: the store is open, migrated, answers, and its latest
write worked — so it is never 200 while the database is away, read-only or its disk
full, nor while the hub drains for a shutdown. A 503 names the reason.
"""

from __future__ import annotations

import logging

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
    """Why the hub should not be sent traffic now, or None."""
    if hub.draining:
        return DRAIN_REASON
    try:
        await hub.store.ping()
    except StoreError as exc:
        return exc.message
    problem = hub.store.health.problem
    return None if problem is None else problem.message


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
