"""The user's own terminal as a console: raw mode, size changes, keystrokes in, bytes out.

Shared by `tether run` (the console of a held terminal) and `tether attach` (a mirror of
a terminal session): both put the terminal in raw mode for as long as they relay, follow
SIGWINCH, and restore everything on the way out — even when they end by an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import termios
import tty
from collections.abc import Callable, Iterator

from tether.terminal.pty_process import get_size

DEFAULT_SIZE = (80, 24)


def terminal_size(fd: int | None = None) -> tuple[int, int]:
    """(cols, rows) of stdout's terminal (else stdin's), or 80 × 24."""
    for candidate in (fd, sys.stdout.fileno(), sys.stdin.fileno()):
        if candidate is not None:
            size = get_size(candidate)
            if size is not None:
                return size
    return DEFAULT_SIZE


@contextlib.contextmanager
def raw_mode(fd: int) -> Iterator[None]:
    """Raw mode on `fd` while inside (nothing happens if it is not a terminal)."""
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def on_resize(callback: Callable[[int, int], None]) -> Iterator[None]:
    """Call `callback(cols, rows)` on every SIGWINCH while inside."""
    loop = asyncio.get_running_loop()

    def changed() -> None:
        callback(*terminal_size())

    loop.add_signal_handler(signal.SIGWINCH, changed)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGWINCH)


class Keyboard:
    """Keystrokes from stdin, read without blocking the event loop."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._blocking = os.get_blocking(fd)
        os.set_blocking(fd, False)
        self._loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._loop.remove_reader(self.fd)
        self._queue.put_nowait(data)

    async def read(self) -> bytes:
        """The next keystrokes; b"" at the end of input."""
        return await self._queue.get()

    def close(self) -> None:
        """Stop reading (stdin back to how it was)."""
        self._loop.remove_reader(self.fd)
        with contextlib.suppress(OSError):
            os.set_blocking(self.fd, self._blocking)


class ScreenWriter:
    """Bytes to the user's terminal without ever blocking the event loop.

    A terminal that stops reading (paused, scrolled back, a test not looking) must not stop
    the keystrokes going the other way: output waits in a buffer, written whenever the
    terminal takes more; `drained()` lets a reader hold back while it is large."""

    HIGH_WATER = 1024 * 1024

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._loop = asyncio.get_running_loop()
        self._pending = bytearray()
        self._room = asyncio.Event()
        self._room.set()
        self._blocking = os.get_blocking(fd)
        os.set_blocking(fd, False)

    def write(self, data: bytes) -> None:
        """Queue `data` and write what the terminal takes now."""
        was_empty = not self._pending
        self._pending += data
        if was_empty:
            self._writable()

    async def drained(self) -> None:
        """Until the buffer is below its high-water mark."""
        await self._room.wait()

    def _writable(self) -> None:
        try:
            written = os.write(self.fd, self._pending) if self._pending else 0
        except BlockingIOError:
            written = 0
        except OSError:  # the terminal is gone: nothing more can be shown
            written = len(self._pending)
        del self._pending[:written]
        if self._pending:
            self._loop.add_writer(self.fd, self._writable)
        else:
            self._loop.remove_writer(self.fd)
        if len(self._pending) > self.HIGH_WATER:
            self._room.clear()
        else:
            self._room.set()

    def close(self) -> None:
        """Write what is left (blocking: the relay is over) and restore the descriptor."""
        self._loop.remove_writer(self.fd)
        data, self._pending = bytes(self._pending), bytearray()
        with contextlib.suppress(OSError):
            os.set_blocking(self.fd, self._blocking)
            write_all(self.fd, data)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte to `fd` (the terminal may take them in pieces)."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            import select

            select.select([], [fd], [], 1.0)
            continue
        view = view[written:]
