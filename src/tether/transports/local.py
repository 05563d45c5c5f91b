"""The `local` transport: a subprocess on this machine, in its own process group."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from tether.errors import AgentError, TransportError
from tether.transports.base import Stream
from tether.transports.subprocesses import (
    close_pipe,
    keep_until_ended,
    read_lines,
    signal_group,
    start_piped,
)


class LocalProcess:
    """An asyncio subprocess with line reading and TERM-then-KILL termination."""

    def __init__(self, proc: asyncio.subprocess.Process, argv: Sequence[str]) -> None:
        self._proc = proc
        self.argv = list(argv)

    @property
    def pid(self) -> int | None:
        """The child's pid."""
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """Its exit code once ended."""
        return self._proc.returncode

    async def write(self, data: bytes) -> None:
        """Write to stdin and drain."""
        stdin = self._proc.stdin
        if stdin is None or stdin.is_closing():
            raise TransportError("the agent's stdin is closed (has the process ended?)")
        try:
            stdin.write(data)
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            raise TransportError(
                "the agent process closed its stdin (it has probably exited)"
            ) from None

    async def close_stdin(self) -> None:
        """Send EOF."""
        await close_pipe(self._proc.stdin)

    async def lines(self, stream: Stream) -> AsyncIterator[bytes]:
        """Yield lines (without the newline) until EOF."""
        reader = self._proc.stdout if stream == "stdout" else self._proc.stderr
        if reader is None:
            return
        async for line in read_lines(reader):
            yield line

    async def wait(self) -> int:
        """Wait for the end."""
        return await self._proc.wait()

    async def send_signal(self, sig: int) -> None:
        """Signal the process group (it leads one)."""
        if self._proc.returncode is None:
            signal_group(self._proc, signal.Signals(sig))

    async def terminate(self, grace_s: float = 5.0) -> int:
        """TERM the process group, KILL it after `grace_s`."""
        if self._proc.returncode is not None:
            return self._proc.returncode
        signal_group(self._proc, signal.SIGTERM)
        try:
            return await asyncio.wait_for(self._proc.wait(), grace_s)
        except TimeoutError:
            signal_group(self._proc, signal.SIGKILL)
            return await self._proc.wait()


class LocalTransport:
    """Runs agents as children of the runner."""

    name = "local"

    def __init__(self) -> None:
        self._live: set[LocalProcess] = set()
        self._spawned = 0
        self._failed = 0

    async def spawn(self, argv: Sequence[str], *, cwd: str, env: Mapping[str, str]) -> LocalProcess:
        """Start argv (never through a shell)."""
        if not argv:
            raise AgentError("no command to run")
        program = argv[0]
        if os.sep not in program and shutil.which(program, path=env.get("PATH")) is None:
            self._failed += 1
            raise AgentError(
                f"agent binary {program!r} was not found on PATH",
                hint=f'install it, or set `command = ["/full/path/to/{program}"]` for the team',
            )
        if not os.path.isdir(cwd):  # noqa: ASYNC240 (a stat, before we spawn)
            self._failed += 1
            raise AgentError(
                f"the team path {cwd!r} does not exist", hint="fix `path` in the team config"
            )
        try:
            proc = await start_piped(argv, cwd=cwd, env={**os.environ, **env})
        except OSError as exc:
            self._failed += 1
            raise AgentError(f"could not start {program!r}: {exc.strerror or exc}") from None
        self._spawned += 1
        process = LocalProcess(proc, argv)
        keep_until_ended(self._live, process)
        return process

    def is_ready(self) -> bool:
        """Always ready."""
        return True

    def is_busy(self) -> bool:
        """Any child still running."""
        return bool(self._live)

    def metrics(self) -> dict[str, Any]:
        """Spawn counters."""
        return {"spawned": self._spawned, "failed": self._failed, "live": len(self._live)}
