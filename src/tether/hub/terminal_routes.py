"""`POST /v1/terminal-sessions`: a PTY host publishes a terminal it holds as a session.

A terminal started with `tether run` is not started by the hub (the hub never makes a
runner run a command): the user's own PTY host runs it and asks here for a session on
itself. Only the device whose PTY host it is may ask (docs/terminal.md, "Identity").
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from tether.errors import Conflict, Forbidden
from tether.hub.hub import hub_of
from tether.hub.routes import User
from tether.ids import new_session_id
from tether.protocol.messages import SessionInfo
from tether.store.base import SessionRecord
from tether.terminal.identity import terminal_runner_id

terminal_router = APIRouter()

_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"


class TerminalSessionRequest(BaseModel):
    """A terminal the caller's PTY host holds, to be published as a session."""

    name: str = Field(min_length=1, max_length=80, pattern=_PRINTABLE)
    host: str = Field(default="local", min_length=1, max_length=255, pattern=_PRINTABLE)


@terminal_router.post("/v1/terminal-sessions", status_code=201)
async def open_terminal_session(
    request: Request, body: TerminalSessionRequest, principal: User
) -> SessionInfo:
    """Create a session served by the caller's own PTY host (which must be connected)."""
    if principal.read_only or principal.device_id is None:
        raise Forbidden("only a signed-in CLI device can publish terminals")
    hub = hub_of(request)
    broker = hub.broker
    runner_id = terminal_runner_id(principal.device_id)
    # Only this device may connect as its terminal host (device_auth.refuse_runner), on
    # this replica or another one (a hub behind a load balancer).
    link = broker.runners.get(runner_id)
    foreign = link is not None and (
        link.principal is None or link.principal.device_id != principal.device_id
    )
    if foreign or not broker.directory.is_connected(runner_id):
        raise Conflict(
            "this device's terminal host is not connected to the hub",
            hint="`tether run` starts it; try again in a moment",
        )
    now = time.time()
    record = SessionRecord(
        id=new_session_id(),
        team=body.name,
        agent="terminal",
        host=body.host,
        runner_id=runner_id,
        created_by=principal.user_id or principal.label,
        created_at=now,
        updated_at=now,
    )
    live = await broker.registry.create(record)
    await hub.audit("session_start", principal, session=record.id, team=body.name, via="tether run")
    return broker.info(live)
