"""The hub's HTTP API (OpenAPI at /docs) and its WebSocket routes."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, WebSocket
from pydantic import BaseModel, Field
from starlette.requests import HTTPConnection

import tether
from tether.auth.principal import Principal
from tether.errors import AuthError, Forbidden, NotFound
from tether.hub.broker import Broker, LiveSession
from tether.hub.runner_ws import runner_socket
from tether.hub.sockets import close_quietly
from tether.hub.viewer_ws import viewer_socket
from tether.hub.ws_auth import accept_once, first_frame_principal, has_credentials
from tether.protocol.messages import (
    CloseCode,
    ControlInterrupt,
    ControlPermissionDecision,
    ControlSetPermissionMode,
    ControlStop,
    ControlUserMessage,
    SessionInfo,
)

router = APIRouter()

# An agent's own session id (handed to the agent as `--resume=<id>`): a plain token.
AGENT_SESSION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


def broker_of(conn: HTTPConnection) -> Broker:
    """The app's broker."""
    broker: Broker = conn.app.state.broker
    return broker


async def authenticate(conn: HTTPConnection) -> Principal | None:
    """Run the app's authenticator on a request or socket."""
    principal: Principal | None = await conn.app.state.authenticator.authenticate(conn)
    return principal


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
    if not await request.app.state.policy.can_view(principal, live.record):
        raise Forbidden(f"you may not see session {session_id}")
    return live


async def writable_session(request: Request, session_id: str, principal: Principal) -> LiveSession:
    """The session if the caller may write to it over HTTP (owner, or owner slot free)."""
    live = await visible_session(request, session_id, principal)
    if not broker_of(request).may_write(live, principal):
        raise Forbidden(
            "read-only: the session has an owner connected; only the owner can send",
            hint="wait for the owner to leave, or ask them",
        )
    return live


class StartRequest(BaseModel):
    """Start a session of a team, optionally with a first turn."""

    team: str
    prompt: str | None = None
    # An agent session started outside tether (Claude's session id, Codex's thread id,
    # an ACP session id) to continue; `resume` is accepted as another name for it.
    adopt: str | None = Field(default=None, pattern=AGENT_SESSION_ID_PATTERN)
    resume: str | None = Field(default=None, pattern=AGENT_SESSION_ID_PATTERN)


class MessageRequest(BaseModel):
    """A turn for the agent."""

    text: str = Field(min_length=1)


class DecisionRequest(BaseModel):
    """The answer to a pending permission request."""

    behavior: Literal["allow", "deny"]
    message: str | None = None
    updated_input: dict[str, Any] | None = None
    option_id: str | None = None


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, Any]:
    """Liveness: no auth, no secrets."""
    broker = broker_of(request)
    return {"ok": True, "version": tether.__version__, "runners": len(broker.runners)}


@router.get("/v1/teams")
async def list_teams(request: Request, principal: User) -> list[dict[str, Any]]:
    """Teams announced by runners."""
    teams = broker_of(request).list_teams()
    return [t for t in teams if await request.app.state.policy.can_use_team(principal, t)]


@router.get("/v1/sessions")
async def list_sessions(request: Request, principal: User) -> list[SessionInfo]:
    """Sessions the caller may see, newest first."""
    policy = request.app.state.policy
    out = []
    for info in await broker_of(request).list_sessions():
        if await policy.can_view_info(principal, info):
            out.append(info)
    return out


@router.post("/v1/sessions", status_code=201)
async def start_session(request: Request, body: StartRequest, principal: User) -> SessionInfo:
    """Start a session of a team."""
    if principal.read_only:
        raise Forbidden("a read-only link cannot start sessions")
    broker = broker_of(request)
    team = next((t for t in broker.list_teams() if t["name"] == body.team), None)
    if team is None:
        raise NotFound(f"no team {body.team!r}", hint="list teams with `tether teams`")
    if not await request.app.state.policy.can_use_team(principal, team):
        raise Forbidden(f"you may not use team {body.team!r}")
    live = await broker.start_session(
        body.team, principal, body.prompt, resume=body.adopt or body.resume
    )
    await request.app.state.audit(
        "session_start", principal, session=live.record.id, team=body.team
    )
    return broker.info(live)


@router.get("/v1/sessions/{session_id}")
async def get_session(request: Request, session_id: str, principal: User) -> dict[str, Any]:
    """One session with its pending permission requests."""
    live = await visible_session(request, session_id, principal)
    info = broker_of(request).info(live).model_dump()
    info["pending"] = list(live.tracker.pending.values())
    return info


