"""The Claude Code adapter: stream-json over stdio (also spoken by the built-in demo agent).

Spawn: `claude -p --input-format stream-json --output-format stream-json --verbose
--permission-prompt-tool stdio`; stdin stays open for control responses.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections import deque
from typing import Any

from tether.agents.base import AgentContext
from tether.errors import AgentError, TransportError
from tether.protocol.messages import ControlPermissionDecision
from tether.transports.base import AgentProcess

log = logging.getLogger("tether.agents.claude")

STREAM_JSON_FLAGS = [
    "-p",
    "--input-format",
    "stream-json",
    "--output-format",
    "stream-json",
    "--verbose",
    "--permission-prompt-tool",
    "stdio",
]


class ClaudeAdapter:
    """Drives one Claude Code (stream-json) process."""

    agent_name = "claude"
    default_command: tuple[str, ...] = ("claude",)

    def __init__(self, ctx: AgentContext) -> None:
        self.ctx = ctx
        self._proc: AgentProcess | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._controls: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._request_ids = itertools.count(1)
        self._permissions: dict[str, dict[str, Any]] = {}
        self._interrupting = False
        self._in_turn = False
        self._stopping = False
        self._exited = asyncio.Event()
        self._stderr_tail: deque[str] = deque(maxlen=20)
        self.agent_session_id: str | None = ctx.resume

    # -- argv ----------------------------------------------------------------------------

    def argv(self) -> list[str]:
        """The full argv (a list; never a shell line)."""
        team = self.ctx.team
        args = [*(team.command or self.default_command), *STREAM_JSON_FLAGS]
        if self.ctx.resume:
            args.append(f"--resume={self.ctx.resume}")
        mode = "bypassPermissions" if team.skip_permissions else team.permission_mode
        if mode:
            args += ["--permission-mode", mode]
        if team.model:
            args += ["--model", team.model]
        return args

    def env(self) -> dict[str, str]:
        """Environment for the process: the team's `env` plus the SDK's entrypoint marker."""
        return {"CLAUDE_CODE_ENTRYPOINT": "sdk-py", **self.ctx.team.env}

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Spawn, send `initialize`, and report the session idle."""
        team = self.ctx.team
        self._proc = await self.ctx.transport.spawn(self.argv(), cwd=team.path, env=self.env())
        self._spawn_task(self._read_stdout())
        self._spawn_task(self._read_stderr())
        self._spawn_task(self._watch_exit())
        try:
            await self._control({"subtype": "initialize", "hooks": None}, team.session_init_timeout)
        except TimeoutError:
            await self.stop()
            raise AgentError(
                f"{self.agent_name} did not answer `initialize` within"
                f" {team.session_init_timeout:g} s",
                hint="check the agent's install and credentials; raise session_init_timeout",
            ) from None
        self.ctx.emit(
            {
                "kind": "status",
                "state": "idle",
                "agent": self.agent_name,
                "agent_session_id": self.agent_session_id,
            }
        )

    async def send_user_message(self, text: str) -> None:
        """Write one user turn."""
        self._in_turn = True
        await self._write(
            {
                "type": "user",
                "message": {"role": "user", "content": text},
                "parent_tool_use_id": None,
                "session_id": self.agent_session_id or "default",
            }
        )

    async def decide_permission(self, decision: ControlPermissionDecision) -> None:
        """Answer a `can_use_tool` request."""
        request = self._permissions.pop(decision.request_id, None)
        if request is None:
            raise AgentError(f"no pending permission request {decision.request_id!r}")
        if decision.behavior == "allow":
            answer: dict[str, Any] = {
                "behavior": "allow",
                "updatedInput": decision.updated_input or request.get("input") or {},
            }
        else:
            answer = {
                "behavior": "deny",
                "message": decision.message or "Denied by the session owner",
            }
        await self._write(
            {
                "type": "control_response",
                "response": {
                    "subtype": "success",
                    "request_id": decision.request_id,
                    "response": answer,
                },
            }
        )

    async def interrupt(self) -> None:
        """Ask the agent to stop the running turn."""
        if not self._in_turn:
            return
        self._interrupting = True
        with contextlib.suppress(TimeoutError, AgentError):
            await self._control({"subtype": "interrupt"}, timeout=10)

    async def set_permission_mode(self, mode: str) -> None:
        """Change the permission mode of the running agent."""
        await self._control({"subtype": "set_permission_mode", "mode": mode}, timeout=10)

    async def stop(self) -> None:
        """End the process."""
        self._stopping = True
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(TransportError):
                await self._proc.close_stdin()
            await self._proc.terminate(grace_s=5.0)
        await self.wait_exited()

    async def wait_exited(self) -> None:
        """Until the process has ended and `exited` was emitted."""
        if self._proc is None:
            return
        await self._exited.wait()

    # -- plumbing ----------------------------------------------------------------------------

    def _spawn_task(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, message: dict[str, Any]) -> None:
        if self._proc is None:
            raise AgentError(f"{self.agent_name} is not running")
        line = json.dumps(message, ensure_ascii=False) + "\n"
        try:
            await self._proc.write(line.encode("utf-8"))
        except TransportError as exc:
            raise AgentError(f"{self.agent_name} is not accepting input: {exc}") from None

    async def _control(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        request_id = f"tether_{next(self._request_ids)}"
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._controls[request_id] = fut
        try:
            await self._write(
                {"type": "control_request", "request_id": request_id, "request": request}
            )
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._controls.pop(request_id, None)

    async def _read_stderr(self) -> None:
        assert self._proc is not None
        async for raw in self._proc.lines("stderr"):
            text = raw.decode("utf-8", "replace")
            self._stderr_tail.append(text)
            log.debug("%s stderr: %s", self.agent_name, text)

    async def _read_stdout(self) -> None:
        assert self._proc is not None
        async for raw in self._proc.lines("stdout"):
            if not raw.strip():
                continue
            try:
                message = json.loads(raw)
            except json.JSONDecodeError:
                snippet = raw[:200].decode("utf-8", "replace")
                self.ctx.emit(
                    {
                        "kind": "error",
                        "code": "agent_output",
                        "message": f"{self.agent_name} wrote a line that is not JSON: {snippet}",
                    }
                )
                continue
            if not isinstance(message, dict):
                continue
            try:
                self._dispatch(message)
            except Exception:  # one odd message must not kill the session's reader
                log.exception("could not map a %s message", self.agent_name)
                self.ctx.emit(
                    {
                        "kind": "error",
                        "code": "agent_output",
                        "message": f"could not understand a {message.get('type')!r} message",
                        "raw": message,
                    }
                )

    async def _watch_exit(self) -> None:
        assert self._proc is not None
        code = await self._proc.wait()
        # Let the readers drain what the process wrote before it ended.
        readers = [t for t in self._tasks if t is not asyncio.current_task()]
        if readers:
            await asyncio.wait(readers, timeout=5)
        for fut in self._controls.values():
            if not fut.done():
                fut.set_exception(AgentError(f"{self.agent_name} exited (code {code})"))
        event: dict[str, Any] = {"kind": "exited", "code": code if code >= 0 else None}
        if code < 0:
            event["signal"] = -code
        if self._stopping:
            event["reason"] = "stopped"
        elif code != 0 and self._stderr_tail:
            event["reason"] = "\n".join(self._stderr_tail)
        self.ctx.emit(event)
        self._exited.set()

    # -- mapping ------------------------------------------------------------------------------

    def _dispatch(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        emit = self.ctx.emit
        if kind == "control_response":
            response = msg.get("response") or {}
            fut = self._controls.get(str(response.get("request_id")))
            if fut is not None and not fut.done():
                if response.get("subtype") == "error":
                    fut.set_exception(
                        AgentError(str(response.get("error", "control request failed")))
                    )
                else:
                    fut.set_result(response.get("response") or {})
        elif kind == "control_request":
            self._on_control_request(msg)
        elif kind == "control_cancel_request":
            request_id = str(msg.get("request_id"))
            if self._permissions.pop(request_id, None) is not None:
                emit(
                    {
                        "kind": "permission_decision",
                        "request_id": request_id,
                        "behavior": "cancelled",
                        "by": self.agent_name,
                        "raw": msg,
                    }
                )
        elif kind == "system" and msg.get("subtype") == "init":
            self.agent_session_id = msg.get("session_id") or self.agent_session_id
            emit(
                {
                    "kind": "status",
                    "state": "busy",
                    "agent": self.agent_name,
                    "agent_session_id": self.agent_session_id,
                    "model": msg.get("model"),
                    "permission_mode": msg.get("permissionMode"),
                    "raw": msg,
                }
            )
        elif kind == "assistant":
            self._on_assistant(msg)
        elif kind == "user":
            self._on_tool_results(msg)
        elif kind == "result":
            self._on_result(msg)
        # Other message types (stream_event, system/status …) carry nothing a viewer needs.

    def _on_control_request(self, msg: dict[str, Any]) -> None:
        request = msg.get("request") or {}
        request_id = str(msg.get("request_id"))
        if request.get("subtype") != "can_use_tool":
            # Answer what we do not support, so the agent is never left waiting.
            self._spawn_task(
                self._write(
                    {
                        "type": "control_response",
                        "response": {
                            "subtype": "error",
                            "request_id": request_id,
                            "error": f"tether does not support {request.get('subtype')!r}",
                        },
                    }
                )
            )
            return
        tool_input = request.get("input") or {}
        self._permissions[request_id] = {"input": tool_input}
        self.ctx.emit(
            {
                "kind": "permission_request",
                "request_id": request_id,
                "tool": str(request.get("tool_name", "?")),
                "input": tool_input,
                "suggestions": request.get("permission_suggestions") or [],
                "tool_use_id": request.get("tool_use_id"),
                "raw": msg,
            }
        )

    def _on_assistant(self, msg: dict[str, Any]) -> None:
        message = msg.get("message") or {}
        for block in message.get("content") or []:
            btype = block.get("type")
            if btype == "text" and block.get("text"):
                self.ctx.emit({"kind": "agent_message", "text": block["text"], "raw": msg})
            elif btype == "tool_use":
                self.ctx.emit(
                    {
                        "kind": "tool_call",
                        "tool_use_id": str(block.get("id")),
                        "tool": str(block.get("name")),
                        "input": block.get("input") or {},
                        "raw": msg,
                    }
                )

    def _on_tool_results(self, msg: dict[str, Any]) -> None:
        content = (msg.get("message") or {}).get("content")
        if not isinstance(content, list):
            return
        for block in content:
            if block.get("type") != "tool_result":
                continue
            self.ctx.emit(
                {
                    "kind": "tool_result",
                    "tool_use_id": str(block.get("tool_use_id")),
                    "output": _text_of(block.get("content")),
                    "is_error": bool(block.get("is_error")),
                    "raw": msg,
                }
            )

    def _on_result(self, msg: dict[str, Any]) -> None:
        self.agent_session_id = msg.get("session_id") or self.agent_session_id
        if self._interrupting:
            status = "interrupted"
        elif msg.get("subtype") == "success" and not msg.get("is_error"):
            status = "success"
        else:
            status = "error"
        self._interrupting = False
        self._in_turn = False
        self._permissions.clear()
        event: dict[str, Any] = {"kind": "turn_finished", "status": status, "raw": msg}
        if isinstance(msg.get("result"), str):
            event["result"] = msg["result"]
        if isinstance(msg.get("usage"), dict):
            event["usage"] = msg["usage"]
        if isinstance(msg.get("total_cost_usd"), int | float):
            event["cost"] = float(msg["total_cost_usd"])
        self.ctx.emit(event)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else json.dumps(content)
