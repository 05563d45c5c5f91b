"""asyncio subprocess plumbing shared by the transports.

The local transport runs the agent as a child; the remote ones run a carrier child
(`ssh`, `docker exec -i` …) that the agent sits behind. Either way the child is
started, read and signalled the same way, here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Sequence

# The longest line a reader hands over whole (an agent's JSON event can be large).
LINE_LIMIT = 64 * 1024 * 1024


async def start_piped(
    argv: Sequence[str], *, cwd: str | None = None, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """Start argv (never through a shell) with piped stdio, in a new process group."""
    return await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        limit=LINE_LIMIT,
    )


async def run_to_end(
    argv: Sequence[str], *, timeout: float, stdin: bytes | None = None
) -> tuple[int, str, str]:
    """Run argv to completion, fed `stdin` (or nothing): (exit code, stdout, stderr).

    On a timeout or a cancellation the child is killed and reaped before it re-raises.
    """
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    except (TimeoutError, asyncio.CancelledError):
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


async def read_lines(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """Yield lines (without the newline) until EOF."""
    while True:
        try:
            line = await reader.readline()
        except ValueError:  # a line over LINE_LIMIT: hand over what we have
            line = await reader.read(LINE_LIMIT)
        if not line:
            return
        yield line.rstrip(b"\r\n")


async def close_pipe(stdin: asyncio.StreamWriter | None) -> None:
    """Close a child's stdin (EOF), unless it is closed already."""
    if stdin is not None and not stdin.is_closing():
        stdin.close()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            await stdin.wait_closed()


def signal_group(proc: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    """Signal the child's process group (it leads one); the child alone if that fails."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
