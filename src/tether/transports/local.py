"""The `local` transport: a subprocess on this machine, in its own process group."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import AsyncIterator, Mapping, Sequence

from tether.errors import AgentError, TransportError
from tether.transports.base import Stream
from tether.transports.failures import CommandNotFound, PathNotFound
from tether.transports.subprocesses import close_pipe, read_lines, signal_group, start_piped


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


def missing_program(program: str, env: Mapping[str, str]) -> CommandNotFound | None:
    """Why `program` cannot start here (spawn and the team probe say the same), or None."""
    program = os.path.expanduser(program) if program.startswith("~/") else program
    if os.sep in program:
        if os.access(program, os.X_OK) and not os.path.isdir(program):
            return None
    elif shutil.which(program, path=env.get("PATH")) is not None:
        return None
    return CommandNotFound(
        f"agent binary {program!r} was not found on PATH"
        if os.sep not in program
        else f"could not start {program!r}: no such executable file",
        hint=f'install it, or set `command = ["/full/path/to/{os.path.basename(program)}"]`'
        " for the team",
    )


def missing_path(cwd: str) -> PathNotFound | None:
    """Why the team path `cwd` cannot be used here, or None."""
    if os.path.isdir(os.path.expanduser(cwd)):
        return None
    return PathNotFound(
        f"the team path {cwd!r} does not exist", hint="fix `path` in the team config"
    )


class LocalTransport:
    """Runs agents as children of the runner (a leading `~/` in `cwd` is this user's home)."""

    name = "local"

    async def spawn(self, argv: Sequence[str], *, cwd: str, env: Mapping[str, str]) -> LocalProcess:
        """Start argv (never through a shell)."""
        if not argv:
            raise AgentError("no command to run")
        if argv[0].startswith("~/"):  # as on remote hosts: this user's home
            argv = [os.path.expanduser(argv[0]), *argv[1:]]  # noqa: ASYNC240 (no I/O)
        # A stat and a PATH search: quick enough to do on the loop right before a spawn.
        problem = missing_program(argv[0], env) or missing_path(cwd)
        if problem is not None:
            raise problem
        workdir = os.path.expanduser(cwd)  # noqa: ASYNC240 (no I/O: a string operation)
        try:
            proc = await start_piped(argv, cwd=workdir, env={**os.environ, **env})
        except OSError as exc:
            raise CommandNotFound(
                f"could not start {argv[0]!r}: {exc.strerror or exc}",
                hint="check the program and the team's `command`",
            ) from None
        return LocalProcess(proc, argv)
