"""`tether run [--name N] -- CMD ARGS…`: CMD in a PTY in this terminal, published as a session.

This process is only the program's console: the PTY host (`terminal.host`, started here
when it is not running) holds the PTY. So the program lives on when this terminal
closes, or when the user presses the detach key; `tether attach SESSION` picks it up.
The exit status is the program's (128 + N when a signal N ended it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tether.client.access import HubAccess
from tether.client.credentials import CredentialStore
from tether.errors import AuthError, TetherError
from tether.private import append_private, private_dir
from tether.terminal.keys import DETACH_HELP, DetachKey
from tether.terminal.local_socket import (
    INPUT,
    JSON,
    OUTPUT,
    LocalSocketError,
    frame,
    json_frame,
    parse_json,
    read_frame,
    socket_path,
)
from tether.terminal.open_request import OpenRequest
from tether.terminal.rawtty import Keyboard, ScreenWriter, on_resize, raw_mode, terminal_size

HOST_START_WAIT_S = 15.0
EXIT_DETACHED = 0


class HostGone(TetherError):
    """The PTY host went away while this console was attached."""

    code = "terminal_host"


async def connect_host(access: HubAccess, data_dir: Path) -> tuple[Any, Any]:
    """A connection to this machine's PTY host for the hub (starting the host if needed)."""
    path = socket_path(data_dir, access.url)
    with contextlib.suppress(OSError):
        return await asyncio.open_unix_connection(str(path))
    _start_host(access, data_dir)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HOST_START_WAIT_S
    while True:
        try:
            return await asyncio.open_unix_connection(str(path))
        except OSError:
            if loop.time() > deadline:
                raise LocalSocketError(
                    "the terminal host did not start",
                    hint=f"see {data_dir / 'terminals' / 'host.log'}",
                ) from None
            await asyncio.sleep(0.05)


def _start_host(access: HubAccess, data_dir: Path) -> None:
    log_fd = append_private(private_dir(data_dir / "terminals") / "host.log")
    try:
        subprocess.Popen(
            [sys.executable, "-m", "tether.ptyhost.host", "--hub", access.url,
             "--data-dir", str(data_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            start_new_session=True,  # not in this terminal's session: its HUP never reaches it
            close_fds=True,
            cwd="/",
        )  # fmt: skip
    finally:
        os.close(log_fd)


async def run_terminal(
    access: HubAccess, data_dir: Path, argv: list[str], *, name: str | None, agent_hooks: bool
) -> int:
    """Run `argv` with this terminal as its console; return the exit status."""
    if CredentialStore(data_dir).load("cli", access.url) is None:
        raise AuthError(
            f"tether run publishes through this machine's signed-in CLI, and it is not signed"
            f" in to {access.url}",
            hint="`tether up` signs it in; elsewhere `tether login --hub URL --code CODE`",
        )
    cols, rows = terminal_size()
    request = OpenRequest(
        argv=argv,
        cwd=os.getcwd(),
        env=dict(os.environ),
        cols=cols,
        rows=rows,
        name=name or "",
        agent_hooks=agent_hooks,
    )
    reader, writer = await connect_host(access, data_dir)
    try:
        writer.write(json_frame(request.message()))
        await writer.drain()
        session = await _opened(reader)
        banner = f"tether: {session} · detach: {DETACH_HELP} · anywhere: tether attach {session}"
        sys.stderr.write(banner + "\r\n")
        sys.stderr.flush()
        return await _console(reader, writer, session)
    finally:
        writer.close()


async def _opened(reader: asyncio.StreamReader) -> str:
    got = await read_frame(reader)
    if got is None or got[0] != JSON:
        raise HostGone("the terminal host closed the connection before starting the program")
    message = parse_json(got[1])
    if message.get("op") == "error":
        raise TetherError(str(message.get("message")), hint=message.get("hint"))
    return str(message.get("session"))


async def _console(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, session: str) -> int:
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    detach = DetachKey()

    def resized(cols: int, rows: int) -> None:
        writer.write(json_frame({"op": "resize", "cols": cols, "rows": rows}))

    with raw_mode(stdin), on_resize(resized):
        keyboard = Keyboard(stdin)
        screen = ScreenWriter(stdout)
        resized(*terminal_size())
        keys = asyncio.ensure_future(_type(keyboard, writer, detach))
        try:
            while True:
                got = await _next(reader, keys)
                if got is None:  # the detach key
                    writer.write(json_frame({"op": "detach"}))
                    break
                kind, payload = got
                if kind == OUTPUT:
                    screen.write(payload)
                    await screen.drained()
                elif kind == JSON:
                    message = parse_json(payload)
                    if message.get("op") == "exit":
                        return _status(message.get("code"))
        finally:
            keys.cancel()
            keyboard.close()
            screen.close()
    sys.stderr.write(f"\r\ntether: detached; {session} keeps running: tether attach {session}\r\n")
    return EXIT_DETACHED


async def _next(
    reader: asyncio.StreamReader, keys: asyncio.Future[None]
) -> tuple[bytes, bytes] | None:
    """The next frame from the host; None once the keyboard side is done (detach)."""
    frame_task = asyncio.ensure_future(read_frame(reader))
    waiting: set[asyncio.Future[Any]] = {frame_task, keys}
    done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    if frame_task in done:
        got = frame_task.result()
        if got is None:
            raise HostGone(
                "the terminal host went away", hint="the program may have been lost; see host.log"
            )
        return got
    frame_task.cancel()
    return None


async def _type(keyboard: Keyboard, writer: asyncio.StreamWriter, detach: DetachKey) -> None:
    """Keystrokes to the host until the detach key. At the end of input (stdin is a file)
    the program keeps running and its output keeps coming until it exits."""
    while True:
        data = await keyboard.read()
        if not data:
            await asyncio.Event().wait()
        typed, leave = detach.feed(data)
        if typed:
            writer.write(frame(INPUT, typed))
            await writer.drain()
        if leave:
            return


def _status(code: Any) -> int:
    if not isinstance(code, int):
        return 1
    return 128 - code if code < 0 else code
