"""`RemoteSession`: a live view of one session that reconnects and resumes by itself.

Every event is delivered exactly once and in order, across reconnects: the
session remembers the last seq it delivered and resumes after it; pending
permission requests are re-announced from the hub's `ready` after a reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tether.backoff import Backoff
from tether.client.api import TokenProvider
from tether.client.renewal import renew_in_band
from tether.client.stream_urls import StreamUrls
from tether.errors import (
    AuthError,
    Conflict,
    Forbidden,
    HubUnreachable,
    NotFound,
    ProtocolError,
    TetherError,
)
from tether.protocol.api_shapes import EventPayload, JsonObject, PendingPermission, SessionRow
from tether.protocol.codec import decode, encode, make
from tether.reconnect import RECONNECTABLE
from tether.sanitize import terminal_text
from tether.tasks import keep_task, run_first_completed

log = logging.getLogger("tether.client")

_FATAL_CLOSE = {4001: AuthError, 4003: Forbidden, 4004: NotFound}


@dataclass(frozen=True)
class SessionEvent:
    """One event of the session's log."""

    seq: int
    ts: float
    payload: EventPayload

    @property
    def kind(self) -> str:
        """The event kind (`agent_message`, `permission_request` …)."""
        return str(self.payload.get("kind", ""))


Callback = Callable[..., Awaitable[None] | None]


