"""A program in a pseudo-terminal, driven from asyncio.

The child gets the PTY's slave side as stdin, stdout and stderr, in a new session whose
controlling terminal it is (so job control, Ctrl+C and SIGWINCH work as in any terminal).
Python's subprocess cannot make a controlling terminal without `preexec_fn` (unsafe in a
threaded process), so a two-line shim does it and then `exec`s the program: same pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import shutil
import signal
import struct
import sys
import termios
from collections.abc import Callable, Mapping, Sequence

from tether.errors import AgentError

# Runs in the child: take the PTY as controlling terminal, then become the program.
_SHIM = (
    "import fcntl,os,sys,termios\n"
    "fcntl.ioctl(0, termios.TIOCSCTTY, 0)\n"
    "try:\n os.execvp(sys.argv[1], sys.argv[1:])\n"
    "except OSError as e:\n"
    " sys.stderr.write('tether: cannot run %s: %s\\r\\n' % (sys.argv[1], e.strerror))\n"
    " sys.exit(127)\n"
)
READ_SIZE = 64 * 1024


def set_size(fd: int, cols: int, rows: int) -> None:
    """Set a terminal's size (the kernel sends SIGWINCH to its foreground process group)."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def get_size(fd: int) -> tuple[int, int] | None:
    """(cols, rows) of a terminal, or None when `fd` is not one."""
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        return None
    return (cols, rows) if cols and rows else None


class PtyProcess:
    """One program on a PTY: `on_output` gets what it writes; `write` types into it."""

    def __init__(self, on_output: Callable[[bytes], None]) -> None:
        self.on_output = on_output
        self.pid: int | None = None
        self.returncode: int | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._master = -1
        self._out_buffer = bytearray()
        self._eof = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def spawn(
        self,
        argv: Sequence[str],
        *,
        cwd: str,
        env: Mapping[str, str],
        cols: int,
        rows: int,
    ) -> None:
        """Start `argv` on a new PTY of `cols` × `rows`; raise AgentError if it cannot start."""
        program = argv[0] if argv else ""
        if not program:
            raise AgentError("no command to run", hint="tether run -- PROGRAM ARGS…")
        if os.sep not in program and shutil.which(program, path=env.get("PATH")) is None:
            raise AgentError(
                f"{program!r} was not found on PATH", hint="check the name, or give its full path"
            )
        if not os.path.isdir(cwd):  # noqa: ASYNC240 (a stat before the spawn)
            raise AgentError(f"the directory {cwd!r} does not exist")
        master, slave = os.openpty()
        try:
            set_size(slave, cols, rows)
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                _SHIM,
                *argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                cwd=cwd,
                env=dict(env),
                start_new_session=True,
            )
        except OSError as exc:
            os.close(master)
            raise AgentError(f"could not start {program!r}: {exc.strerror or exc}") from None
        finally:
            os.close(slave)
        self.pid = self._proc.pid
        self._master = master
        os.set_blocking(master, False)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(master, self._readable)

    @property
    def master_fd(self) -> int:
        """The PTY's master side (for size changes)."""
        return self._master

    def resize(self, cols: int, rows: int) -> None:
        """Give the PTY a new size."""
        if self._master >= 0:
            with contextlib.suppress(OSError):
                set_size(self._master, cols, rows)

    def write(self, data: bytes) -> None:
        """Type `data` into the program (buffered if the PTY is full; never blocks)."""
        if self._master < 0 or not data:
            return
        was_empty = not self._out_buffer
        self._out_buffer += data
        if was_empty:
            self._writable()

    def _writable(self) -> None:
        assert self._loop is not None
        try:
            written = os.write(self._master, self._out_buffer) if self._out_buffer else 0
        except BlockingIOError:
            written = 0
        except OSError:
            self._out_buffer.clear()
            written = 0
        del self._out_buffer[:written]
        with contextlib.suppress(ValueError, OSError):
            if self._out_buffer:
                self._loop.add_writer(self._master, self._writable)
            else:
                self._loop.remove_writer(self._master)

    def _readable(self) -> None:
        try:
            data = os.read(self._master, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:  # EIO: every slave fd is closed (the program and its children)
            if exc.errno not in (errno.EIO, errno.EBADF):
                raise
            data = b""
        if not data:
            self._close_master()
            return
        self.on_output(data)

    def _close_master(self) -> None:
        if self._master < 0:
            return
        assert self._loop is not None
        self._loop.remove_reader(self._master)
        self._loop.remove_writer(self._master)
        os.close(self._master)
        self._master = -1
        self._eof.set()

    async def wait(self) -> int:
        """Until the program has ended and its output is read; its exit code (-N: signal N)."""
        assert self._proc is not None
        code = await self._proc.wait()
        # Children the program left behind may keep the PTY open: read what is there, briefly.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._eof.wait(), 0.5)
        self._drain_and_close()
        self.returncode = code
        return code

    def _drain_and_close(self) -> None:
        while self._master >= 0:
            try:
                data = os.read(self._master, READ_SIZE)
            except OSError:
                data = b""
            if not data:
                self._close_master()
                return
            self.on_output(data)

    def signal(self, sig: signal.Signals) -> None:
        """Signal the program's process group."""
        if self.pid is None or self.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    async def terminate(self, grace_s: float = 5.0) -> int:
        """HUP and TERM (as when a terminal closes), then KILL after `grace_s`."""
        assert self._proc is not None
        if self._proc.returncode is not None:
            return await self.wait()
        self.signal(signal.SIGHUP)
        self.signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.wait(), grace_s)
        except TimeoutError:
            self.signal(signal.SIGKILL)
            return await self.wait()
