"""The Claude Code adapter: stream-json over stdio (also spoken by the built-in demo agent).

Spawn: `claude -p --input-format stream-json --output-format stream-json --verbose
--permission-prompt-tool stdio --session-id=<uuid>` (or `--resume=<id>`); stdin stays
open for the whole session because the CLI reads permission answers from it (closing
it fails any pending prompt). The wire facts this follows are in docs/claude.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
from collections import deque
from typing import Any

from tether.agents.base import AgentContext
from tether.agents.claude_launch import (
    STREAM_JSON_FLAGS,
    claude_argv,
    claude_env,
    new_agent_session_id,
    redact,
    secret_values,
)
from tether.agents.process import exited_event
from tether.errors import AgentError, TransportError
from tether.protocol.messages import ControlPermissionDecision
from tether.tasks import keep_task
from tether.transports.base import AgentProcess

__all__ = ["STREAM_JSON_FLAGS", "AgentStartError", "ClaudeAdapter"]

log = logging.getLogger("tether.agents.claude")

# What the CLI says when `--resume` names a session without a transcript.
_NO_HISTORY = "No conversation found"

# After closing stdin an idle CLI exits in ≈0.3 s; past this we send SIGTERM.
_GRACEFUL_EXIT_S = 3.0


class AgentStartError(AgentError):
    """The agent process ended (or never answered) before it was ready; `exit_code` says how."""

    def __init__(self, message: str, *, exit_code: int | None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.exit_code = exit_code


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
        self._turns = 0  # turns written and not yet finished (the CLI queues them)
        self._interrupting = False
        self._stopping = False
        self._started = False
        self._exited = asyncio.Event()
        self._exit_code: int | None = None
        self._stderr_tail: deque[str] = deque(maxlen=20)
        self._early_errors: list[str] = []
        self._secrets: list[str] = []
        self._init_seen = False
        self.permission_mode: str | None = None
        # Known from the start: we either resume an id or choose the new session's id.
        self.agent_session_id: str = ctx.resume or new_agent_session_id()
        self._resuming = ctx.resume is not None

    @property
    def pid(self) -> int | None:
        """The agent's local pid (of the ssh client for remote teams), once spawned."""
        return self._proc.pid if self._proc is not None else None

    # -- argv ----------------------------------------------------------------------------

    def argv(self) -> list[str]:
        """The full argv (a list; never a shell line)."""
        return claude_argv(
            self.ctx.team,
            self.default_command,
            agent_session_id=self.agent_session_id,
            resume=self._resuming,
        )

    def env(self) -> dict[str, str]:
        """Environment for the process: the team's `env` plus the SDK's entrypoint marker."""
        return claude_env(self.ctx.team)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Spawn, send `initialize`, and report the session idle with its agent session id."""
        try:
            init = await self._launch()
        except AgentStartError as exc:
            if not (self._resuming and self.ctx.resume_own and _NO_HISTORY in str(exc)):
                raise
            # This session's agent never got a turn, so it has no history to resume;
            # the CLI accepts the same id for a new session then.
            log.info("%s has no history to resume; starting it afresh", self.agent_session_id)
            self._resuming = False
            init = await self._launch()
        self._started = True
        if isinstance(init.get("current_permission_mode"), str):
            self.permission_mode = init["current_permission_mode"]
        event: dict[str, Any] = {
            "kind": "status",
            "state": "idle",
            "agent": self.agent_name,
            "agent_session_id": self.agent_session_id,
            "permission_mode": self.permission_mode,
        }
        if isinstance(init.get("claude_code_version"), str):
            event["detail"] = f"{self.agent_name} {init['claude_code_version']}"
        self.ctx.emit({k: v for k, v in event.items() if v is not None})

    async def _launch(self) -> dict[str, Any]:
        """Spawn the process and exchange `initialize`; return its answer."""
        team = self.ctx.team
        env = self.env()
        self._secrets = secret_values({**os.environ, **env})
        self._exited = asyncio.Event()
        self._exit_code = None
        self._early_errors.clear()
        self._stderr_tail.clear()
        self._proc = await self.ctx.transport.spawn(self.argv(), cwd=team.path, env=env)
        self._spawn_task(self._read_stdout())
        self._spawn_task(self._read_stderr())
        self._spawn_task(self._watch_exit())
        try:
            return await self._control(
                {"subtype": "initialize", "hooks": None}, team.session_init_timeout
            )
        except TimeoutError:
            await self.stop()
            raise AgentStartError(
                f"{self.agent_name} did not answer `initialize` within"
                f" {team.session_init_timeout:g} s",
                exit_code=self._exit_code,
                hint="check the agent's install and credentials; raise session_init_timeout",
            ) from None
        except AgentError:
            raise await self._start_failure() from None

    async def _start_failure(self) -> AgentStartError:
        """The process went away during start: wait for its exit and say why."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._exited.wait(), 10)
        if not self._exited.is_set():
            await self.stop()
        why = "; ".join(self._early_errors) or "\n".join(self._stderr_tail)
        code = self._exit_code if self._exit_code is None or self._exit_code >= 0 else None
        message = f"{self.agent_name} exited (code {code}) before it was ready"
        hint = None
        if self._resuming and _NO_HISTORY in why:
            hint = "the agent session id is unknown on this machine (check the id and the team)"
        elif "root/sudo" in why:
            hint = "set skip_permissions only where IS_SANDBOX=1 is acceptable (see docs/claude.md)"
        return AgentStartError(f"{message}: {why}" if why else message, exit_code=code, hint=hint)

    async def send_user_message(self, text: str) -> None:
        """Write one user turn (the CLI queues it if a turn is running)."""
        self._turns += 1
        try:
            await self._write(
                {
                    "type": "user",
                    "message": {"role": "user", "content": text},
                    "parent_tool_use_id": None,
                    "session_id": self.agent_session_id,
                }
            )
        except AgentError:
            self._turns -= 1
            raise

    async def decide_permission(self, decision: ControlPermissionDecision) -> None:
        """Answer a `can_use_tool` request: allow (with the possibly edited input) or deny."""
        request = self._permissions.pop(decision.request_id, None)
        if request is None:
            raise AgentError(
                f"permission request {decision.request_id!r} is no longer pending"
                " (the agent withdrew it, or its turn ended)"
            )
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
        """Ask the agent to stop the running turn (it stays alive for the next one)."""
        if self._turns == 0:
            return
        self._interrupting = True
        try:
            await self._control({"subtype": "interrupt"}, timeout=10)
        except (TimeoutError, AgentError) as exc:
            log.warning("%s did not confirm the interrupt: %s", self.agent_name, exc or "timeout")

    async def set_permission_mode(self, mode: str) -> None:
        """Change the permission mode of the running agent (raises AgentError if refused)."""
        try:
            answer = await self._control({"subtype": "set_permission_mode", "mode": mode}, 10)
        except TimeoutError:
            raise AgentError(f"{self.agent_name} did not answer set_permission_mode") from None
        self._mode_changed(str(answer.get("mode") or mode), None)

    async def stop(self) -> None:
        """End the process: EOF on stdin when idle (a clean exit), else or then TERM/KILL."""
        self._stopping = True
        proc = self._proc
        if proc is not None and proc.returncode is None:
            # Closing stdin lets an idle CLI exit cleanly; mid-turn it would finish the
            # whole turn first (and fail a pending prompt), so then we signal at once.
            if self._turns == 0 and not self._permissions:
                with contextlib.suppress(TransportError):
                    await proc.close_stdin()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._exited.wait(), _GRACEFUL_EXIT_S)
            if proc.returncode is None:
                await proc.terminate(grace_s=5.0)
        await self.wait_exited()

    async def wait_exited(self) -> None:
        """Until the process has ended and `exited` was emitted (if it had started)."""
        if self._proc is None:
            return
        await self._exited.wait()

    # -- plumbing ----------------------------------------------------------------------------

    def _spawn_task(self, coro: Any) -> None:
        keep_task(self._tasks, coro)

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
            text = redact(raw.decode("utf-8", "replace"), self._secrets)
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
                message = None
            if not isinstance(message, dict):
                snippet = redact(raw[:200].decode("utf-8", "replace"), self._secrets)
                self.ctx.emit(
                    {
                        "kind": "error",
                        "code": "agent_output",
                        "message": f"{self.agent_name} wrote a line that is not a JSON"
                        f" object (ignored): {snippet}",
                    }
                )
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
        proc, exited = self._proc, self._exited  # this launch's, should start() relaunch
        try:
            code = await proc.wait()
            self._exit_code = code
            # Let the readers drain what the process wrote before it ended.
            readers = [t for t in self._tasks if t is not asyncio.current_task()]
            if readers:
                await asyncio.wait(readers, timeout=5)
            for fut in self._controls.values():
                if not fut.done():
                    fut.set_exception(AgentError(f"{self.agent_name} exited (code {code})"))
            if self._started:
                self.ctx.emit(self._exited_event(code))
            # else: start() raises AgentStartError and the supervisor reports the exit.
        finally:
            exited.set()

    def _exited_event(self, code: int) -> dict[str, Any]:
        why = [*self._early_errors, *self._stderr_tail]
        failure = "\n".join(why) if why else self._exit_reason(code)
        return exited_event(code, stopping=self._stopping, failure=failure)

    def _exit_reason(self, code: int) -> str:
        if code < 0:
            return f"{self.agent_name} was killed by signal {-code}"
        if code == 143:
            return f"{self.agent_name} was terminated (SIGTERM)"
        return f"{self.agent_name} exited with code {code}"

    # -- mapping ------------------------------------------------------------------------------

    def _dispatch(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "control_response":
            self._on_control_response(msg)
        elif kind == "control_request":
            self._on_control_request(msg)
        elif kind == "control_cancel_request":
            self._on_cancel(msg)
        elif kind == "system" and msg.get("subtype") == "init":
            self._on_init(msg)
        elif kind == "system" and msg.get("subtype") == "status":
            if isinstance(msg.get("permissionMode"), str):
                self._mode_changed(msg["permissionMode"], msg)
        elif kind == "assistant":
            self._on_assistant(msg)
        elif kind == "user":
            self._on_tool_results(msg)
        elif kind == "result":
            self._on_result(msg)
        # Other message types (stream_event, …) carry nothing a viewer needs.

    def _state(self) -> str:
        if self._permissions:
            return "waiting_permission"
        return "busy" if self._turns else "idle"

    def _mode_changed(self, mode: str, raw: dict[str, Any] | None) -> None:
        if mode == self.permission_mode:
            return
        self.permission_mode = mode
        self.ctx.emit(
            {"kind": "status", "state": self._state(), "permission_mode": mode, "raw": raw}
        )

    def _on_control_response(self, msg: dict[str, Any]) -> None:
        response = msg.get("response") or {}
        fut = self._controls.get(str(response.get("request_id")))
        if fut is None or fut.done():
            return
        if response.get("subtype") == "error":
            fut.set_exception(AgentError(str(response.get("error", "control request failed"))))
        else:
            fut.set_result(response.get("response") or {})

    def _on_cancel(self, msg: dict[str, Any]) -> None:
        request_id = str(msg.get("request_id"))
        if self._permissions.pop(request_id, None) is not None:
            self.ctx.emit(
                {
                    "kind": "permission_decision",
                    "request_id": request_id,
                    "behavior": "cancelled",
                    "by": self.agent_name,
                    "raw": msg,
                }
            )

    def _on_init(self, msg: dict[str, Any]) -> None:
        # Sent at the start of every turn; the first one is kept whole, later ones only
        # restate the state (a queued turn starts right after the previous result).
        self.agent_session_id = msg.get("session_id") or self.agent_session_id
        if isinstance(msg.get("permissionMode"), str):
            self.permission_mode = msg["permissionMode"]
        self.ctx.emit(
            {
                "kind": "status",
                "state": "busy",
                "agent": self.agent_name,
                "agent_session_id": self.agent_session_id,
                "model": msg.get("model"),
                "permission_mode": self.permission_mode,
                "raw": None if self._init_seen else msg,
            }
        )
        self._init_seen = True

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
        event: dict[str, Any] = {
            "kind": "permission_request",
            "request_id": request_id,
            "tool": str(request.get("tool_name", "?")),
            "input": tool_input,
            "suggestions": request.get("permission_suggestions") or [],
            "tool_use_id": request.get("tool_use_id"),
            "raw": msg,
        }
        for name in ("description", "decision_reason", "blocked_path"):
            if isinstance(request.get(name), str):
                event[name] = request[name]
        self.ctx.emit(event)

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
        # Also carries `[Request interrupted by user]` markers and replayed slash-command
        # output; only tool results are events.
        content = (msg.get("message") or {}).get("content")
        if not isinstance(content, list):
            return
        for block in content:
            if not isinstance(block, dict) or block.get("type") != "tool_result":
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
        errors = [str(e) for e in msg.get("errors") or [] if not str(e).startswith("[ede_")]
        if self._turns == 0:
            # Not the end of a turn of ours: e.g. `--resume` of an unknown id answers
            # with one error result and exits before `initialize` is answered.
            if errors:
                self._early_errors.extend(errors)
                if self._started:
                    self.ctx.emit({"kind": "error", "code": "agent", "message": "; ".join(errors)})
            return
        self._turns -= 1
        # `is_error` is what to trust: an API error is `subtype: success, is_error: true`.
        failed = bool(msg.get("is_error"))
        aborted = str(msg.get("terminal_reason", "")).startswith("aborted")
        if self._interrupting and (failed or aborted):
            status = "interrupted"
        elif failed:
            status = "error"
        else:
            status = "success"
        self._interrupting = False
        self._permissions.clear()
        event: dict[str, Any] = {"kind": "turn_finished", "status": status, "raw": msg}
        if isinstance(msg.get("result"), str):
            event["result"] = msg["result"]
        elif errors and status == "error":
            event["result"] = "; ".join(errors)
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
