"""`/v1/runner`: the runner socket (hello → welcome, events in, acks and controls out)."""

from __future__ import annotations

import asyncio
import logging

from starlette.websockets import WebSocket

from tether.auth.principal import Principal
from tether.errors import ProtocolError
from tether.heartbeat import Heard, keep_alive
from tether.hub.broker import Broker, RunnerLink
from tether.hub.hub import hub_of
from tether.hub.sockets import close_quietly, error_frame, receive_envelope
from tether.protocol.codec import encode_frame, parse_payload
from tether.protocol.messages import CloseCode, Hello
from tether.tasks import run_first_completed

log = logging.getLogger("tether.hub.runner")


async def runner_socket(ws: WebSocket, broker: Broker, principal: Principal) -> None:
    """Serve one runner connection (the caller has authenticated it as `principal`)."""
    settings = broker.settings
    await ws.accept()
    heard = Heard()
    try:
        first = await asyncio.wait_for(
            receive_envelope(ws, settings.max_frame_bytes, heard), settings.dead_after_s
        )
    except TimeoutError:
        reason = f"no 'hello' within {settings.dead_after_s:g} s"
        log.warning("closing a runner connection: %s", reason)
        await close_quietly(ws, CloseCode.PROTOCOL_ERROR, reason)
        return
    if first is None:
        return
    try:
        if isinstance(first, ProtocolError):
            raise first
        if first.type != "hello":
            raise ProtocolError(f"the first frame must be 'hello', not {first.type!r}")
        hello = parse_payload(first, Hello)
    except ProtocolError as exc:
        await ws.send_text(error_frame(exc))
        await close_quietly(ws, CloseCode.PROTOCOL_ERROR, str(exc))
        return
    hub = hub_of(ws)
    why = await hub.policy.refuse_runner(principal, hello.runner_id, [t.name for t in hello.teams])
    if why:
        await hub.audit("runner_refused", principal, runner=hello.runner_id, why=why)
        await close_quietly(ws, CloseCode.FORBIDDEN, f"forbidden: {why}")
        return
    link = RunnerLink(
        id=hello.runner_id,
        send_text=ws.send_text,
        close=lambda code, reason: close_quietly(ws, code, reason),
        principal=principal,
    )
    welcome = await broker.runner_connected(link, hello)
    await link.send_frame(encode_frame("welcome", welcome))
    await broker.runner_ready(link)
    log.info("runner %s connected (%d teams)", link.id, len(hello.teams))
    try:
        with hub.live.track(principal, link.close):
            await run_first_completed(_receive(ws, broker, link, heard), _ping(link, heard, broker))
    finally:
        broker.runner_disconnected(link)
        log.info("runner %s disconnected", link.id)


async def _receive(ws: WebSocket, broker: Broker, link: RunnerLink, heard: Heard) -> None:
    while True:
        env = await receive_envelope(ws, broker.settings.max_frame_bytes, heard)
        if env is None:
            return
        if isinstance(env, ProtocolError):
            async with link.send_lock:
                await ws.send_text(error_frame(env))
            continue
        if env.type == "event":
            if env.session is None or env.seq is None or env.seq < 1:
                async with link.send_lock:
                    await ws.send_text(
                        error_frame(ProtocolError("an event needs 'session' and 'seq' >= 1"))
                    )
                continue
            broker.ingest.submit(link, env)
        elif env.type == "ping":
            await link.send_frame(encode_frame("pong"))
        elif env.type in ("pong", "error"):
            if env.type == "error":
                log.warning("runner %s reported: %s", link.id, env.payload.get("message"))
        else:
            problem = f"unknown message type {env.type!r} on the runner socket; ignored"
            await link.send_frame(
                encode_frame("error", {"code": "unknown_type", "message": problem})
            )


async def _ping(link: RunnerLink, heard: Heard, broker: Broker) -> None:
    await keep_alive(
        heard, broker.settings, send=link.send_frame, close=link.close, peer=f"runner {link.id}"
    )