class RemoteSession:
    """Follow (and, as owner, steer) one session on a hub."""

    def __init__(
        self,
        hub_url: str | Sequence[str],
        session_id: str,
        token: TokenProvider,
        *,
        after: int = 0,
        follow: bool = False,
        take: bool = False,
        reconnect: bool = True,
        on_connected: Callback | None = None,
        on_role: Callback | None = None,
        on_event: Callback | None = None,
        on_permission_request: Callback | None = None,
        on_disconnected: Callback | None = None,
        ssl: Any = None,
        insecure: bool = False,
    ) -> None:
        self.urls = StreamUrls(hub_url, session_id, follow=follow, insecure=insecure)
        """The stream at every URL of the hub (replicas): a lost connection tries the next."""
        # `take`: only the first connection takes the owner slot; a reconnect after being
        # demoted by the user's other device must not take it back (no ping-pong).
        self._take_url = self.url.replace("?follow=1", "") + "?take=1" if take else None
        self.session_id = session_id
        self.last_seq = after
        self.role: str | None = None
        self.role_reason: str | None = None
        self._awaiting_role = False
        # Empty until the hub's first `ready` (which `connect` waits for).
        self.info: SessionRow = cast(SessionRow, {})
        self.pending: dict[str, PendingPermission] = {}
        self.connected = asyncio.Event()
        self._token = token
        self._reconnect = reconnect
        self._ssl = ssl
        self._callbacks = {
            "connected": on_connected,
            "event": on_event,
            "permission": on_permission_request,
            "disconnected": on_disconnected,
            "role": on_role,
        }
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[SessionEvent | BaseException | None] = asyncio.Queue()
        self._replies: dict[str, asyncio.Future[None]] = {}
        self._ids = itertools.count(1)
        self._announced: set[str] = set()
        # The hub's word, as of its latest `ready`: the requests still unanswered, and the
        # last seq then. A replayed request not in it was answered (or withdrawn) already.
        self._ready_pending: set[str] = set()
        self._ready_seq = 0
        self._callback_tasks: set[asyncio.Task[None]] = set()
        self._first: asyncio.Future[None] | None = None
        self.closed_error: BaseException | None = None

    @property
    def url(self) -> str:
        """The stream URL connected to (or tried next)."""
        return self.urls.current

    # -- lifecycle -------------------------------------------------------------------------

    async def connect(self) -> RemoteSession:
        """Connect; return once the hub said `ready` and `role` (raises if it refused)."""
        self._first = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run())
        await self._first
        return self

    async def close(self) -> None:
        """Disconnect for good."""
        self._reconnect = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._ws is not None:
            await self._ws.close()
        self._queue.put_nowait(None)

    async def __aenter__(self) -> RemoteSession:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def events(self) -> AsyncIterator[SessionEvent]:
        """Every event, in order, until the session is closed (an error ends it by raising)."""
        while True:
            item = await self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def __aiter__(self) -> AsyncIterator[SessionEvent]:
        return self.events()

    # -- steering (owner only) -------------------------------------------------------------

    async def send_message(self, text: str, timeout: float = 30.0) -> None:
        """Hand the agent a turn; raises if the hub refused (e.g. read-only follower)."""
        await self._request("user_message", {"text": text}, timeout)

    async def decide_permission(
        self,
        request_id: str,
        behavior: str,
        message: str | None = None,
        updated_input: JsonObject | None = None,
        timeout: float = 30.0,
        option_id: str | None = None,
    ) -> None:
        """Answer a pending permission request with `allow` or `deny` (`option_id`: one of
        the request's `options`, e.g. "for this session")."""
        payload: JsonObject = {"request_id": request_id, "behavior": behavior}
        if message is not None:
            payload["message"] = message
        if updated_input is not None:
            payload["updated_input"] = updated_input
        if option_id is not None:
            payload["option_id"] = option_id
        await self._request("permission_decision", payload, timeout)

    async def interrupt(self, timeout: float = 30.0) -> None:
        """Interrupt the running turn."""
        await self._request("interrupt", {}, timeout)

    async def set_permission_mode(self, mode: str, timeout: float = 30.0) -> None:
        """Change the agent's permission mode (the change shows up as a `status` event)."""
        await self._request("set_permission_mode", {"mode": mode}, timeout)

    async def terminal_input(self, payload: dict[str, str], timeout: float = 30.0) -> None:
        """Type into a terminal session: `{"text": …}` or `{"data": <base64>}` (owner only)."""
        await self._request("terminal_input", payload, timeout)

    async def terminal_resize(self, cols: int, rows: int, timeout: float = 30.0) -> None:
        """Offer this viewer's size to a terminal session (owner; used while no console is on)."""
        await self._request("terminal_resize", {"cols": cols, "rows": rows}, timeout)

    async def _request(self, type_: str, payload: JsonObject, timeout: float) -> None:
        await asyncio.wait_for(self.connected.wait(), timeout)
        assert self._ws is not None
        ref = f"r{next(self._ids)}"
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._replies[ref] = fut
        try:
            await self._ws.send(encode(make(type_, payload, session=self.session_id, id=ref)))
            await asyncio.wait_for(fut, timeout)
        finally:
            self._replies.pop(ref, None)

    # -- connection loop -------------------------------------------------------------------

    async def _run(self) -> None:
        backoff = Backoff(base=0.25, cap=10.0)
        while True:
            try:
                await self._connect_once()
                backoff.reset()
            except (AuthError, NotFound) as exc:
                self._fail(exc)
                return
            except RECONNECTABLE as exc:
                code = exc.rcvd.code if isinstance(exc, ConnectionClosed) and exc.rcvd else None
                reason = (
                    exc.rcvd.reason if isinstance(exc, ConnectionClosed) and exc.rcvd else str(exc)
                )
                if code in _FATAL_CLOSE and not (reason or "").startswith("expired"):
                    # (An expired credential is not fatal: a fresh token reconnects.)
                    self._fail(_FATAL_CLOSE[code](reason or "refused by the hub"))
                    return
                await self._call("disconnected", reason or type(exc).__name__)
                first = self._first is not None and not self._first.done()
                if (self._reconnect or first) and self.urls.fail_over():
                    continue
                if self._first is not None and not self._first.done():
                    self._first.set_exception(
                        HubUnreachable(
                            f"cannot connect to {self.url}: {reason or type(exc).__name__}",
                            hint="is the hub running? check --hub",
                        )
                    )
                    return
            finally:
                self.connected.clear()
                self._ws = None
                for fut in self._replies.values():
                    if not fut.done():
                        fut.set_exception(Conflict("the connection to the hub dropped; try again"))
            if not self._reconnect:
                self._queue.put_nowait(None)
                return
            await asyncio.sleep(backoff.next_delay())

    def _fail(self, exc: BaseException) -> None:
        self.closed_error = exc
        if self._first is not None and not self._first.done():
            self._first.set_exception(exc)
        self._queue.put_nowait(exc)

    async def _connect_once(self) -> None:
        token = await self._token()
        headers = {"Authorization": f"Bearer {token}"}
        try:
            url, self._take_url = self._take_url or self.url, None
            ws_cm = connect(
                url,
                additional_headers=headers,
                max_size=64 * 1024 * 1024,
                ping_interval=20,
                open_timeout=10,
                ssl=self._ssl,
            )
            async with ws_cm as ws:
                self._ws = ws
                await run_first_completed(
                    self._serve(ws),
                    renew_in_band(self._token, token, ws.send, session=self.session_id),
                )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise AuthError(f"the hub refused the connection (HTTP {status})") from None
            raise

    async def _serve(self, ws: ClientConnection) -> None:
        async for frame in ws:
            env = decode(frame, max_bytes=64 * 1024 * 1024)
            if env.type == "event" and env.seq is not None:
                await self._deliver(SessionEvent(env.seq, env.ts, cast(EventPayload, env.payload)))
            elif env.type == "ready":
                self.info = cast(SessionRow, dict(env.payload.get("session") or {}))
                fresh: dict[str, PendingPermission] = {
                    str(p["request_id"]): p for p in env.payload.get("pending_permissions", [])
                }
                self.pending = fresh
                self._ready_pending = set(fresh)
                self._ready_seq = int(env.payload.get("last_seq", 0))
                self._awaiting_role = True
            elif env.type == "role" and not self._awaiting_role:
                # A role change on a live connection: e.g. demoted to follower because the
                # user took the owner slot from another device.
                self.role = str(env.payload.get("role"))
                self.role_reason = env.payload.get("reason")
                await self._call("role", self.role, self.role_reason)
            elif env.type == "role":
                self._awaiting_role = False
                self.role = str(env.payload.get("role"))
                self.role_reason = env.payload.get("reason")
                await ws.send(
                    encode(make("resume", {"after": self.last_seq}, session=self.session_id))
                )
                self.connected.set()
                self.urls.connected()
                if self._first is not None and not self._first.done():
                    self._first.set_result(None)
                await self._call("connected", self.role, self.info)
                for request in list(self.pending.values()):
                    if int(request.get("seq", 0)) <= self.last_seq:
                        await self._announce(request)
            elif env.type == "session":
                self.info = cast(SessionRow, dict(env.payload))
            elif env.type in ("ack", "error"):
                self._settle(env.type, env.payload)
            elif env.type == "ping":
                await ws.send(encode(make("pong")))

    def _settle(self, kind: str, payload: dict[str, Any]) -> None:
        ref = payload.get("ref")
        fut = self._replies.get(str(ref)) if ref else None
        if kind == "error":
            error = _error_of(payload)
            if fut is not None and not fut.done():
                fut.set_exception(error)
            else:
                # Printed on a terminal by the last-resort handler: never raw hub text.
                log.warning("hub: %s", terminal_text(payload.get("message")))
        elif fut is not None and not fut.done():
            fut.set_result(None)

    async def _deliver(self, event: SessionEvent) -> None:
        if event.seq <= self.last_seq:
            return  # already delivered before a reconnect
        self.last_seq = event.seq
        kind = event.kind
        if kind == "permission_request":
            self.pending[str(event.payload.get("request_id"))] = {"seq": event.seq, **event.payload}
        elif kind == "permission_decision":
            self.pending.pop(str(event.payload.get("request_id")), None)
        elif kind in ("turn_finished", "exited"):
            self.pending.clear()
        self._queue.put_nowait(event)
        await self._call("event", event)
        if kind == "permission_request":
            request_id = str(event.payload.get("request_id"))
            if event.seq > self._ready_seq or request_id in self._ready_pending:
                await self._announce(self.pending[request_id])

    async def _announce(self, request: PendingPermission) -> None:
        request_id = str(request.get("request_id"))
        if request_id in self._announced:
            return
        self._announced.add(request_id)
        # In a task of its own: the callback may well await decide_permission(), whose
        # ack arrives through the loop that is calling us.
        keep_task(self._callback_tasks, self._call("permission", request))

    async def _call(self, name: str, *args: Any) -> None:
        callback = self._callbacks.get(name)
        if callback is None:
            return
        try:
            result = callback(*args)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("the %s callback failed", name)


def _error_of(payload: dict[str, Any]) -> TetherError:
    code = str(payload.get("code", "error"))
    message = str(payload.get("message", "the hub refused the request"))
    if code in ("read_only", "forbidden"):
        return Forbidden(message)
    if code == "not_found":
        return NotFound(message)
    if code == "conflict":
        return Conflict(message)
    if code in ("bad_frame", "unknown_type", "frame_too_large"):
        return ProtocolError(message)
    return TetherError(message)
