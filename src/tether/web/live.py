"""`GET /v1/live`: the signed-in user's sessions, pushed (Server-Sent Events) whenever one of
them changes — the web UI's sessions list, page titles and favicon count live on it.

Each `sessions` event is the whole list as the user may see it, sessions that need them
first (waiting for a permission answer), then running ones, newest activity first; each
with `last_activity` (the time of its newest event) and the number of requests waiting
for this user (`pending`). Changes are coalesced (at most a few events a second); a
comment line every 15 s keeps proxies from closing a quiet stream. Revoking the browser
closes the stream at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from tether.auth.principal import Principal
from tether.errors import Forbidden
from tether.hub.broker import Broker
from tether.hub.routes import User
from tether.protocol.messages import SessionInfo

live_router = APIRouter()

COALESCE_S = 0.25
KEEPALIVE_S = 15.0


def last_activity(broker: Broker, info: SessionInfo) -> float:
    """When the session's newest event happened (its creation, before any event)."""
    live = broker.sessions.get(info.id)
    if live is not None and live.recent:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            return float(json.loads(live.recent[-1][1])["ts"])
    return max(info.updated_at, info.created_at)


def _order(item: dict[str, Any]) -> tuple[int, int, float]:
    running = item["state"] not in ("exited",)
    return (0 if item["pending_permissions"] else 1, 0 if running else 1, -item["last_activity"])


async def sessions_snapshot(request: Request, principal: Principal) -> dict[str, Any]:
    """The sessions `principal` may see, ordered for the list, and their pending count."""
    broker: Broker = request.app.state.broker
    policy = request.app.state.policy
    items = []
    for info in await broker.list_sessions():
        if await policy.can_view_info(principal, info):
            item = info.model_dump()
            item["last_activity"] = last_activity(broker, info)
            items.append(item)
    items.sort(key=_order)
    return {"sessions": items, "pending": sum(i["pending_permissions"] for i in items)}


@contextlib.contextmanager
def _revocable(request: Request, principal: Principal, closed: asyncio.Event) -> Iterator[None]:
    async def close(_code: int, _reason: str) -> None:
        closed.set()

    registry = getattr(request.app.state, "live_connections", None)
    if registry is None:
        yield
        return
    with registry.track(principal, close):
        yield


@live_router.get("/v1/live")
async def live_sessions(request: Request, principal: User) -> StreamingResponse:
    """Server-Sent Events: `sessions` with the list whenever it changes."""
    if principal.kind == "share" or principal.user_id is None:
        raise Forbidden("a share link can only watch its session")
    notifier = request.app.state.notify.notifier
    changed, closed = asyncio.Event(), asyncio.Event()

    def watch(_session_id: str) -> None:
        changed.set()

    async def stream() -> AsyncIterator[str]:
        notifier.watchers.add(watch)
        try:
            with _revocable(request, principal, closed):
                sent = ""
                while not closed.is_set():
                    changed.clear()
                    text = json.dumps(await sessions_snapshot(request, principal))
                    if text != sent:
                        yield f"event: sessions\ndata: {text}\n\n"
                        sent = text
                    if not await _wait(changed, closed, KEEPALIVE_S):
                        yield ": keep-alive\n\n"
                    await asyncio.sleep(COALESCE_S)
        finally:
            notifier.watchers.discard(watch)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


async def _wait(changed: asyncio.Event, closed: asyncio.Event, timeout: float) -> bool:
    """Until something changed or the stream was closed (True), or `timeout` (False)."""
    waiters = [asyncio.ensure_future(changed.wait()), asyncio.ensure_future(closed.wait())]
    try:
        done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return bool(done)