@router.get("/v1/sessions/{session_id}/events")
async def read_events(
    request: Request,
    session_id: str,
    principal: User,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> dict[str, Any]:
    """Stored events with seq > after (use the last seq you got to page on)."""
    live = await visible_session(request, session_id, principal)
    events = await broker_of(request).store.read_events(session_id, after, limit)
    return {
        "session": session_id,
        "last_seq": live.durable_seq,
        "events": [{"seq": e.seq, "ts": e.ts, "payload": json.loads(e.payload)} for e in events],
    }


@router.post("/v1/sessions/{session_id}/messages", status_code=202)
async def post_message(
    request: Request, session_id: str, body: MessageRequest, principal: User
) -> dict[str, Any]:
    """Hand the agent a turn (listen on the stream socket for the answer)."""
    live = await writable_session(request, session_id, principal)
    await broker_of(request).control(live, ControlUserMessage(text=body.text, by=principal.label))
    await request.app.state.audit("user_message", principal, session=session_id)
    return {"accepted": True, "session": session_id, "after_seq": live.durable_seq}


@router.post("/v1/sessions/{session_id}/permissions/{request_id}", status_code=202)
async def decide_permission(
    request: Request, session_id: str, request_id: str, body: DecisionRequest, principal: User
) -> dict[str, Any]:
    """Answer a pending permission request."""
    live = await writable_session(request, session_id, principal)
    await broker_of(request).decide_permission(
        live,
        ControlPermissionDecision(
            request_id=request_id,
            behavior=body.behavior,
            message=body.message,
            updated_input=body.updated_input,
            option_id=body.option_id,
            by=principal.label,
        ),
    )
    await request.app.state.audit(
        "permission_decision",
        principal,
        session=session_id,
        request_id=request_id,
        behavior=body.behavior,
    )
    return {"accepted": True}


@router.post("/v1/sessions/{session_id}/interrupt", status_code=202)
async def interrupt(request: Request, session_id: str, principal: User) -> dict[str, Any]:
    """Interrupt the running turn."""
    live = await writable_session(request, session_id, principal)
    await broker_of(request).control(live, ControlInterrupt(by=principal.label))
    return {"accepted": True}


@router.post("/v1/sessions/{session_id}/stop", status_code=202)
async def stop_session(request: Request, session_id: str, principal: User) -> dict[str, Any]:
    """End the session's agent process."""
    live = await writable_session(request, session_id, principal)
    await broker_of(request).control(live, ControlStop(by=principal.label))
    await request.app.state.audit("session_stop", principal, session=session_id)
    return {"accepted": True}


class ResumeRequest(BaseModel):
    """Continue an exited session, optionally with a first turn."""

    prompt: str | None = None


class PermissionModeRequest(BaseModel):
    """A permission mode for the running agent (Claude: default, acceptEdits, plan …)."""

    mode: str = Field(min_length=1, max_length=64)


@router.post("/v1/sessions/{session_id}/resume", status_code=202)
async def resume_session(
    request: Request, session_id: str, body: ResumeRequest, principal: User
) -> SessionInfo:
    """Start the agent of an exited session again (same session, same agent session id)."""
    live = await writable_session(request, session_id, principal)
    broker = broker_of(request)
    await broker.resume_session(live, principal, body.prompt)
    await request.app.state.audit(
        "session_resume", principal, session=session_id, team=live.record.team
    )
    return broker.info(live)


@router.post("/v1/sessions/{session_id}/permission-mode", status_code=202)
async def set_permission_mode(
    request: Request, session_id: str, body: PermissionModeRequest, principal: User
) -> dict[str, Any]:
    """Change the running agent's permission mode (the outcome arrives as a `status` event)."""
    live = await writable_session(request, session_id, principal)
    await broker_of(request).control(
        live, ControlSetPermissionMode(mode=body.mode, by=principal.label)
    )
    await request.app.state.audit("permission_mode", principal, session=session_id, mode=body.mode)
    return {"accepted": True}


@router.websocket("/v1/runner")
async def runner_endpoint(ws: WebSocket) -> None:
    """The runner socket."""
    principal = await authenticate(ws)
    # A signed-in CLI device may serve as its own PTY host (`tether run`); the policy then
    # holds it to the one runner id derived from it, with no teams (docs/terminal.md).
    pty_host = principal is not None and principal.kind == "user" and principal.device_id
    if principal is None or (principal.kind != "runner" and not pty_host) or principal.read_only:
        await ws.accept()
        code = CloseCode.UNAUTHORIZED if principal is None else CloseCode.FORBIDDEN
        await close_quietly(ws, code, "unauthorized: runner token required")
        return
    ws.scope["tether.principal"] = principal
    await runner_socket(ws, broker_of(ws))


@router.websocket("/v1/sessions/{session_id}/stream")
async def viewer_endpoint(ws: WebSocket, session_id: str) -> None:
    """The viewer socket (header or cookie credentials, or a first `auth` frame)."""
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
    if not await ws.app.state.policy.can_view(principal, live.record):
        await accept_once(ws)
        await close_quietly(ws, CloseCode.FORBIDDEN, "forbidden: not your session")
        return
    follow = ws.query_params.get("follow", "").lower() in ("1", "true", "yes")
    await viewer_socket(ws, broker, live, principal, follow=follow)
