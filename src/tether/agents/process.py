"""What every process-backed adapter shares: spawn through the transport, keep a tail of
stderr, own background tasks, and emit exactly one `exited` when the process ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Coroutine, Sequence
from typing import Any

from tether.agents.base import AgentContext
from tether.agents.detect import require_agent_binary
from tether.errors import TransportError
from tether.tasks import keep_task
from tether.transports.base import AgentProcess

log = logging.getLogger("tether.agents")


def program_argv(ctx: AgentContext, binary: str) -> list[str]:
    """The team's `command`, else `binary` — resolved to a full path when it runs locally
    (so a missing CLI is a clear error naming how to install it), left bare for remote
    transports (the remote PATH finds it)."""
    if ctx.team.command:
        return list(ctx.team.command)
    if ctx.transport.name == "local":
        return [require_agent_binary(binary, ctx.team.env.get("PATH"))]
    return [binary]


def exited_event(code: int, *, stopping: bool, failure: str | None = None) -> dict[str, Any]:
    """The `exited` event of a process that ended with `code` (negative: killed by that
    signal). Its reason: "stopped" when tether stopped it, else `failure` (if given) when
    the code is not 0."""
    event: dict[str, Any] = {"kind": "exited", "code": code if code >= 0 else None}
    if code < 0:
        event["signal"] = -code
    if stopping:
        event["reason"] = "stopped"
    elif code != 0 and failure is not None:
        event["reason"] = failure
    return event


class ProcessHost:
    """Owns one agent process and the tasks around it."""

    agent_name = "agent"

    def __init__(self, ctx: AgentContext) -> None:
        self.ctx = ctx
        self.proc: AgentProcess | None = None
        self.stopping = False
        self.exited = asyncio.Event()
        self.stderr_tail: deque[str] = deque(maxlen=20)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._readers: set[asyncio.Task[Any]] = set()

    async def spawn_process(self, argv: Sequence[str], env: dict[str, str]) -> AgentProcess:
        """Spawn `argv` in the team's path and watch stderr and the exit."""
        self.proc = await self.ctx.transport.spawn(argv, cwd=self.ctx.team.path, env=env)
        self._readers.add(self.spawn_task(self._read_stderr()))
        self.spawn_task(self._watch_exit())
        return self.proc

    def spawn_task(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coro` in the background, owned by this adapter."""
        task = keep_task(self._tasks, coro)
        task.add_done_callback(_log_failure)
        return task

    def add_reader(self, task: asyncio.Task[Any]) -> None:
        """A task that reads the process's output: drained before `exited` is emitted."""
        self._readers.add(task)

    async def stop(self) -> None:
        """End the process: EOF on stdin, then TERM, then KILL."""
        self.stopping = True
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(TransportError):
                await self.proc.close_stdin()
            await self.proc.terminate(grace_s=5.0)
        await self.wait_exited()

    async def wait_exited(self) -> None:
        """Until the process has ended and `exited` was emitted."""
        if self.proc is None:
            return
        await self.exited.wait()

    def on_process_exit(self, code: int) -> None:
        """Hook: the process ended (before `exited` is emitted)."""

    async def _read_stderr(self) -> None:
        assert self.proc is not None
        async for raw in self.proc.lines("stderr"):
            text = raw.decode("utf-8", "replace")
            self.stderr_tail.append(text)
            log.debug("%s stderr: %s", self.agent_name, text)

    async def _watch_exit(self) -> None:
        assert self.proc is not None
        code = await self.proc.wait()
        readers = [t for t in self._readers if not t.done()]
        if readers:  # let the readers drain what the process wrote before it ended
            await asyncio.wait(readers, timeout=5)
        self.on_process_exit(code)
        failure = "\n".join(self.stderr_tail) if self.stderr_tail else None
        self.ctx.emit(exited_event(code, stopping=self.stopping, failure=failure))
        self.exited.set()


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("an agent task failed", exc_info=task.exception())
