"""How MCP tools reach the hub, for whoever is calling.

Decision (docs/mcp.md): every tool reads and writes through the hub's own HTTP
API with `HubClient`, using the caller's own credentials, so authentication and
authorization are the hub's, in one place, for every transport:

* `RemoteAccess` — `tether mcp` on stdio, a separate process: one `HubClient`
  to the hub URL with the local token. Waiting for a turn polls the event log.
* `InHubAccess` — `/mcp` and `/mcp/ws` inside the hub: a `HubClient` per tool
  call that reaches the same app in process (httpx's ASGI transport, no
  socket) with the bearer token the MCP client presented; the broker's change
  listener wakes waiters at once instead of polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from starlette.requests import HTTPConnection

from tether.auth.principal import Principal, bearer_token
from tether.client.http import HubClient, TokenProvider, static_token
from tether.errors import AuthError, Conflict, NotFound
from tether.protocol.messages import ControlStop
from tether.protocol.states import SessionState

log = logging.getLogger("tether.mcp")

# Where the in-process client pretends the hub lives (never resolved: no socket is used).
# A loopback name, so the hub's Host check (hub/guard.py) answers it like any local call.
IN_PROCESS_URL = "http://localhost"
SCOPE_PRINCIPAL = "tether.principal"


@dataclass(frozen=True)
class Caller:
    """Who calls a tool, and a hub client acting with their credentials."""

    key: str
    """Stable per principal: keys the conversation pool and session ownership."""
    label: str
    hub: HubClient


class Watch(Protocol):
    """Wakes a waiter when a session may have new events."""

    async def wait(self, timeout: float) -> None:
        """Return when the session changed, or after `timeout` seconds."""


class HubAccess(Protocol):
    """What the MCP service needs from where it runs."""

    def caller(self, request: Any) -> contextlib.AbstractAsyncContextManager[Caller]:
        """The caller of a tool; `request` is the MCP request's transport request (or None)."""

    def watch(self, session_id: str) -> contextlib.AbstractAsyncContextManager[Watch]:
        """Watch one session for changes while inside the block."""

    async def sleep_if_idle(self, session_id: str) -> bool:
        """Stop an idle session (the pool's sweeper); True if it is stopped or gone."""


class _PollWatch:
    """Polling that starts fast (most demo and tool replies come quickly) and backs off."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.next = min(0.02, interval)

    async def wait(self, timeout: float) -> None:
        await asyncio.sleep(max(0.0, min(timeout, self.next)))
        self.next = min(self.interval, self.next * 1.5)


class RemoteAccess:
    """For `tether mcp` on stdio: one hub client with the local token; waiting polls the log
    (from every 20 ms, backing off to `poll_interval`)."""

    def __init__(self, hub: HubClient, *, label: str = "mcp", poll_interval: float = 0.5) -> None:
        self.hub = hub
        self._caller = Caller(key="stdio", label=label, hub=hub)
        self._poll_interval = poll_interval

    @contextlib.asynccontextmanager
    async def caller(self, request: Any) -> AsyncIterator[Caller]:
        """The one local caller (whoever started this process owns its pipe)."""
        yield self._caller

    @contextlib.asynccontextmanager
    async def watch(self, session_id: str) -> AsyncIterator[Watch]:
        """Poll, backing off from 20 ms to `poll_interval`."""
        yield _PollWatch(self._poll_interval)

    async def sleep_if_idle(self, session_id: str) -> bool:
        """Stop the session unless a turn is running."""
        try:
            info = await self.hub.session(session_id)
        except NotFound:
            return True
        if info["state"] == SessionState.EXITED:
            return True
        if info["state"] not in (SessionState.IDLE, SessionState.STARTING):
            return False
        await self.hub.stop(session_id)
        return True


class _EventWatch:
    def __init__(self) -> None:
        self.changed = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.changed.wait(), timeout)
        self.changed.clear()


class InHubAccess:
    """For `/mcp` and `/mcp/ws`: the caller's own token, the hub's API in process."""

    # A safety net: re-read the log at least this often even without a wake-up.
    MAX_QUIET_S = 2.0

    def __init__(self, app: Any) -> None:
        self.app = app
        self._transport = httpx.ASGITransport(app=app)
        self._watches: dict[str, set[_EventWatch]] = {}
        app.state.broker.listeners.append(self._on_change)

    def _on_change(self, live: Any) -> None:
        for watch in self._watches.get(live.record.id, ()):
            watch.changed.set()

    @contextlib.asynccontextmanager
    async def caller(self, request: Any) -> AsyncIterator[Caller]:
        """The principal the endpoint authenticated, with a client that forwards its token."""
        principal = _principal_of(request)
        token = bearer_token(request) if isinstance(request, HTTPConnection) else None
        if principal is None or token is None:
            raise AuthError("this MCP connection is not authenticated")
        hub = HubClient(IN_PROCESS_URL, static_token(token), transport=self._transport)
        try:
            yield Caller(key=principal.id, label=principal.label, hub=hub)
        finally:
            await hub.aclose()

    @contextlib.asynccontextmanager
    async def watch(self, session_id: str) -> AsyncIterator[Watch]:
        """Woken by the broker whenever the session stores an event or changes presence."""
        watch = _EventWatch()
        self._watches.setdefault(session_id, set()).add(watch)
        try:
            yield _CappedWatch(watch, self.MAX_QUIET_S)
        finally:
            watchers = self._watches.get(session_id)
            if watchers is not None:
                watchers.discard(watch)
                if not watchers:
                    del self._watches[session_id]

    async def sleep_if_idle(self, session_id: str) -> bool:
        """Stop the session through the broker (the sweeper has no caller token)."""
        broker = self.app.state.broker
        try:
            live = await broker.session(session_id)
        except NotFound:
            return True
        state = live.tracker.state
        if state is SessionState.EXITED:
            return True
        if state not in (SessionState.IDLE, SessionState.STARTING):
            return False
        try:
            await broker.control(live, ControlStop(by="tether mcp (idle)"))
        except Conflict as exc:
            log.info("could not put session %s to sleep: %s", session_id, exc)
            return False
        return True


class _CappedWatch:
    def __init__(self, inner: _EventWatch, cap: float) -> None:
        self.inner = inner
        self.cap = cap

    async def wait(self, timeout: float) -> None:
        await self.inner.wait(max(0.0, min(timeout, self.cap)))


def _principal_of(request: Any) -> Principal | None:
    if not isinstance(request, HTTPConnection):
        return None
    principal = request.scope.get(SCOPE_PRINCIPAL)
    return principal if isinstance(principal, Principal) else None


def remote_access(hub_url: str, token: TokenProvider) -> RemoteAccess:
    """A `RemoteAccess` with its own hub client."""
    return RemoteAccess(HubClient(hub_url, token))
