"""tether's side of the Agent Client Protocol: the `acp.Client` an ACP agent talks to.

It maps `session/update`s to normalized events, turns `session/request_permission` into a
`permission_request` the owner answers, serves `fs/*` inside the team's path, and refuses
`terminal/*` (not advertised). `ProcessMessageTransport` carries the JSON-RPC messages
over a tether `AgentProcess`, so ACP agents run over every transport (local, ssh, exec).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from acp import RequestError
from acp.schema import (
    AllowedOutcome,
    DeniedOutcome,
    PermissionOption,
    ReadTextFileResponse,
    RequestPermissionResponse,
    ToolCallUpdate,
    WriteTextFileResponse,
)

from tether.agents.base import Emit, WireObject
from tether.agents.workspace import Workspace
from tether.errors import AgentError, TetherError, TransportError
from tether.protocol.events import (
    AgentMessage,
    PermissionDecision,
    PermissionRequest,
    Status,
    ToolCall,
    ToolResult,
)
from tether.protocol.messages import ControlPermissionDecision
from tether.transports.base import AgentProcess

log = logging.getLogger("tether.agents.acp")

_ALLOW_KINDS = ("allow_once", "allow_always")
_DENY_KINDS = ("reject_once", "reject_always")


class ProcessMessageTransport:
    """`acp`'s message transport over a tether `AgentProcess` (newline-delimited JSON)."""

    def __init__(self, proc: AgentProcess, agent_name: str) -> None:
        self.proc = proc
        self.agent_name = agent_name
        self._lines: AsyncIterator[bytes] = proc.lines("stdout")

    async def send(self, message: WireObject) -> None:
        """Write one message as a line."""
        line = json.dumps(message, ensure_ascii=False) + "\n"
        try:
            await self.proc.write(line.encode("utf-8"))
        except TransportError as exc:
            raise ConnectionError(f"{self.agent_name} is not accepting input: {exc}") from None

    async def receive(self) -> WireObject | None:
        """The next message, or None at EOF (lines that are not JSON objects are skipped)."""
        async for raw in self._lines:
            if not raw.strip():
                continue
            try:
                message = json.loads(raw)
            except json.JSONDecodeError:
                log.debug("%s wrote a non-JSON line: %r", self.agent_name, raw[:200])
                continue
            if isinstance(message, dict):
                return message
        return None

    async def close(self) -> None:
        """Close the agent's stdin."""
        try:
            await self.proc.close_stdin()
        except TransportError as exc:
            log.debug("closing %s's stdin: %s", self.agent_name, exc)


@dataclass
class _Pending:
    options: list[PermissionOption]
    answer: asyncio.Future[RequestPermissionResponse]


@dataclass
class _ToolCall:
    title: str = ""
    kind: str = ""
    name: str = ""  # the agent's own tool name, when its `_meta` says (claude-code-acp does)
    raw_input: WireObject = field(default_factory=dict)
    announced: bool = False

    @property
    def tool(self) -> str:
        """The best name for the event's `tool`: agent tool name, else ACP kind, else title."""
        return self.name or self.kind or self.title or "tool"


