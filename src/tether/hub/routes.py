"""The hub's HTTP API (OpenAPI at /docs) and its WebSocket routes."""

from __future__ import annotations

import json
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Query, Request, WebSocket
from starlette.requests import HTTPConnection

from tether.auth.principal import Principal
from tether.errors import AuthError, Forbidden, NotFound
from tether.hub import api_models as api
from tether.hub import ownership
from tether.hub.broker import Broker, LiveSession
from tether.hub.health import health_router, refused_while_draining
from tether.hub.hub import hub_of
from tether.hub.runner_ws import runner_socket
from tether.hub.sockets import close_quietly
from tether.hub.viewer_ws import viewer_socket
from tether.hub.ws_auth import accept_once, first_frame_principal, has_credentials
from tether.protocol.api_retention import PruneAnswer
from tether.protocol.api_shapes import Accepted, MessageAccepted, Team
from tether.protocol.messages import (
    CloseCode,
    ControlInterrupt,
    ControlSetPermissionMode,
    ControlStop,
    SessionInfo,
    ViewerPermissionDecision,
)

router = APIRouter()
router.include_router(health_router)  # /healthz, /readyz

MAX_SEQ = 2**63 - 1
"""The largest seq the store can hold (a signed 64-bit INTEGER): bigger is a 422, not a 500."""


def broker_of(conn: HTTPConnection) -> Broker:
    """The hub's broker."""
    return hub_of(conn).broker


async def authenticate(conn: HTTPConnection) -> Principal | None:
    """Run the hub's authenticator on a request or socket."""
    return await hub_of(conn).authenticator.authenticate(conn)


async def require_user(request: Request) -> Principal:
    """Dependency: an authenticated user (not a runner)."""
    principal = await authenticate(request)
    if principal is None:
        raise AuthError(
            "missing or invalid token",
            hint="pass `Authorization: Bearer <token>` (see `tether up` output)",
        )
    if principal.kind == "runner":
        raise Forbidden("runner credentials cannot use the viewer API")
    return principal


User = Annotated[Principal, Depends(require_user)]


async def visible_session(request: Request, session_id: str, principal: Principal) -> LiveSession:
    """The session if the caller may see it, else NotFound/Forbidden."""
    broker = broker_of(request)
    live = await broker.session(session_id)
    if not await hub_of(request).policy.can_view(principal, live.record):
        raise Forbidden(f"you may not see session {session_id}")
    return live


Take = Annotated[
    bool, Query(description="Take the owner slot from your other device first (`--take`).")
]


async def writable_session(
    request: Request,
    session_id: str,
    principal: Principal,
    *,
    take: bool = False,
    same_user: bool = False,
) -> LiveSession:
    """The session if the caller may write to it over HTTP: from the owner's device, or
    while the owner slot is free; with `take`, after taking the slot from the caller's
    other device (docs/cli.md); with `same_user` (interrupt), from any device of the
    owner's user — nobody is locked out of stopping a turn by their own browser tab."""
    live = await visible_session(request, session_id, principal)
    broker = broker_of(request)
    if broker.may_write(live, principal):
        return live
    hub = hub_of(request)
    holder = broker.presence.owner(live)
    if same_user and await ownership.same_user(hub.auth, holder, principal):
        return live
    if take:
        why = await ownership.refuse_take(hub.auth, live, holder, principal)
        if why is not None:
            raise Forbidden(why)
        by = await ownership.device_label(hub.auth, principal)
        previous = await broker.take(live, None, f"taken over by {by}")
        was = await ownership.holder_label(hub.auth, previous) if previous else None
        await hub.audit("owner_taken", principal, session=session_id, taken_from=was, via="http")
        return live
    message, hint = await ownership.write_refusal(hub.auth, holder, principal)
    raise Forbidden(message, hint=hint)


@router.get("/v1/teams")
async def list_teams(request: Request, principal: User) -> list[Team]:
    """Teams announced by runners."""
    teams = broker_of(request).list_teams()
    usable = [t for t in teams if await hub_of(request).policy.can_use_team(principal, t)]
    return cast(list[Team], usable)


