"""Gemini CLI headless: one `gemini -p "" --output-format stream-json --yolo` process per
turn, for teams with `skip_permissions` (nothing asks; every tool runs).

The prompt goes in on stdin (never on the command line, where `ps` would show it); the
next turn continues the conversation with `--resume <session id>`.
"""

from __future__ import annotations

import asyncio
import json
import logging

from tether.agents.base import AgentContext, WireObject
from tether.agents.process import program_argv
from tether.agents.usage import gemini_usage
from tether.errors import AgentError, TransportError
from tether.protocol.events import (
    AgentMessage,
    ErrorEvent,
    Event,
    Exited,
    Status,
    ToolCall,
    ToolResult,
    TurnFinished,
)
from tether.protocol.messages import ControlPermissionDecision
from tether.transports.base import AgentProcess

log = logging.getLogger("tether.agents.gemini")


class GeminiHeadlessAdapter:
    """Gemini turns as short-lived stream-json processes."""

    agent_name = "gemini"

    def __init__(self, ctx: AgentContext) -> None:
        self.ctx = ctx
        self.session_id: str | None = ctx.resume
        self._program: list[str] = []
        self._turn: AgentProcess | None = None
        self._turn_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._interrupting = False
        self._exited = asyncio.Event()

    def argv(self) -> list[str]:
        """One turn's argv (the prompt is written to stdin)."""
        args = [*self._program]
        if self.ctx.team.model:
            args += ["-m", self.ctx.team.model]
        args += ["-p", "", "--output-format", "stream-json", "--yolo"]
        if self.session_id:
            args += ["--resume", self.session_id]
        return args

    async def start(self) -> None:
        """Nothing runs between turns: check the binary and report idle."""
        self._program = program_argv(self.ctx, "gemini")
        self.ctx.emit(
            Status(
                state="idle",
                agent=self.agent_name,
                agent_session_id=self.session_id,
                model=self.ctx.team.model,
                permission_mode="yolo",
            )
        )

    async def send_user_message(self, text: str) -> None:
        """Run one turn in the background."""
        self._turn_task = asyncio.create_task(self._run_turn(text))

    async def _run_turn(self, text: str) -> None:
        async with self._lock:
            self._interrupting = False
            try:
                proc = await self.ctx.transport.spawn(
                    self.argv(), cwd=self.ctx.team.path, env=dict(self.ctx.team.env)
                )
            except (AgentError, TransportError) as exc:
                self.ctx.emit(ErrorEvent(code=exc.code, message=str(exc)))
                self.ctx.emit(TurnFinished(status="error", result=str(exc)))
                return
            self._turn = proc
            try:
                finished = await self._converse(proc, text)
            finally:
                self._turn = None
            self.ctx.emit(finished)

    async def _converse(self, proc: AgentProcess, text: str) -> TurnFinished:
        """Hand the process its prompt, pass its events on, and say how the turn ended."""
        stderr = asyncio.create_task(_tail(proc))
        finished: TurnFinished | None = None
        try:
            await proc.write(text.encode("utf-8"))
            await proc.close_stdin()
            async for raw in proc.lines("stdout"):
                finished = self._on_line(raw) or finished
        except TransportError as exc:
            log.info("gemini turn: %s", exc)
        code = await proc.wait()
        tail = await stderr
        if self._interrupting:
            return TurnFinished(status="interrupted")
        if finished is None:
            reason = f"gemini exited with code {code} before finishing the turn"
            return TurnFinished(status="error", result=reason, stderr=tail or None)
        return finished

    def _on_line(self, raw: bytes) -> TurnFinished | None:
        try:
            msg = json.loads(raw)
        except json.JSONDecodeError:
            return None
        if not isinstance(msg, dict):
            return None
        if msg.get("type") == "init":
            self.session_id = msg.get("session_id") or self.session_id
        events = headless_events(msg, self.session_id)
        for event in events:
            if isinstance(event, TurnFinished):
                return event
            self.ctx.emit(event)
        return None

    async def decide_permission(self, decision: ControlPermissionDecision) -> None:
        """Headless Gemini never asks."""
        raise AgentError("this gemini session runs with skip_permissions: nothing to answer")

    async def interrupt(self) -> None:
        """End the running turn's process."""
        if self._turn is not None:
            self._interrupting = True
            await self._turn.terminate(grace_s=3.0)

    async def stop(self) -> None:
        """End any running turn; the session is over."""
        await self.interrupt()
        if self._turn_task is not None:
            try:
                await self._turn_task
            except Exception:
                log.exception("a gemini turn failed while stopping")
        if not self._exited.is_set():
            self.ctx.emit(Exited(code=0, reason="stopped"))
            self._exited.set()

    async def wait_exited(self) -> None:
        """Until `stop` ended the session."""
        await self._exited.wait()


def headless_events(msg: WireObject, session_id: str | None) -> list[Event]:
    """The events of one headless stream-json message (pure; `result` → `turn_finished`)."""
    kind = msg.get("type")
    if kind == "init":
        return [Status(state="busy", agent_session_id=session_id, model=msg.get("model"), raw=msg)]
    if kind == "message" and msg.get("role") == "assistant" and msg.get("content"):
        return [AgentMessage(text=str(msg["content"]), raw=msg)]
    if kind == "tool_use":
        params = msg.get("parameters")
        call = ToolCall(
            tool_use_id=str(msg.get("tool_id")),
            tool=str(msg.get("tool_name")),
            input=params if isinstance(params, dict) else {},
            raw=msg,
        )
        return [call]
    if kind == "tool_result":
        result = ToolResult(
            tool_use_id=str(msg.get("tool_id")),
            output=str(msg.get("output") or ""),
            is_error=msg.get("status") != "success",
            raw=msg,
        )
        return [result]
    if kind == "result":
        ok = msg.get("status") == "success"
        usage = gemini_usage(msg.get("stats"))
        error = msg.get("error")
        finished = TurnFinished(
            status="success" if ok else "error",
            result=None
            if ok
            else str((error if isinstance(error, dict) else {}).get("message", "error")),
            usage=usage.as_payload() if usage is not None else None,
            raw=msg,
        )
        return [finished]
    return []


async def _tail(proc: AgentProcess) -> str:
    lines: list[str] = []
    async for raw in proc.lines("stderr"):
        lines = [*lines[-9:], raw.decode("utf-8", "replace")]
    return "\n".join(lines)
