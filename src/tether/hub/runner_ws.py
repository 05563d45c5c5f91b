"""`/v1/runner`: the runner socket (hello → welcome, events in, acks and controls out)."""

from __future__ import annotations

import asyncio
import logging

from starlette.websockets import WebSocket

from tether.auth.device_auth import client_address
from tether.auth.principal import Principal
from tether.errors import ProtocolError, StoreError
from tether.heartbeat import Heard, keep_alive
from tether.hub.broker import Broker, RunnerLink
from tether.hub.hub import hub_of
from tether.hub.sockets import close_quietly, envelopes, error_frame, receive_envelope
from tether.hub.ws_auth import SocketCredential
from tether.protocol.codec import encode_frame, parse_payload
from tether.protocol.messages import CloseCode, Hello, TeamsUpdate
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
    why = await _refusal(ws, principal, hello)
    if why:
        await close_quietly(ws, CloseCode.FORBIDDEN, f"forbidden: {why}")
        return
    link = RunnerLink(
        id=hello.runner_id,
        send_text=ws.send_text,
        close=lambda code, reason: close_quietly(ws, code, reason),
        principal=principal,
    )
    # From here the link is registered: whatever ends the socket — the store refusing, the
    # runner gone before its welcome, a closed session — unregisters it.
    try:
        try:
            welcome = await broker.runner_connected(link, hello)
        except StoreError as exc:
            # The store refuses (logged once by it): the runner keeps its events and retries.
            await close_quietly(ws, CloseCode.INTERNAL_ERROR, f"the hub cannot store now: {exc}")
            return
        await link.send_frame(encode_frame("welcome", welcome))
        link.welcomed.set()
        await broker.runner_ready(link)
        log.info("runner %s connected (%d teams)", link.id, len(hello.teams))
        with hub.live.track(principal, link.close):
            credential = SocketCredential(ws, principal)
            await run_first_completed(
                _receive(ws, broker, link, heard, credential),
                _ping(link, heard, broker),
                credential.enforce(link.close),
            )
    finally:
        broker.runner_disconnected(link)
        log.info("runner %s disconnected", link.id)


async def _refusal(ws: WebSocket, principal: Principal, hello: Hello) -> str | None:
    """Why this device may not serve as the runner id it names (None: it may).

    The policy's checks (device kind, paired name, teams of connected runners) come
    first; then the id is claimed in the store, which is what holds whether the owner is
    connected or not: an id another user's device registered is refused for good, so
    nobody can say `hello` as someone else's runner while it is offline and be handed
    its sessions, prompts and new sessions (issue #11, finding 2)."""
    hub = hub_of(ws)
    why = await hub.policy.refuse_runner(principal, hello.runner_id, [t.name for t in hello.teams])
    if why:
        await hub.audit("runner_refused", principal, runner=hello.runner_id, why=why)
        return why
    if principal.device_id is None or principal.user_id is None:
        return "only a paired device can serve as a runner"
    claim = await hub.auth.runners.claim(principal, hello.runner_id, address=client_address(ws))
    refusal = claim.refusal()
    if refusal is not None:
        log.warning("refused runner id %r to device %s", hello.runner_id, principal.device_id)
    return refusal


async def _receive(
    ws: WebSocket, broker: Broker, link: RunnerLink, heard: Heard, credential: SocketCredential
) -> None:
    max_bytes = broker.settings.max_frame_bytes
    async for env in envelopes(ws, max_bytes, heard, report=link.send_frame):
        if env.type == "event":
            if env.session is None or env.seq is None or env.seq < 1:
                malformed = ProtocolError("an event needs 'session' and 'seq' >= 1")
                await link.send_frame(error_frame(malformed))
                continue
            broker.ingest.submit(link, env)
        elif env.type == "teams":
            try:
                update = parse_payload(env, TeamsUpdate)
            except ProtocolError as exc:
                await link.send_frame(error_frame(exc))
                continue
            await broker.directory.update_teams(link, update.teams)
        elif env.type == "ping":
            await link.send_frame(encode_frame("pong"))
        elif env.type == "auth":
            await link.send_frame(await credential.renew(env.payload))
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