@router.get("/v1/sessions")
async def list_sessions(request: Request, principal: User) -> list[SessionInfo]:
    """Sessions the caller may see, newest first."""
    policy = hub_of(request).policy
    out = []
    for info in await broker_of(request).list_sessions():
        if await policy.can_view_info(principal, info):
            out.append(info)
    return out


@router.post("/v1/sessions", status_code=201)
async def start_session(request: Request, body: api.StartRequest, principal: User) -> SessionInfo:
    """Start a session of a team."""
    if principal.read_only:
        raise Forbidden("a read-only link cannot start sessions")
    broker = broker_of(request)
    team = next((t for t in broker.list_teams() if t["name"] == body.team), None)
    if team is None:
        raise NotFound(f"no team {body.team!r}", hint="list teams with `tether teams`")
    if not await hub_of(request).policy.can_use_team(principal, team):
        raise Forbidden(f"you may not use team {body.team!r}")
    live = await broker.start_session(
        body.team, principal, body.prompt, resume=body.adopt or body.resume
    )
    await hub_of(request).audit("session_start", principal, session=live.record.id, team=body.team)
    return broker.info(live)


@router.get("/v1/sessions/{session_id}")
async def get_session(request: Request, session_id: str, principal: User) -> api.SessionDetail:
    """One session with its pending permission requests."""
    live = await visible_session(request, session_id, principal)
    info = broker_of(request).info(live).model_dump()
    return api.SessionDetail(**info, pending=list(live.tracker.pending.values()))


