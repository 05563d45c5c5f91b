"""`/v1/sessions/{id}/stream`: the viewer socket.

ready → role, then after the viewer's `resume {after}` every event with a larger
seq, stored ones first, then live ones — one sender task per viewer walks a cursor
through the log, so there is no gap and no duplicate by construction.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from tether.auth.principal import Principal
from tether.errors import Conflict, TetherError, UnknownMessageType
from tether.heartbeat import Heard, keep_alive
from tether.hub import ownership
from tether.hub.broker import Broker, LiveSession, Viewer
from tether.hub.hub import hub_of
from tether.hub.sockets import close_quietly, envelopes, error_frame
from tether.hub.ws_auth import SocketCredential
from tether.ids import new_connection_id
from tether.protocol.codec import Envelope, encode_frame, parse_payload
from tether.protocol.messages import (
    CloseCode,
    ControlInterrupt,
    ControlSetPermissionMode,
    ControlTerminalInput,
    ControlTerminalResize,
    Ready,
    Resume,
    Role,
    ViewerPermissionDecision,
    ViewerSetPermissionMode,
    ViewerTerminalInput,
    ViewerTerminalResize,
    ViewerUserMessage,
)
from tether.tasks import run_first_completed

log = logging.getLogger("tether.hub.viewer")

WRITE_TYPES = frozenset(
    {
        "user_message",
        "permission_decision",
        "interrupt",
        "set_permission_mode",
        "terminal_input",
        "terminal_resize",
    }
)
_AUDIT_ACTION = {
    "user_message": "user_message",
    "permission_decision": "permission_decision",
    "interrupt": "interrupt",
    "set_permission_mode": "permission_mode",
}


@dataclass(frozen=True, slots=True)
class _Viewing:
    """One viewer connection being served: its socket, its session, how it asked to join."""

    ws: WebSocket
    broker: Broker
    live: LiveSession
    credential: SocketCredential
    follow: bool
    take: bool


async def viewer_socket(
    ws: WebSocket,
    broker: Broker,
    live: LiveSession,
    principal: Principal,
    *,
    follow: bool,
    take: bool = False,
) -> None:
    """Serve one viewer connection (authenticated and authorized by the caller)."""
    if ws.application_state == WebSocketState.CONNECTING:  # not yet, unless an `auth` frame came
        await ws.accept()
    hub = hub_of(ws)
    viewing = _Viewing(ws, broker, live, SocketCredential(ws, principal), follow, take)
    try:
        with hub.live.track(principal, lambda code, why: close_quietly(ws, code, why)):
            await _serve_until_gone(viewing)
    finally:
        # Its last sighting: a device watching for hours was seen all along, not only
        # when it connected.
        await hub.auth.sightings.seen(principal.device_id, now=True)


async def _serve_until_gone(v: _Viewing) -> None:
    """Serve until the viewer goes, or its credential runs out unrenewed."""
    try:
        await run_first_completed(
            _serve(v), v.credential.enforce(lambda code, why: close_quietly(v.ws, code, why))
        )
    except (WebSocketDisconnect, OSError) as exc:
        log.debug("viewer of %s went away mid-send: %r", v.live.record.id, exc)
    except RuntimeError as exc:
        # Sending after the peer (or this hub) closed the socket: Starlette and
        # uvicorn say so with a RuntimeError. Anything else is a bug and is raised.
        if not _gone(v.ws):
            raise
        log.debug("viewer of %s went away mid-send: %s", v.live.record.id, exc)


def _gone(ws: WebSocket) -> bool:
    return WebSocketState.DISCONNECTED in (ws.application_state, ws.client_state)


async def _join(v: _Viewing, viewer: Viewer) -> str | None:
    """Join the session (taking the owner slot with `take`, when allowed); audit a new
    owner; return why the viewer is a follower (None: it owns the session)."""
    hub, principal, broker, live = hub_of(v.ws), viewer.principal, v.broker, v.live
    role = await broker.join(live, viewer, follow=v.follow)
    taken_from: str | None = None
    refused: str | None = None
    if role == "follower" and v.take and not v.follow:
        holder = broker.presence.owner(live)
        refused = await ownership.refuse_take(hub.auth, live, holder, principal)
        if refused is None:
            by = await ownership.device_label(hub.auth, principal)
            previous = await broker.take(live, viewer, f"taken over by {by}")
            taken_from = await ownership.holder_label(hub.auth, previous) if previous else None
    if viewer.role == "owner":
        details = {"taken_from": taken_from} if taken_from else {}
        await hub.audit("owner_taken", principal, session=live.record.id, **details)
        return None
    if refused is not None:
        return refused
    if principal.read_only:
        return "read-only link: you can watch this session but not steer it"
    if v.follow:
        return "joined as a follower"
    holder = broker.presence.owner(live)
    message, hint = await ownership.write_refusal(hub.auth, holder, principal)
    return f"{message}; {hint}"


async def _serve(v: _Viewing) -> None:
    ws, broker, live, principal = v.ws, v.broker, v.live, v.credential.principal
    viewer = Viewer(id=new_connection_id(), principal=principal)
    reason = await _join(v, viewer)
    role = viewer.role
    audit = hub_of(ws).audit
    ready = Ready(
        session=broker.info(live),
        last_seq=live.durable_seq,
        pending_permissions=list(live.tracker.pending.values()),
        expires_in=v.credential.expires_in(),
    )
    # `session` updates queued by join() are superseded by `ready`.
    viewer.outgoing.clear()
    await ws.send_text(encode_frame("ready", ready, session=live.record.id))
    role_frame = Role(role=role, reason=reason)
    await ws.send_text(encode_frame("role", role_frame, session=live.record.id))
    heard = Heard()
    try:
        await run_first_completed(
            _receive(v, viewer, heard),
            _send(ws, broker, live, viewer),
            keep_alive(
                heard,
                broker.settings,
                send=viewer.queue_frame,  # the sender task owns the socket
                close=lambda code, why: close_quietly(ws, code, why),
                peer=f"viewer {viewer.id}",
            ),
        )
    finally:
        if await broker.leave(live, viewer):
            await audit("owner_released", principal, session=live.record.id)


async def _send(ws: WebSocket, broker: Broker, live: LiveSession, viewer: Viewer) -> None:
    timeout = broker.settings.viewer_send_timeout_s
    loop = asyncio.get_running_loop()
    while True:
        await viewer.wake.wait()
        viewer.wake.clear()
        try:
            # One deadline per batch, not per frame: a timer per frame costs more than the
            # send itself at thousands of events a second.
            async with asyncio.timeout(timeout) as deadline:
                while viewer.outgoing:
                    await ws.send_text(viewer.outgoing.popleft())
                while viewer.cursor is not None and viewer.cursor < live.durable_seq:
                    deadline.reschedule(loop.time() + timeout)
                    frames = await broker.frames_after(live, viewer.cursor)
                    if not frames:
                        break
                    for seq, frame in frames:
                        await ws.send_text(frame)
                        viewer.cursor = seq
                    while viewer.outgoing:
                        await ws.send_text(viewer.outgoing.popleft())
        except TimeoutError:
            log.info("viewer %s is lagging; closing it (it will resume)", viewer.id)
            await close_quietly(ws, CloseCode.LAGGING, "lagging: reconnect and resume")
            return


async def _receive(v: _Viewing, viewer: Viewer, heard: Heard) -> None:
    max_bytes = v.broker.settings.max_frame_bytes
    async for env in envelopes(v.ws, max_bytes, heard, report=viewer.queue_frame):
        if env.type == "auth":  # in-band renewal of the credential (tether.hub.ws_auth)
            viewer.push_text(await v.credential.renew(env.payload))
            continue
        await hub_of(v.ws).auth.sightings.seen(viewer.principal.device_id)  # throttled
        try:
            details = _audit_details(v.live, env)  # before the write changes what is pending
            await _handle(v.broker, v.live, viewer, env)
            # Keystrokes are not audited one by one: taking the owner slot is.
            if env.type in _AUDIT_ACTION:
                await hub_of(v.ws).audit(
                    _AUDIT_ACTION[env.type],
                    viewer.principal,
                    session=v.live.record.id,
                    via="socket",
                    **details,
                )
        except TetherError as exc:
            viewer.push_text(error_frame(exc, ref=env.id))


def _audit_details(live: LiveSession, env: Envelope) -> dict[str, object]:
    """What a write decided, for the audit log: an answer's behavior, request and tool."""
    if env.type == "permission_decision":
        request_id = str(env.payload.get("request_id"))
        return {
            "request_id": request_id,
            "behavior": env.payload.get("behavior"),
            "tool": live.tracker.pending.get(request_id, {}).get("tool"),
        }
    if env.type == "set_permission_mode":
        return {"mode": env.payload.get("mode")}
    return {}


