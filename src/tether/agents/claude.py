"""The Claude Code adapter: stream-json over stdio (also spoken by the built-in demo agent).

Spawn: `claude -p --input-format stream-json --output-format stream-json --verbose
--permission-prompt-tool stdio --session-id=<uuid>` (or `--resume=<id>`); stdin stays
open for the whole session because the CLI reads permission answers from it (closing
it fails any pending prompt). The process is a `ProcessHost`'s; what its messages mean is
`ClaudeStream`'s (claude_stream.py); this module is the I/O between them and the control
channel. The wire facts this follows are in docs/claude.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging

from tether.agents.base import AgentContext, WireObject
from tether.agents.claude_launch import claude_argv, claude_env, new_agent_session_id
from tether.agents.claude_stream import ClaudeStream
from tether.agents.process import AgentStartError, ProcessHost, exit_description
from tether.agents.redaction import redact
from tether.errors import AgentError, TransportError
from tether.protocol.events import ErrorEvent
from tether.protocol.messages import ControlPermissionDecision
from tether.transports.base import AgentProcess

__all__ = ["AgentStartError", "ClaudeAdapter"]

log = logging.getLogger("tether.agents.claude")

# What the CLI says when `--resume` names a session without a transcript.
_NO_HISTORY = "No conversation found"


class ClaudeAdapter(ProcessHost):
    """Drives one Claude Code (stream-json) process."""

    agent_name = "claude"
    default_command: tuple[str, ...] = ("claude",)
    # After EOF on stdin an idle CLI exits in ≈0.3 s; past this we send SIGTERM.
    graceful_exit_s = 3.0

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__(ctx)
        self._controls: dict[str, asyncio.Future[WireObject]] = {}
        self._request_ids = itertools.count(1)
        self._resuming = ctx.resume is not None
        # Known from the start: we either resume an id or choose the new session's id.
        self.stream = ClaudeStream(self.agent_name, ctx.resume or new_agent_session_id())

    @property
    def agent_session_id(self) -> str:
        """The CLI's own id of this conversation (what `--resume` takes)."""
        return self.stream.agent_session_id

    @property
    def permission_mode(self) -> str | None:
        """The permission mode in force, as the CLI last reported it."""
        return self.stream.permission_mode

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
        self.stream.started = True
        self.ready(self.stream.ready_status(init))

    async def _launch(self) -> WireObject:
        """Spawn the process and exchange `initialize`; return its answer."""
        timeout = self.ctx.team.session_init_timeout
        self.stream.early_errors.clear()
        proc = await self.spawn_process(self.argv(), self.env())
        self.add_reader(self.spawn_task(self._read_stdout(proc)))
        try:
            return await self._control({"subtype": "initialize", "hooks": None}, timeout)
        except TimeoutError:
            await self.stop()
            raise AgentStartError(
                f"{self.agent_name} did not answer `initialize` within {timeout:g} s",
                exit_code=_exit_code(proc),
                hint="check the agent's install and credentials; raise session_init_timeout",
            ) from None
        except AgentError:
            raise await self._start_failure(proc) from None

    async def _start_failure(self, proc: AgentProcess) -> AgentStartError:
        """The process went away during start: wait for its exit and say why."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.exited.wait(), 10)
        if not self.exited.is_set():
            await self.stop()
        why = "; ".join(self.stream.early_errors) or "\n".join(self.stderr_tail)
        code = _exit_code(proc)
        message = f"{self.agent_name} exited (code {code}) before it was ready"
        hint = None
        if self._resuming and _NO_HISTORY in why:
            hint = "the agent session id is unknown on this machine (check the id and the team)"
        elif "root/sudo" in why:
            hint = "set skip_permissions only where IS_SANDBOX=1 is acceptable (see docs/claude.md)"
        return AgentStartError(f"{message}: {why}" if why else message, exit_code=code, hint=hint)

    async def send_user_message(self, text: str) -> None:
        """Write one user turn (the CLI queues it if a turn is running)."""
        self.stream.turns += 1
        turn = {
            "type": "user",
            "message": {"role": "user", "content": text},
            "parent_tool_use_id": None,
            "session_id": self.agent_session_id,
        }
        try:
            await self._write(turn)
        except AgentError:
            self.stream.turns -= 1
            raise

    async def decide_permission(self, decision: ControlPermissionDecision) -> None:
        """Answer a `can_use_tool` request: allow (with the possibly edited input) or deny."""
        proposed = self.stream.take_permission(decision.request_id)
        if proposed is None:
            raise AgentError(
                f"permission request {decision.request_id!r} is no longer pending"
                " (the agent withdrew it, or its turn ended)"
            )
        answer: WireObject
        if decision.behavior == "allow":
            answer = {"behavior": "allow", "updatedInput": decision.updated_input or proposed}
        else:
            answer = {
                "behavior": "deny",
                "message": decision.message or "Denied by the session owner",
            }
        await self._respond(decision.request_id, {"subtype": "success", "response": answer})

    async def interrupt(self) -> None:
        """Ask the agent to stop the running turn (it stays alive for the next one)."""
        if self.stream.turns == 0:
            return
        self.stream.interrupting = True
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
        for event in self.stream.mode_changed(str(answer.get("mode") or mode)):
            self.ctx.emit(event)

    # -- ProcessHost hooks -------------------------------------------------------------------

    def eof_ends_gracefully(self) -> bool:
        """Closing stdin lets an idle CLI exit cleanly; mid-turn it would finish the whole
        turn first (and fail a pending prompt), so then tether signals at once."""
        return self.stream.turns == 0 and not self.stream.permissions

    def on_process_exit(self, code: int) -> None:
        """Whatever waits for an answer from the CLI gets none."""
        for fut in self._controls.values():
            if not fut.done():
                fut.set_exception(AgentError(f"{self.agent_name} exited (code {code})"))

    def exit_reason(self, code: int) -> str:
        """The errors the CLI reported, else its stderr, else the exit in words."""
        why = [*self.stream.early_errors, *self.stderr_tail]
        return "\n".join(why) if why else exit_description(self.agent_name, code)

    # -- the wire ----------------------------------------------------------------------------

    async def _write(self, message: WireObject) -> None:
        if self.proc is None:
            raise AgentError(f"{self.agent_name} is not running")
        line = json.dumps(message, ensure_ascii=False) + "\n"
        try:
            await self.proc.write(line.encode("utf-8"))
        except TransportError as exc:
            raise AgentError(f"{self.agent_name} is not accepting input: {exc}") from None

    async def _respond(self, request_id: str, response: WireObject) -> None:
        await self._write(
            {"type": "control_response", "response": {**response, "request_id": request_id}}
        )

    async def _control(self, request: WireObject, timeout: float) -> WireObject:
        request_id = f"tether_{next(self._request_ids)}"
        fut: asyncio.Future[WireObject] = asyncio.get_running_loop().create_future()
        self._controls[request_id] = fut
        try:
            await self._write(
                {"type": "control_request", "request_id": request_id, "request": request}
            )
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._controls.pop(request_id, None)

    async def _read_stdout(self, proc: AgentProcess) -> None:
        async for raw in proc.lines("stdout"):
            if not raw.strip():
                continue
            message = _json_object(raw)
            if message is None:
                snippet = redact(raw[:200].decode("utf-8", "replace"), self.secrets)
                self.ctx.emit(
                    ErrorEvent(
                        code="agent_output",
                        message=f"{self.agent_name} wrote a line that is not a JSON"
                        f" object (ignored): {snippet}",
                    )
                )
                continue
            try:
                self._on_message(message)
            except Exception:  # one odd message must not kill the session's reader
                log.exception("could not map a %s message", self.agent_name)
                self.ctx.emit(
                    ErrorEvent(
                        code="agent_output",
                        message=f"could not understand a {message.get('type')!r} message",
                        raw=message,
                    )
                )

    def _on_message(self, message: WireObject) -> None:
        kind = message.get("type")
        if kind == "control_response":
            self._on_control_response(message)
            return
        request = message.get("request")
        subtype = request.get("subtype") if isinstance(request, dict) else None
        if kind == "control_request" and subtype != "can_use_tool":
            # Answer what tether does not serve, so the agent is never left waiting.
            refusal = {"subtype": "error", "error": f"tether does not support {subtype!r}"}
            self.spawn_task(self._respond(str(message.get("request_id")), refusal))
            return
        for event in self.stream.feed(message):
            self.ctx.emit(event)

    def _on_control_response(self, msg: WireObject) -> None:
        response = msg.get("response") or {}
        fut = self._controls.get(str(response.get("request_id")))
        if fut is None or fut.done():
            return
        if response.get("subtype") == "error":
            fut.set_exception(AgentError(str(response.get("error", "control request failed"))))
        else:
            fut.set_result(response.get("response") or {})


def _json_object(raw: bytes) -> WireObject | None:
    try:
        message = json.loads(raw)
    except json.JSONDecodeError:
        return None
    return message if isinstance(message, dict) else None


def _exit_code(proc: AgentProcess) -> int | None:
    """The exit code for an `AgentStartError` (None: still running, or killed by a signal)."""
    code = proc.returncode
    return code if code is None or code >= 0 else None