@router.get("/v1/sessions/{session_id}/events")
async def read_events(
    request: Request,
    session_id: str,
    principal: User,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> api.EventsPage:
    """Stored events with seq > after (use the last seq you got to page on)."""
    live = await visible_session(request, session_id, principal)
    events = await broker_of(request).store.read_events(session_id, after, limit)
    return api.EventsPage(
        session=session_id,
        last_seq=live.durable_seq,
        events=[
            api.StoredEventOut(seq=e.seq, ts=e.ts, payload=json.loads(e.payload)) for e in events
        ],
    )


@router.post("/v1/sessions/{session_id}/messages", status_code=202)
async def post_message(
    request: Request, session_id: str, body: api.MessageRequest, principal: User, take: Take = False
) -> MessageAccepted:
    """Hand the agent a turn (listen on the stream socket for the answer); a session that is
    asleep is woken for it."""
    live = await writable_session(request, session_id, principal, take=take)
    after_seq = live.durable_seq
    woke = await broker_of(request).send_message(live, principal, body.text)
    if woke:
        await hub_of(request).audit("session_resume", principal, session=session_id, via="message")
    await hub_of(request).audit("user_message", principal, session=session_id)
    return {"accepted": True, "session": session_id, "after_seq": after_seq, "woke": woke}


@router.post("/v1/sessions/{session_id}/permissions/{request_id}", status_code=202)
async def decide_permission(
    request: Request,
    session_id: str,
    request_id: str,
    body: api.DecisionRequest,
    principal: User,
    take: Take = False,
) -> Accepted:
    """Answer a pending permission request."""
    live = await writable_session(request, session_id, principal, take=take)
    tool = live.tracker.pending.get(request_id, {}).get("tool")  # before the answer clears it
    await broker_of(request).decide_permission(
        live,
        ViewerPermissionDecision(request_id=request_id, **body.model_dump()).control(
            by=principal.label
        ),
    )
    await hub_of(request).audit(
        "permission_decision",
        principal,
        session=session_id,
        request_id=request_id,
        behavior=body.behavior,
        tool=tool,
    )
    return {"accepted": True}


@router.post("/v1/sessions/{session_id}/interrupt", status_code=202)
async def interrupt(
    request: Request, session_id: str, principal: User, take: Take = False
) -> Accepted:
    """Interrupt the running turn (any device of the owner's user may)."""
    live = await writable_session(request, session_id, principal, take=take, same_user=True)
    await broker_of(request).control(live, ControlInterrupt(by=principal.label))
    return {"accepted": True}


@router.post("/v1/sessions/{session_id}/stop", status_code=202)
async def stop_session(
    request: Request, session_id: str, principal: User, take: Take = False
) -> Accepted:
    """End the session's agent process."""
    live = await writable_session(request, session_id, principal, take=take)
    await broker_of(request).control(live, ControlStop(by=principal.label))
    await hub_of(request).audit("session_stop", principal, session=session_id)
    return {"accepted": True}


@router.post("/v1/sessions/{session_id}/resume", status_code=202)
async def resume_session(
    request: Request, session_id: str, body: api.ResumeRequest, principal: User
) -> SessionInfo:
    """Start the agent of an exited session again (same session, same agent session id)."""
    live = await writable_session(request, session_id, principal)
    broker = broker_of(request)
    await broker.resume_session(live, principal, body.prompt)
    await hub_of(request).audit(
        "session_resume", principal, session=session_id, team=live.record.team
    )
    return broker.info(live)


@router.post("/v1/admin/prune")
async def prune_sessions(request: Request, body: api.PruneRequest, principal: User) -> PruneAnswer:
    """Remove exited sessions last updated before `before`, with their events (admins);
    `dry_run` only counts them (docs/operations.md, "Database sizing and retention")."""
    if not principal.is_admin:
        raise Forbidden("only admins can prune sessions", hint="ask an admin of this hub")
    pruned = await broker_of(request).prune(body.before, dry_run=body.dry_run)
    if not body.dry_run and pruned.sessions:
        await hub_of(request).audit(
            "sessions_pruned",
            principal,
            before=body.before,
            sessions=len(pruned.sessions),
            events=pruned.events,
        )
    return {
        "sessions": pruned.sessions,
        "events": pruned.events,
        "before": body.before,
        "dry_run": body.dry_run,
    }


@router.post("/v1/sessions/{session_id}/permission-mode", status_code=202)
async def set_permission_mode(
    request: Request, session_id: str, body: api.PermissionModeRequest, principal: User
) -> Accepted:
    """Change the running agent's permission mode (the outcome arrives as a `status` event)."""
    live = await writable_session(request, session_id, principal)
    await broker_of(request).control(
        live, ControlSetPermissionMode(mode=body.mode, by=principal.label)
    )
    await hub_of(request).audit("permission_mode", principal, session=session_id, mode=body.mode)
    return {"accepted": True}


@router.websocket("/v1/runner")
async def runner_endpoint(ws: WebSocket) -> None:
    """The runner socket."""
    if await refused_while_draining(ws):
        return
    principal = await authenticate(ws)
    # A signed-in CLI device may serve as its own PTY host (`tether run`); the policy then
    # holds it to the one runner id derived from it, with no teams (docs/terminal.md).
    pty_host = principal is not None and principal.kind == "user" and principal.device_id
    if principal is None or (principal.kind != "runner" and not pty_host) or principal.read_only:
        await ws.accept()
        code = CloseCode.UNAUTHORIZED if principal is None else CloseCode.FORBIDDEN
        await close_quietly(ws, code, "unauthorized: runner token required")
        return
    await runner_socket(ws, broker_of(ws), principal)


@router.websocket("/v1/sessions/{session_id}/stream")
async def viewer_endpoint(ws: WebSocket, session_id: str) -> None:
    """The viewer socket (header or cookie credentials, or a first `auth` frame)."""
    if await refused_while_draining(ws):
        return
    principal = await authenticate(ws)
    if principal is None and not has_credentials(ws):
        principal = await first_frame_principal(ws)
    if principal is None or principal.kind == "runner":
        await accept_once(ws)
        await close_quietly(ws, CloseCode.UNAUTHORIZED, "unauthorized: missing or invalid token")
        return
    broker = broker_of(ws)
    try:
        live = await broker.session(session_id)
    except NotFound:
        await accept_once(ws)
        await close_quietly(ws, CloseCode.NOT_FOUND, f"no session {session_id}")
        return
    if not await hub_of(ws).policy.can_view(principal, live.record):
        await accept_once(ws)
        await close_quietly(ws, CloseCode.FORBIDDEN, "forbidden: not your session")
        return
    follow = ws.query_params.get("follow", "").lower() in ("1", "true", "yes")
    take = ws.query_params.get("take", "").lower() in ("1", "true", "yes")
    await viewer_socket(ws, broker, live, principal, follow=follow, take=take)