async def _handle(broker: Broker, live: LiveSession, viewer: Viewer, env: Envelope) -> None:
    if env.type == "resume":
        resume = parse_payload(env, Resume)
        viewer.cursor = max(0, resume.after)
        viewer.wake.set()
        return
    if env.type == "ping":
        viewer.push_text(encode_frame("pong"))
        return
    if env.type == "pong":
        return
    if env.type not in WRITE_TYPES:
        raise UnknownMessageType(f"unknown message type {env.type!r}; ignored")
    if viewer.role != "owner":
        raise _ReadOnly(viewer.principal.read_only)
    by = viewer.principal.label
    if env.type == "user_message":
        msg = parse_payload(env, ViewerUserMessage)
        await broker.send_message(live, viewer.principal, msg.text)
    elif env.type == "permission_decision":
        decision = parse_payload(env, ViewerPermissionDecision)
        await broker.decide_permission(
            live,
            decision.control(by=by),
        )
    elif env.type == "interrupt":
        await broker.control(live, ControlInterrupt(by=by))
    elif env.type == "set_permission_mode":
        change = parse_payload(env, ViewerSetPermissionMode)
        await broker.control(live, ControlSetPermissionMode(mode=change.mode, by=by))
    elif env.type.startswith("terminal_") and live.record.agent != "terminal":
        raise Conflict(f"session {live.record.id} is not a terminal session; send user_message")
    elif env.type == "terminal_input":
        keys = parse_payload(env, ViewerTerminalInput)
        await broker.control(live, ControlTerminalInput(text=keys.text, data=keys.data, by=by))
    elif env.type == "terminal_resize":
        size = parse_payload(env, ViewerTerminalResize)
        await broker.control(live, ControlTerminalResize(cols=size.cols, rows=size.rows, by=by))
    viewer.push_text(encode_frame("ack", {"ref": env.id}, session=live.record.id))


class _ReadOnly(TetherError):
    code = "read_only"

    def __init__(self, share_link: bool) -> None:
        if share_link:
            super().__init__(
                "read-only link: this link can watch the session but not steer it",
                hint="ask the session's owner to steer it",
            )
        else:
            super().__init__(
                "read-only follower: only the session's owner can send messages, answer "
                "permission requests or interrupt",
                hint="reconnect with --take (the web UI: Take ownership) to take the owner"
                " slot from your other device, or when the owner has left",
            )
