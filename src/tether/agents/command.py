"""The `command` agent: any argv; its stdout/stderr lines become `output` events.

Two modes (team setting `mode`):

* `stdin` — the command starts with the session; each user message is written to its
  stdin as one line. A turn is over when the command has been quiet for
  `turn_quiet_s` seconds (a plain command has no other end-of-turn signal) or exits.
  `interrupt` sends SIGINT to the command's process group, as Ctrl+C in a terminal
  would, whether or not the quiet time has already closed the turn (a long job that
  went quiet is still running).
* `args` — each user message runs the command once with the message as its last
  argument; the turn ends when that run exits (status from its exit code); `interrupt`
  ends the run (TERM, then KILL).

Lines that arrive together are one `output` event, joined by newlines
(`tether.agents.lines`).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
from typing import Any, Literal

from tether.agents.base import AgentContext
from tether.agents.lines import LineBatcher
from tether.agents.process import exited_event
from tether.errors import AgentError, Conflict, TransportError
from tether.protocol.events import Exited, Output, Status, TurnFinished
from tether.protocol.messages import ControlPermissionDecision
from tether.tasks import keep_task
from tether.transports.base import AgentProcess, Stream


class CommandAdapter:
    """Runs a plain command for a session."""

    def __init__(self, ctx: AgentContext) -> None:
        self.ctx = ctx
        self.argv = list(ctx.team.command or [])
        self._proc: AgentProcess | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._exited = asyncio.Event()
        self._in_turn = False
        self._last_activity = 0.0
        """Loop time of the last line read or turn begun (for the quiet end of a turn)."""
        self._stopping = False
        self._lines = LineBatcher(self._emit_output)

    async def start(self) -> None:
        """stdin mode: start the command now; args mode: check it can be found."""
        if not self.argv:
            raise AgentError(
                f"team {self.ctx.team.name!r} uses agent 'command' but has no `command`",
                hint='add command = ["your-program", "--flag"] to the team',
            )
        if self.ctx.team.mode == "stdin":
            self._proc = await self._spawn(self.argv)
            self._spawn_task(self._watch_stdin_mode(self._proc))
        elif self.ctx.team.remote is None and shutil.which(self.argv[0]) is None:
            raise AgentError(f"agent binary {self.argv[0]!r} was not found on PATH")
        self.ctx.emit(Status(state="idle", agent="command"))

    async def send_user_message(self, text: str) -> None:
        """Write a line (stdin mode) or run the command with the text as last argument."""
        if self._in_turn and self.ctx.team.mode == "args":
            raise Conflict("the command is still running the previous turn; interrupt it first")
        self._in_turn = True
        if self.ctx.team.mode == "stdin":
            if self._proc is None or self._proc.returncode is not None:
                raise AgentError("the command has exited; start a new session")
            try:
                await self._proc.write(text.encode("utf-8") + b"\n")
            except TransportError as exc:
                raise AgentError(str(exc)) from None
            self._last_activity = asyncio.get_running_loop().time()
            self._spawn_task(self._finish_when_quiet())
        else:
            try:
                proc = await self._spawn([*self.argv, text])
            except Exception:
                self._in_turn = False  # nothing runs: the next turn must not be refused
                raise
            self._proc = proc
            self._spawn_task(self._watch_args_run(proc))

    async def decide_permission(self, decision: ControlPermissionDecision) -> None:
        """Plain commands never ask."""
        raise AgentError("a plain command has no permission requests to answer")

    async def interrupt(self) -> None:
        """args mode: stop the running command; stdin mode: SIGINT to the command's process
        group (even after the quiet time ended the turn), and the turn ends."""
        if self.ctx.team.mode == "args":
            if self._in_turn and self._proc is not None:
                self._interrupted = True
                await self._proc.terminate(grace_s=3.0)
            return
        if self._proc is not None and self._proc.returncode is None:
            await self._proc.send_signal(signal.SIGINT)
        self._end_turn("interrupted")

    async def stop(self) -> None:
        """End the command (if running) and the session."""
        self._stopping = True
        if self._proc is not None and self._proc.returncode is None:
            await self._proc.terminate(grace_s=5.0)
        if self.ctx.team.mode == "args":
            # Let a running turn's watcher report its turn_finished before the exit.
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=10)
            self.ctx.emit(Exited(code=0, reason="stopped"))
            self._exited.set()
        await self._exited.wait()

    async def wait_exited(self) -> None:
        """Until the session's command is over."""
        await self._exited.wait()

    # -- internals ---------------------------------------------------------------------------

    _interrupted = False

    async def _spawn(self, argv: list[str]) -> AgentProcess:
        proc = await self.ctx.transport.spawn(argv, cwd=self.ctx.team.path, env=self.ctx.team.env)
        return proc

    def _spawn_task(self, coro: Any) -> None:
        keep_task(self._tasks, coro)

    async def _pump(self, proc: AgentProcess, stream: Stream) -> None:
        loop = asyncio.get_running_loop()
        async for raw in proc.lines(stream):
            self._last_activity = loop.time()
            self._lines.add(stream, raw.decode("utf-8", "replace"))
        self._lines.flush()

    def _emit_output(self, stream: Stream, text: str) -> None:
        self.ctx.emit(Output(stream=stream, text=text))

    async def _pump_both(self, proc: AgentProcess) -> int:
        await asyncio.gather(self._pump(proc, "stdout"), self._pump(proc, "stderr"))
        return await proc.wait()

    def _end_turn(
        self, status: Literal["success", "error", "interrupted"], result: str | None = None
    ) -> None:
        if not self._in_turn:
            return
        self._in_turn = False
        self._lines.flush()  # what was printed belongs to the turn, before its end
        self.ctx.emit(TurnFinished(status=status, result=result))

    async def _finish_when_quiet(self) -> None:
        # Sleeps until the quiet time after the last line could be over, and checks: one
        # wake-up per quiet period, not one per line.
        quiet = self.ctx.team.turn_quiet_s
        loop = asyncio.get_running_loop()
        while self._in_turn:
            remaining = self._last_activity + quiet - loop.time()
            if remaining <= 0:
                self._end_turn("success")
                return
            await asyncio.sleep(remaining)

    async def _watch_stdin_mode(self, proc: AgentProcess) -> None:
        code = await self._pump_both(proc)
        self._end_turn("success" if code == 0 else "error", f"exit code {code}")
        self.ctx.emit(exited_event(code, stopping=self._stopping))
        self._exited.set()

    async def _watch_args_run(self, proc: AgentProcess) -> None:
        code = await self._pump_both(proc)
        if self._interrupted:
            self._interrupted = False
            self._end_turn("interrupted", f"exit code {code}")
        else:
            self._end_turn("success" if code == 0 else "error", f"exit code {code}")
        with contextlib.suppress(Exception):
            await proc.close_stdin()
