"""What every process-backed adapter shares: spawn through the transport, keep a tail of
stderr (secrets redacted), own background tasks, stop (EOF, then TERM, then KILL), and
emit exactly one `exited` when the process of a started session ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import deque
from collections.abc import Coroutine, Sequence
from typing import Any

from tether.agents.base import AgentContext
from tether.agents.detect import require_agent_binary
from tether.agents.redaction import redact, secret_values
from tether.errors import AgentError, TransportError
from tether.protocol.events import Exited, Status
from tether.tasks import keep_task
from tether.transports.base import AgentProcess

log = logging.getLogger("tether.agents")


class AgentStartError(AgentError):
    """The agent process ended (or never answered) before it was ready; `exit_code` says how."""

    def __init__(self, message: str, *, exit_code: int | None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.exit_code = exit_code


def program_argv(ctx: AgentContext, binary: str) -> list[str]:
    """The team's `command`, else `binary` — resolved to a full path when it runs locally
    (so a missing CLI is a clear error naming how to install it), left bare for remote
    transports (the remote PATH finds it)."""
    if ctx.team.command:
        return list(ctx.team.command)
    if ctx.transport.name == "local":
        return [require_agent_binary(binary, ctx.team.env.get("PATH"))]
    return [binary]


def exited_event(code: int, *, stopping: bool, failure: str | None = None) -> Exited:
    """The `exited` event of a process that ended with `code` (negative: killed by that
    signal). Its reason: "stopped" when tether stopped it, else `failure` (if given) when
    the code is not 0."""
    reason = None
    if stopping:
        reason = "stopped"
    elif code != 0 and failure is not None:
        reason = failure
    return Exited(
        code=code if code >= 0 else None, signal=-code if code < 0 else None, reason=reason
    )


def exit_description(agent_name: str, code: int) -> str:
    """A process's end in words, for when it said nothing on stderr."""
    if code < 0:
        return f"{agent_name} was killed by signal {-code}"
    if code == 143:
        return f"{agent_name} was terminated (SIGTERM)"
    return f"{agent_name} exited with code {code}"


class ProcessHost:
    """Owns one agent process (relaunched if a start needs a second try) and its tasks.

    A subclass spawns with `spawn_process`, adds its stdout reader with `add_reader`,
    and calls `ready(status)` once the agent can take a turn: only a started session
    reports `exited` (a failed start raises instead, and the supervisor reports it).
    """

    agent_name = "agent"
    #: After EOF on stdin, how long an idle agent gets to exit by itself before TERM.
    graceful_exit_s = 0.0

    def __init__(self, ctx: AgentContext) -> None:
        self.ctx = ctx
        self.proc: AgentProcess | None = None
        self.stopping = False
        self.started = False
        self.exited = asyncio.Event()
        self.stderr_tail: deque[str] = deque(maxlen=20)
        self.secrets: list[str] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._readers: set[asyncio.Task[Any]] = set()
        self._unreported_exit: Exited | None = None

    @property
    def pid(self) -> int | None:
        """The agent's local pid (of the ssh client for remote teams), once spawned."""
        return self.proc.pid if self.proc is not None else None

    async def spawn_process(self, argv: Sequence[str], env: dict[str, str]) -> AgentProcess:
        """Spawn `argv` in the team's path and watch its stderr and its exit."""
        self.secrets = secret_values({**os.environ, **env})
        self.stderr_tail.clear()
        self.exited = asyncio.Event()
        self._readers = set()
        self._unreported_exit = None
        self.proc = await self.ctx.transport.spawn(argv, cwd=self.ctx.team.path, env=env)
        self.add_reader(self.spawn_task(self._read_stderr(self.proc)))
        self.spawn_task(self._watch_exit(self.proc, self.exited, self._readers))
        return self.proc

    def spawn_task(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coro` in the background, owned by this adapter."""
        task = keep_task(self._tasks, coro)
        task.add_done_callback(_log_failure)
        return task

    def add_reader(self, task: asyncio.Task[Any]) -> None:
        """A task that reads the process's output: drained before `exited` is emitted."""
        self._readers.add(task)

    def ready(self, status: Status) -> None:
        """The start is over: report `status`; from now on the process's end is reported
        (at once, if it ended while the start was finishing)."""
        self.ctx.emit(status)
        self.started = True
        if self._unreported_exit is not None:
            self.ctx.emit(self._unreported_exit)
            self._unreported_exit = None

    def eof_ends_gracefully(self) -> bool:
        """Hook: whether EOF on stdin lets the agent end cleanly now (it is idle)."""
        return True

    async def stop(self) -> None:
        """End the process: EOF on stdin (and a moment to exit), then TERM, then KILL."""
        self.stopping = True
        proc = self.proc
        if proc is not None and proc.returncode is None:
            if self.eof_ends_gracefully():
                with contextlib.suppress(TransportError):
                    await proc.close_stdin()
                if self.graceful_exit_s:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.exited.wait(), self.graceful_exit_s)
            if proc.returncode is None:
                await proc.terminate(grace_s=5.0)
        await self.wait_exited()

    async def wait_exited(self) -> None:
        """Until the process has ended and its end was handled."""
        if self.proc is None:
            return
        await self.exited.wait()

    def on_process_exit(self, code: int) -> None:
        """Hook: the process ended (before `exited` is emitted)."""

    def exit_reason(self, code: int) -> str:
        """Hook: why the process ended, when tether did not stop it (stderr's last lines)."""
        if self.stderr_tail:
            return "\n".join(self.stderr_tail)
        return exit_description(self.agent_name, code)

    async def _read_stderr(self, proc: AgentProcess) -> None:
        async for raw in proc.lines("stderr"):
            text = redact(raw.decode("utf-8", "replace"), self.secrets)
            self.stderr_tail.append(text)
            log.debug("%s stderr: %s", self.agent_name, text)

    async def _watch_exit(
        self, proc: AgentProcess, exited: asyncio.Event, readers: set[asyncio.Task[Any]]
    ) -> None:
        # `proc`, `exited` and `readers` are this launch's, should a start relaunch.
        try:
            code = await proc.wait()
            pending = [t for t in readers if not t.done()]
            if pending:  # let the readers drain what the process wrote before it ended
                await asyncio.wait(pending, timeout=5)
            self.on_process_exit(code)
            event = exited_event(code, stopping=self.stopping, failure=self.exit_reason(code))
            if self.started:
                self.ctx.emit(event)
            elif exited is self.exited:  # not a launch a start already gave up on
                self._unreported_exit = event
        finally:
            exited.set()


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("an agent task failed", exc_info=task.exception())
