"""An agent started on the far side of a carrier (`ssh HOST`, `docker exec -i C`, `wsl`).

Both remote transports run the same small POSIX `sh` wrapper there:

    sh -c WRAPPER tether-wrap PATH ARGV...      (every word quoted with shlex for ssh)

It reads the team's environment from its stdin (`NAME=value` lines up to an empty
line) so no secret shows in `ps` on either machine, changes into PATH (a leading `~/`
means the remote home), checks that the program exists, prints one marker line with
its pid on stderr and then `exec`s the agent, which keeps the pid. The path and argv
arrive as positional parameters, never parsed as shell code: a path with a space or
`;` stays a path.

Why the marker: until it arrives, a failure is the carrier's (no route, bad key, no
such container) and can be classified and retried; after it, the agent runs. The pid
lets `terminate` signal the remote process group: without a pty, closing the
connection does not end a remote process that neither reads stdin nor writes stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence

from tether.errors import AgentError, TransportError
from tether.transports.base import Stream
from tether.transports.failures import remote_command_missing, remote_path_missing
from tether.transports.subprocesses import close_pipe, read_lines, signal_group

MARKER = b"\x1etether-ready "
TEAM_DIR = r"""tether_dir=$1; shift
case $tether_dir in
  "~") tether_dir=$HOME;;
  "~/"*) tether_dir=$HOME/${tether_dir#"~/"};;
esac
"""
"""Sets `tether_dir` to the first positional parameter, the team path (a leading `~` is
the far side's home), and shifts it off: every wrapper starts the same way."""
WRAPPER = (
    r"""while IFS= read -r tether_kv; do
  [ -z "$tether_kv" ] && break
  export "$tether_kv"
done
unset tether_kv
"""
    + TEAM_DIR
    + r"""cd "$tether_dir" 2>/dev/null || {
  printf 'tether-wrap: no such directory: %s\n' "$tether_dir" >&2; exit 96; }
unset tether_dir
tether_prog=$1; shift
case $tether_prog in "~/"*) tether_prog=$HOME/${tether_prog#"~/"};; esac
set -- "$tether_prog" "$@"
unset tether_prog
command -v "$1" >/dev/null 2>&1 || {
  printf 'tether-wrap: command not found: %s\n' "$1" >&2; exit 127; }
printf '\036tether-ready %s\n' "$$" >&2
exec "$@"
"""
)

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Runs a command on the far side (e.g. `kill -TERM -- -PID`); returns the exit code.
RemoteRunner = Callable[[Sequence[str]], Awaitable[int]]
# Explains an unexpected end of the carrier (a dropped connection), or None.
ExitExplainer = Callable[[int, Sequence[str]], Awaitable[str | None]]


def wrapper_argv(cwd: str, argv: Sequence[str]) -> list[str]:
    """The argv that runs `argv` in `cwd` through the wrapper (for ssh: shlex.join it)."""
    return ["sh", "-c", WRAPPER, "tether-wrap", cwd, *argv]


def env_block(env: Mapping[str, str]) -> bytes:
    """The environment as the wrapper reads it from stdin; refuses what it cannot carry."""
    lines = []
    for name, value in env.items():
        if not _ENV_NAME.match(name):
            raise AgentError(
                f"env name {name!r} is not a valid variable name",
                hint="use letters, digits and _ in the team's `env` keys",
            )
        if "\n" in value or "\0" in value:
            raise AgentError(
                f"env {name} contains a newline, which a remote team cannot carry",
                hint="put the value in a file on the host instead",
            )
        lines.append(f"{name}={value}\n")
    return ("".join(lines) + "\n").encode("utf-8")


class RemoteProcess:
    """An agent process behind a carrier process (ssh, docker exec …) on this machine."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        *,
        where: str,
        run_remote: RemoteRunner,
        explain_exit: ExitExplainer | None = None,
    ) -> None:
        self._proc = proc
        self.where = where
        self.remote_pid: int | None = None
        self._run_remote = run_remote
        self._explain_exit = explain_exit
        self._early_stderr: list[bytes] = []
        self._stderr_tail: deque[str] = deque(maxlen=20)
        self._signalled: int | None = None

    # -- start -------------------------------------------------------------------------------

    async def handshake(self, env: Mapping[str, str], timeout: float) -> None:
        """Send the env block, wait for the wrapper's marker.

        Returns with `remote_pid` unset if the carrier ended first (its stderr is in
        `early_stderr`); raises TimeoutError if nothing comes in time.
        """
        block = env_block(env)
        with contextlib.suppress(TransportError):
            # If the carrier already died, its stderr (read below) says why.
            await self.write(block)
        reader = self._proc.stderr
        assert reader is not None
        async with asyncio.timeout(timeout):
            while True:
                line = await reader.readline()
                if not line:
                    await self._proc.wait()
                    return
                if line.startswith(MARKER):
                    self.remote_pid = int(line[len(MARKER) :].strip() or b"0") or None
                    return
                self._early_stderr.append(line.rstrip(b"\r\n"))

    @property
    def early_stderr(self) -> str:
        """What the carrier/wrapper said before the marker (for classifying a failure)."""
        return "\n".join(b.decode("utf-8", "replace") for b in self._early_stderr)

    def wrapper_failure(self) -> TransportError | None:
        """The wrapper's own refusal (no such path / program), if that is why it ended."""
        text = self.early_stderr
        for line in text.splitlines():
            if line.startswith("tether-wrap: no such directory: "):
                return remote_path_missing(line.split(": ", 2)[2], self.where)
            if line.startswith("tether-wrap: command not found: "):
                return remote_command_missing(line.split(": ", 2)[2], self.where)
        return None

    # -- AgentProcess ------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """Pid of the local carrier process."""
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """Exit code; a remote agent that tether signalled reports `-signal`."""
        code = self._proc.returncode
        if code is None:
            return None
        return self._translate(code)

    def _translate(self, code: int) -> int:
        # ssh exits 255 with no message when the remote command died of a signal.
        if self._signalled is not None and code in (255, 128 + self._signalled):
            return -self._signalled
        return code

    async def write(self, data: bytes) -> None:
        """Write to the agent's stdin (through the carrier)."""
        stdin = self._proc.stdin
        if stdin is None or stdin.is_closing():
            raise TransportError(f"the agent's stdin on {self.where} is closed (has it ended?)")
        try:
            stdin.write(data)
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            raise TransportError(f"the connection to the agent on {self.where} is gone") from None

    async def close_stdin(self) -> None:
        """EOF to the agent."""
        await close_pipe(self._proc.stdin)

    async def lines(self, stream: Stream) -> AsyncIterator[bytes]:
        """Lines of the agent's stdout/stderr; stderr ends with a note if the carrier dropped."""
        if stream == "stderr":
            for line in self._early_stderr:
                self._stderr_tail.append(line.decode("utf-8", "replace"))
                yield line
        reader = self._proc.stdout if stream == "stdout" else self._proc.stderr
        if reader is None:
            return
        async for line in read_lines(reader):
            if stream == "stderr":
                self._stderr_tail.append(line.decode("utf-8", "replace"))
            yield line
        if stream == "stderr" and self._explain_exit is not None:
            code = await self._proc.wait()
            if self._signalled is None:
                note = await self._explain_exit(code, list(self._stderr_tail))
                if note:
                    yield note.encode("utf-8")

    async def wait(self) -> int:
        """Wait for the end (of the carrier, which ends with the agent)."""
        return self._translate(await self._proc.wait())

    async def send_signal(self, sig: int) -> None:
        """Signal the remote process group (the carrier's own group if its pid is unknown)."""
        if self._proc.returncode is not None:
            return
        if not self.remote_pid:
            signal_group(self._proc, signal.Signals(sig))
            return
        script = _kill_group(signal.Signals(sig), self.remote_pid)
        with contextlib.suppress(TransportError, OSError, TimeoutError):
            await asyncio.wait_for(self._run_remote(["sh", "-c", script]), 10)

    async def terminate(self, grace_s: float = 5.0) -> int:
        """TERM the remote process group, KILL it after `grace_s`; then end the carrier."""
        if self._proc.returncode is not None:
            return self._translate(self._proc.returncode)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            self._signalled = sig
            if self.remote_pid:
                script = _kill_group(sig, self.remote_pid)
                with contextlib.suppress(TransportError, OSError, TimeoutError):
                    await asyncio.wait_for(self._run_remote(["sh", "-c", script]), grace_s)
            if sig == signal.SIGKILL or not self.remote_pid:
                signal_group(self._proc, sig)
            try:
                return await asyncio.wait_for(self.wait(), grace_s)
            except TimeoutError:
                continue
        signal_group(self._proc, signal.SIGKILL)
        return await self.wait()


def _kill_group(sig: signal.Signals, pid: int) -> str:
    """A remote `sh` line sending `sig` to the process group `pid` leads (sshd/docker start
    the wrapper in a new session), or to `pid` alone if it leads none. No `--` before the
    negative pid: dash, Debian's `sh`, refuses it ("Illegal number")."""
    name = sig.name[3:]
    return f"kill -{name} -{pid} 2>/dev/null || kill -{name} {pid}"
