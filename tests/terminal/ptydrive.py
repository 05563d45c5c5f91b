"""A test playing the user's terminal: a process on a real PTY, its screen through pyte."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pyte

from tests.e2e.cluster import Cluster
from tests.support.timing import scaled
from tether.terminal.pty_process import set_size


class PtyUser:
    """`argv` running on a PTY of `cols` × `rows`, read into a pyte screen."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str],
        cwd: Path | str | None = None,
        cols: int = 100,
        rows: int = 30,
    ) -> None:
        master, slave = pty.openpty()
        set_size(slave, cols, rows)
        self.proc = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_take_ctty,  # a single-threaded test process
        )
        os.close(slave)
        self.master = master
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()

    def pump(self, seconds: float = 0.05) -> None:
        """Read what the program wrote for up to `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.master], [], [], max(0.0, left))
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    return
                if not data:
                    return
                self.raw += data
                self.stream.feed(data)
            if left <= 0:
                return

    def text(self) -> str:
        """The screen as text."""
        return "\n".join(line.rstrip() for line in self.screen.display)

    def wait_for(self, predicate: Callable[[str], bool] | str, timeout: float = 30) -> str:
        """Until the screen satisfies `predicate` (or contains the string)."""
        check = (lambda t: predicate in t) if isinstance(predicate, str) else predicate
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            self.pump(0.05)
            if check(self.text()):
                return self.text()
        raise AssertionError(f"the screen never showed {predicate!r}:\n{self.text()}")

    def type(self, data: bytes | str) -> None:
        """Keystrokes, as a user types them."""
        os.write(self.master, data.encode() if isinstance(data, str) else data)

    def resize(self, cols: int, rows: int) -> None:
        """The user resizes their terminal window."""
        set_size(self.master, cols, rows)
        self.screen.resize(rows, cols)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGWINCH)

    def close_terminal(self) -> None:
        """Close the terminal window: the master goes away and the session gets SIGHUP."""
        os.close(self.master)
        self.master = -1
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=scaled(10))

    def wait_exit(self, timeout: float = 30) -> int:
        """Read until the program ends; its exit status."""
        deadline = time.monotonic() + scaled(timeout)
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.pump(0.05)
        return self.proc.wait(timeout=1)

    def kill(self) -> None:
        """Clean up whatever is left."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


def _take_ctty() -> None:
    import fcntl
    import termios

    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def stop_terminal_hosts(home: Path) -> None:
    """SIGTERM the PTY hosts of data dir `home` (a test's leftovers end with it)."""
    import json
    import socket as sockets
    import struct
    import tempfile

    candidates = [*(home / "terminals").glob("*.sock")]
    candidates += Path(tempfile.gettempdir(), f"tether-{os.getuid()}").glob("*.sock")
    for path in candidates:
        with contextlib.suppress(OSError, ValueError), sockets.socket(sockets.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(str(path))
            body = json.dumps({"op": "ping"}).encode()
            s.sendall(struct.pack(">cI", b"J", len(body)) + body)
            header = s.recv(5)
            size = struct.unpack(">cI", header)[1]
            pid = json.loads(s.recv(size))["pid"]
            os.kill(int(pid), signal.SIGTERM)


def terminal_hub(home: Path) -> Iterator[Cluster]:
    """A real hub for `tether run` tests; every terminal host it left is stopped after."""
    cluster = Cluster(home)
    cluster.start_hub()
    try:
        yield cluster
    finally:
        stop_terminal_hosts(cluster.home)
        cluster.close()
