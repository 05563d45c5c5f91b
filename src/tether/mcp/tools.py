"""tether's MCP tools on the official SDK's `MCPServer`: names, descriptions, input schemas.

Each tool is a thin shell: find the caller, run the `TeamService` method, and
turn a tether error into an MCP tool error (`isError: true`) whose text says
what happened and what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import Field

import tether
from tether.errors import TetherError
from tether.mcp.access import Caller
from tether.mcp.render import ToolAnswer
from tether.mcp.service import TeamService

log = logging.getLogger("tether.mcp")

INSTRUCTIONS = """\
tether connects you to other teams' coding agents (each team is a workspace with its own
agent, maybe on another machine). Call list_teams to see who you can talk to, then
send_message(to_team, message) to ask one for help: it returns that agent's reply, and
later messages from the same from_team to the same team continue the same conversation.
Use session_report to read a session's transcript and session_cancel to stop a turn."""

Team = Annotated[str, Field(description="Name of the team (see list_teams).", min_length=1)]
FromTeam = Annotated[
    str | None,
    Field(
        description="The team you speak for. Conversations are pooled per (from_team, "
        "to_team): the same pair always reaches the same agent session, which "
        "keeps its context."
    ),
]
Session = Annotated[
    str, Field(description="Session id (s_…), from send_message or list_sessions.", min_length=1)
]

ToolFn = Callable[[Caller], Awaitable[ToolAnswer]]
#: Runs one tool for the caller of an MCP request: `call(ctx, run)`.
Call = Callable[[Context, ToolFn], Awaitable[CallToolResult]]


def _result(answer: ToolAnswer) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=t) for t in answer.text],
        structured_content=answer.data or None,
    )


def build_server(service: TeamService, *, name: str = "tether") -> MCPServer:
    """The MCP server with tether's tools, backed by `service`."""
    server: MCPServer = MCPServer(
        name, instructions=INSTRUCTIONS, version=tether.__version__, log_level="WARNING"
    )

    async def call(ctx: Context, run: ToolFn) -> CallToolResult:
        request = ctx.request_context.request
        try:
            async with service.access.caller(request) as caller:
                return _result(await run(caller))
        except TetherError as exc:
            hint = f" ({exc.hint})" if exc.hint else ""
            raise ToolError(f"{exc.code}: {exc.message}{hint}") from None

    _messaging_tools(server, service, call)
    _team_tools(server, service, call)
    _session_tools(server, service, call)
    return server


def _messaging_tools(server: MCPServer, service: TeamService, call: Call) -> None:
    """list_teams, send_message, quick_message."""

    @server.tool(title="List teams")
    async def list_teams(ctx: Context) -> CallToolResult:
        """List the teams you can message: name, agent, host, online, description."""
        return await call(ctx, service.list_teams)

    @server.tool(title="Send a message to a team and wait for its reply")
    async def send_message(
        to_team: Team,
        message: Annotated[
            str, Field(description="What to ask or tell the team's agent.", min_length=1)
        ],
        ctx: Context,
        from_team: FromTeam = None,
        timeout_s: Annotated[
            float | None,
            Field(
                description="Seconds to wait for the reply (default 300). 0 waits for ever; a "
                "negative value returns at once with the session id."
            ),
        ] = None,
    ) -> CallToolResult:
        """Deliver a turn to another team's agent and return its reply and the session id.

        The first message between a (from_team, to_team) pair starts a session; later ones
        continue it. If that session is still busy with an earlier turn the call fails with
        "busy" (there is no queue). If the agent asks for permission, the call returns the
        pending request ids: answer with permission_decide. If the timeout passes, the turn
        keeps running: read it later with session_report(session, after_seq)."""
        return await call(
            ctx, lambda c: service.send_message(c, to_team, message, from_team, timeout_s)
        )

    @server.tool(title="Send a message without waiting")
    async def quick_message(
        to_team: Team,
        message: Annotated[str, Field(description="What to tell the team's agent.", min_length=1)],
        ctx: Context,
        from_team: FromTeam = None,
    ) -> CallToolResult:
        """Fire and forget: deliver a turn to a team's agent and return the session id at once.
        Read the answer later with session_report(session, after_seq)."""
        return await call(ctx, lambda c: service.quick_message(c, to_team, message, from_team))