class TetherAcpClient:
    """The client half of one ACP connection, emitting tether events."""

    def __init__(self, emit: Emit, agent_name: str, workspace: Workspace | None) -> None:
        self.emit = emit
        self.agent_name = agent_name
        self.workspace = workspace
        self.in_turn = False
        self._ids = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
        self._tools: dict[str, _ToolCall] = {}
        self._text: list[str] = []
        self.last_update = 0.0  # loop time of the latest session/update
        self.cost_total: float | None = None  # the session's cost so far, if the agent says

    # -- permission requests ---------------------------------------------------------------

    async def request_permission(
        self, session_id: str, tool_call: ToolCallUpdate, options: list[PermissionOption], **_: Any
    ) -> RequestPermissionResponse:
        """Ask the session's owner; wait for `decide` (or `cancel_pending`)."""
        self.flush_text()
        call = self._merge(tool_call)
        request_id = f"acp-{next(self._ids)}"
        answer: asyncio.Future[RequestPermissionResponse] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending[request_id] = _Pending(list(options), answer)
        self.emit(
            PermissionRequest(
                request_id=request_id,
                tool=call.tool,
                title=call.title,
                input=call.raw_input,
                tool_use_id=tool_call.tool_call_id,
                options=[
                    {"option_id": o.option_id, "name": o.name, "kind": o.kind} for o in options
                ],
                raw={
                    "toolCall": tool_call.model_dump(mode="json", by_alias=True, exclude_none=True)
                },
            )
        )
        try:
            return await answer
        finally:
            self._pending.pop(request_id, None)

    def decide(self, decision: ControlPermissionDecision) -> None:
        """Send the owner's choice: `option_id` if given, else allow → an allow-once option,
        deny → a reject-once option."""
        pending = self._pending.get(decision.request_id)
        if pending is None or pending.answer.done():
            raise AgentError(f"no pending permission request {decision.request_id!r}")
        ids = [o.option_id for o in pending.options]
        if decision.option_id is not None:
            if decision.option_id not in ids:
                raise AgentError(
                    f"option {decision.option_id!r} was not offered for {decision.request_id}",
                    hint="pick one of: " + ", ".join(ids),
                )
            chosen: str | None = decision.option_id
        else:
            kinds = _ALLOW_KINDS if decision.behavior == "allow" else _DENY_KINDS
            chosen = next(
                (o.option_id for kind in kinds for o in pending.options if o.kind == kind), None
            )
        if chosen is None:  # the agent offered no way to say no: withdraw instead
            outcome: AllowedOutcome | DeniedOutcome = DeniedOutcome(outcome="cancelled")
        else:
            outcome = AllowedOutcome(outcome="selected", option_id=chosen)
        pending.answer.set_result(RequestPermissionResponse(outcome=outcome))

    def cancel_pending(self) -> None:
        """Answer every open request `cancelled` (after `session/cancel`, or on exit)."""
        for request_id, pending in list(self._pending.items()):
            if pending.answer.done():
                continue
            pending.answer.set_result(
                RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
            )
            self.emit(
                PermissionDecision(request_id=request_id, behavior="cancelled", by=self.agent_name)
            )

    # -- session updates -------------------------------------------------------------------

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        """Map one `session/update` to events (history replayed by `session/load` outside a
        turn is not repeated: those events are already in the log of the earlier session)."""
        self.last_update = asyncio.get_running_loop().time()
        kind = getattr(update, "session_update", None)
        if kind == "agent_message_chunk":
            if self.in_turn:
                self._text.append(_content_text(update.content))
        elif kind == "tool_call" or kind == "tool_call_update":
            self._on_tool(update, kind)
        elif kind == "current_mode_update":
            mode = getattr(update, "current_mode_id", None)
            self.emit(Status(state="busy" if self.in_turn else "idle", permission_mode=mode))
        elif kind == "usage_update":
            self._on_usage(update)
        # Thoughts, plans, user-message replays and command lists carry nothing a viewer
        # needs in the normalized log.

    def _on_usage(self, update: Any) -> None:
        """Keep the session's cost so far (a turn's cost is what it added), in US dollars."""
        cost = getattr(update, "cost", None)
        amount = getattr(cost, "amount", None)
        if isinstance(amount, int | float) and getattr(cost, "currency", None) == "USD":
            self.cost_total = float(amount)

    def flush_text(self) -> None:
        """Emit the text streamed since the last flush as one `agent_message`."""
        text = "".join(self._text)
        self._text.clear()
        if text.strip():
            self.emit(AgentMessage(text=text))

    def _merge(self, update: Any) -> _ToolCall:
        call = self._tools.setdefault(update.tool_call_id, _ToolCall())
        call.title = update.title or call.title
        call.kind = str(update.kind or call.kind or "")
        meta = update.field_meta if isinstance(update.field_meta, dict) else {}
        for value in meta.values():  # e.g. {"claudeCode": {"toolName": "Bash"}}
            if isinstance(value, dict) and isinstance(value.get("toolName"), str):
                call.name = value["toolName"]
        if isinstance(update.raw_input, dict) and update.raw_input:
            call.raw_input = update.raw_input
        return call

    def _on_tool(self, update: Any, kind: str) -> None:
        call = self._merge(update)
        raw = update.model_dump(mode="json", by_alias=True, exclude_none=True)
        if not call.announced and (
            call.raw_input or update.status in ("in_progress", "completed", "failed")
        ):
            self.flush_text()
            call.announced = True
            self.emit(
                ToolCall(
                    tool_use_id=update.tool_call_id,
                    tool=call.tool,
                    title=call.title,
                    input=call.raw_input,
                    raw=raw,
                )
            )
        if update.status in ("completed", "failed"):
            output = update.raw_output
            if not isinstance(output, str):
                output = _tool_content_text(update.content) or (
                    "" if output is None else json.dumps(output)
                )
            self.emit(
                ToolResult(
                    tool_use_id=update.tool_call_id,
                    output=output,
                    is_error=update.status == "failed",
                    raw=raw,
                )
            )
            self._tools.pop(update.tool_call_id, None)

    # -- fs/* inside the team's path; terminal/* refused -------------------------------------

    async def read_text_file(
        self,
        session_id: str,
        path: str,
        line: int | None = None,
        limit: int | None = None,
        **_: Any,
    ) -> ReadTextFileResponse:
        """`fs/read_text_file`, inside the team's path only."""
        workspace = self._workspace()
        try:
            text = await asyncio.to_thread(workspace.read_text, path, line, limit)
        except TetherError as exc:
            raise RequestError.invalid_params({"path": path, "details": str(exc)}) from None
        return ReadTextFileResponse(content=text)

    async def write_text_file(
        self, session_id: str, path: str, content: str, **_: Any
    ) -> WriteTextFileResponse:
        """`fs/write_text_file`, inside the team's path only."""
        workspace = self._workspace()
        try:
            await asyncio.to_thread(workspace.write_text, path, content)
        except (TetherError, OSError) as exc:
            raise RequestError.invalid_params({"path": path, "details": str(exc)}) from None
        return WriteTextFileResponse()

    async def create_terminal(self, *args: Any, **kwargs: Any) -> Any:
        """Not offered: tether does not run commands for an agent (its own tools do, after
        asking the owner)."""
        raise RequestError.method_not_found("terminal/create")

    async def terminal_output(self, *args: Any, **kwargs: Any) -> Any:
        """Not offered (see `create_terminal`)."""
        raise RequestError.method_not_found("terminal/output")

    async def release_terminal(self, *args: Any, **kwargs: Any) -> Any:
        """Not offered (see `create_terminal`)."""
        raise RequestError.method_not_found("terminal/release")

    async def wait_for_terminal_exit(self, *args: Any, **kwargs: Any) -> Any:
        """Not offered (see `create_terminal`)."""
        raise RequestError.method_not_found("terminal/wait_for_exit")

    async def kill_terminal(self, *args: Any, **kwargs: Any) -> Any:
        """Not offered (see `create_terminal`)."""
        raise RequestError.method_not_found("terminal/kill")

    async def ext_method(self, method: str, params: WireObject) -> WireObject:
        """Extensions are not supported."""
        raise RequestError.method_not_found(method)

    async def ext_notification(self, method: str, params: WireObject) -> None:
        """Extension notifications are ignored."""
        log.debug("%s sent extension notification %s", self.agent_name, method)

    def on_connect(self, conn: Any) -> None:
        """Nothing to do when the connection is made."""

    def _workspace(self) -> Workspace:
        if self.workspace is None:  # not advertised: a well-behaved agent never gets here
            raise RequestError.method_not_found("fs/*")
        return self.workspace


def _content_text(content: Any) -> str:
    text = getattr(content, "text", None)
    return text if isinstance(text, str) else ""


def _tool_content_text(content: Any) -> str:
    parts = []
    for item in content or []:
        inner = getattr(item, "content", None)
        if inner is not None:
            parts.append(_content_text(inner))
    return "\n".join(p for p in parts if p)
