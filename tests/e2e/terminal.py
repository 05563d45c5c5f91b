"""Running a CLI process in a real pseudo-terminal and keeping every byte the terminal got."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time

from tests.support.timing import scaled

# What may reach a terminal from tether: text, newlines, and colour (SGR) sequences.
SGR = re.compile(rb"\x1b\[[0-9;]*m")
C1_RAW = re.compile(rb"[\x80-\x9f]")  # as raw bytes they would only appear outside UTF-8 text
C1_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")  # U+0080-U+009F encoded


def run_in_pty(
    argv: list[str], env: dict[str, str], *, columns: int = 100, timeout: float = 60
) -> tuple[int, bytes]:
    """Run `argv` with a pty as its stdin, stdout and stderr; its exit status and output."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "TERM": "xterm-256color"},
        start_new_session=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + scaled(timeout)
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every writer closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        else:
            proc.kill()
            raise AssertionError(f"{argv} did not finish:\n{b''.join(chunks)!r}")
        return proc.wait(timeout=scaled(10)), b"".join(chunks)
    finally:
        os.close(master)


def control_sequences_other_than_colour(screen: bytes) -> list[bytes]:
    """Every escape sequence or C1 control in `screen` that is not an SGR colour."""
    rest = SGR.sub(b"", screen)
    found = [m.group() for m in re.finditer(rb"\x1b.{0,12}", rest, re.DOTALL)]
    found += [m.group() for m in C1_UTF8.finditer(rest)]
    found += [m.group() for m in C1_RAW.finditer(_drop_utf8_multibyte(rest))]
    return found


def _drop_utf8_multibyte(data: bytes) -> bytes:
    """The bytes with every well-formed UTF-8 multi-byte character removed."""
    multibyte = rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
    return re.sub(multibyte, b"", data)