def _team_tools(server: MCPServer, service: TeamService, call: Call) -> None:
    """team_status, team_wake, team_sleep."""

    @server.tool(title="Team status")
    async def team_status(
        ctx: Context,
        team: Annotated[str | None, Field(description="One team (default: all).")] = None,
    ) -> CallToolResult:
        """Whether teams are online, how many live sessions each has, and your conversations
        with them (session id and state: idle, busy, waiting_permission …)."""
        return await call(ctx, lambda c: service.team_status(c, team))

    @server.tool(title="Wake a team")
    async def team_wake(team: Team, ctx: Context, from_team: FromTeam = None) -> CallToolResult:
        """Start (or keep) the agent session of your conversation with a team so that the next
        send_message does not wait for it to start. Returns the session id and its state."""
        return await call(ctx, lambda c: service.team_wake(c, team, from_team))

    @server.tool(title="Put a team to sleep")
    async def team_sleep(team: Team, ctx: Context, from_team: FromTeam = None) -> CallToolResult:
        """Stop your conversation sessions with a team (all of them, or the one for from_team).
        The conversation's context is lost: the next send_message starts afresh."""
        return await call(ctx, lambda c: service.team_sleep(c, team, from_team))


def _session_tools(server: MCPServer, service: TeamService, call: Call) -> None:
    """list_sessions, session_report, session_cancel, permission_decide."""

    @server.tool(title="List sessions")
    async def list_sessions(
        ctx: Context,
        team: Annotated[str | None, Field(description="Only this team's sessions.")] = None,
        include_exited: Annotated[bool, Field(description="Also list ended sessions.")] = False,
    ) -> CallToolResult:
        """Sessions you may see: id, team, state, last seq, pending permission requests, and
        whether you started it (yours)."""
        return await call(ctx, lambda c: service.list_sessions(c, team, include_exited))

    @server.tool(title="Session transcript")
    async def session_report(
        session: Session,
        ctx: Context,
        after_seq: Annotated[
            int, Field(description="Only events after this seq (0: from the start).", ge=0)
        ] = 0,
        limit: Annotated[
            int, Field(description="At most this many events (1-1000).", ge=1, le=1000)
        ] = 200,
    ) -> CallToolResult:
        """The transcript of a session after a seq: user turns, the agent's messages, tool
        calls and results, permission requests and decisions, turn ends. Pass the returned
        next_after_seq to read on."""
        return await call(ctx, lambda c: service.session_report(c, session, after_seq, limit))

    @server.tool(title="Cancel a turn")
    async def session_cancel(session: Session, ctx: Context) -> CallToolResult:
        """Interrupt the turn a session is running (the session stays, ready for the next)."""
        return await call(ctx, lambda c: service.session_cancel(c, session))

    @server.tool(title="Answer a permission request")
    async def permission_decide(
        request_id: Annotated[
            str,
            Field(
                description="The request id (from send_message or session_report).", min_length=1
            ),
        ],
        decision: Annotated[Literal["allow", "deny"], Field(description="allow or deny.")],
        ctx: Context,
        session: Annotated[
            str | None,
            Field(description="The session holding the request (default: search yours)."),
        ] = None,
        message: Annotated[
            str | None, Field(description="Why (shown to the agent on deny).")
        ] = None,
    ) -> CallToolResult:
        """Allow or deny a tool use the agent asked permission for. Only for sessions you
        started through these tools (send_message, quick_message, team_wake)."""
        return await call(
            ctx, lambda c: service.permission_decide(c, request_id, decision, session, message)
        )
