"""`tether attach S` on a terminal session: the screen as it is now, then the live stream.

* In a terminal: a raw mirror. The current screen (the latest `terminal_snapshot`) is
  painted first, then the output as it comes, each byte through the mirror filter again
  (a runner cannot make this terminal type an answer or write its clipboard). The owner's
  keystrokes are typed into the session, and while no local console is attached, the
  owner's size becomes the session's. Followers watch; their keys are not sent.
  Ctrl+] d detaches.
* `--json`: one event per line, from the latest snapshot on.
* Otherwise (output to a file or a pipe): the screen's text, then the output bytes.

`--permissions allow|deny` answers Claude Code's permission requests (see hook_bridge);
with `ask` they are answered in the mirrored program itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from typing import TYPE_CHECKING

from rich.console import Console

from tether.cli.render import event_json
from tether.client.http import HubClient
from tether.client.session import RemoteSession
from tether.errors import TetherError
from tether.sanitize import terminal_name, terminal_text
from tether.terminal.chunks import chunk_bytes, chunk_payload
from tether.terminal.filter import MirrorFilter, filter_once
from tether.terminal.keys import DETACH_HELP, DetachKey
from tether.terminal.rawtty import Keyboard, ScreenWriter, on_resize, raw_mode, terminal_size

if TYPE_CHECKING:
    from tether.cli.watch import Watch
    from tether.protocol.api_shapes import PendingPermission, SessionDetail, SessionRow

EXIT_OK = 0


async def terminal_info(watch: Watch) -> SessionDetail | None:
    """The session's info if it is a terminal session, else None."""
    verify = watch.ssl or True
    async with HubClient(watch.urls[0], watch.token, verify=verify, insecure=watch.insecure) as hub:
        info = await hub.session(watch.session_id)
    return info if info.get("agent") == "terminal" else None


def start_seq(info: SessionRow, after: int) -> int:
    """Where to resume: just before the latest snapshot, unless the user asked for `after`."""
    snapshot = int((info.get("terminal") or {}).get("snapshot_seq") or 0)
    return after if after or not snapshot else snapshot - 1


async def attach_terminal(watch: Watch, info: SessionRow, *, err: Console) -> int:
    """Mirror a terminal session; return the exit status."""
    remote: RemoteSession

    async def on_permission(request: PendingPermission) -> None:
        if remote.role == "owner" and watch.permissions in ("allow", "deny"):
            message = None if watch.permissions == "allow" else "denied from tether attach"
            with contextlib.suppress(TetherError):
                await remote.decide_permission(
                    str(request["request_id"]), watch.permissions, message
                )

    remote = watch.remote(
        watch.urls[0],
        start_seq(info, watch.after),
        lambda role, why: err.print(_role_change(role, why), markup=False),
        on_permission,
    )
    await remote.connect()
    try:
        if watch.as_json:
            return await _print_json(remote, err)
        if not os.isatty(sys.stdout.fileno()):
            return await _print_plain(remote)
        return await _mirror(remote, err)
    finally:
        await remote.close()


async def _print_json(remote: RemoteSession, err: Console) -> int:
    err.print(f"attached to {remote.session_id} as {remote.role}", style="bold")
    if remote.info.get("state") == "exited" and remote.last_seq >= int(remote.info["last_seq"]):
        return EXIT_OK
    async for event in remote:
        sys.stdout.write(event_json(event.seq, event.ts, event.payload) + "\n")
        sys.stdout.flush()
        if event.kind == "exited":
            break
    return EXIT_OK


async def _print_plain(remote: RemoteSession) -> int:
    mirror = MirrorFilter()
    async for event in remote:
        if event.kind == "terminal_snapshot":
            lines = [str(line) for line in event.payload.get("lines", [])]
            sys.stdout.write("\n".join(lines).rstrip("\n") + "\n")
        elif event.kind == "terminal_output":
            sys.stdout.buffer.write(mirror.feed(chunk_bytes(event.payload)))
        elif event.kind == "exited":
            break
        sys.stdout.flush()
    return EXIT_OK


async def _mirror(remote: RemoteSession, err: Console) -> int:
    owner = remote.role == "owner"
    what = "owner: your keys are typed into it" if owner else "follower: watching only"
    err.print(f"attached to {remote.session_id} as {what} · detach: {DETACH_HELP}", style="bold")
    stdout, stdin = sys.stdout.fileno(), sys.stdin.fileno()
    keys: asyncio.Queue[bytes] = asyncio.Queue()
    detached = asyncio.Event()

    def resized(cols: int, rows: int) -> None:
        if remote.role == "owner":
            keys.put_nowait(b"")  # wakes the sender, which offers the new size first
            sizes.append((cols, rows))

    sizes: list[tuple[int, int]] = [terminal_size()] if owner else []
    with raw_mode(stdin), on_resize(resized):
        keyboard = Keyboard(stdin)
        screen = ScreenWriter(stdout)
        tasks = [
            asyncio.ensure_future(_read_keys(keyboard, keys, detached)),
            asyncio.ensure_future(_send_keys(remote, keys, sizes)),
        ]
        if owner:
            keys.put_nowait(b"")
        try:
            code = await _show(remote, screen, detached)
        finally:
            for task in tasks:
                task.cancel()
            keyboard.close()
            screen.write(b"\x1b[0m\x1b[?25h")
            screen.close()
    if code is None:
        err.print(f"\ndetached; {remote.session_id} keeps running")
        return EXIT_OK
    return code


async def _show(remote: RemoteSession, screen: ScreenWriter, detached: asyncio.Event) -> int | None:
    mirror = MirrorFilter()
    events = remote.events()
    while True:
        next_event = asyncio.ensure_future(anext(events))
        waiting = asyncio.ensure_future(detached.wait())
        done, _ = await asyncio.wait({next_event, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if waiting in done:
            next_event.cancel()
            return None
        waiting.cancel()
        try:
            event = next_event.result()
        except StopAsyncIteration:
            return EXIT_OK
        if event.kind == "terminal_snapshot":
            mirror = MirrorFilter()  # a repaint starts from a clean parser state
            screen.write(filter_once(str(event.payload.get("ansi", "")).encode()))
        elif event.kind == "terminal_output":
            screen.write(mirror.feed(chunk_bytes(event.payload)))
        elif event.kind == "exited":
            code = event.payload.get("code")
            screen.write(f"\r\n[the program exited: code {code}]\r\n".encode())
            return EXIT_OK
        await screen.drained()


async def _read_keys(
    keyboard: Keyboard, keys: asyncio.Queue[bytes], detached: asyncio.Event
) -> None:
    detach = DetachKey()
    while True:
        data = await keyboard.read()
        if not data:
            return
        typed, leave = detach.feed(data)
        if typed:
            keys.put_nowait(typed)
        if leave:
            detached.set()
            return


async def _send_keys(
    remote: RemoteSession, keys: asyncio.Queue[bytes], sizes: list[tuple[int, int]]
) -> None:
    """One request at a time; keys typed meanwhile go together in the next one."""
    while True:
        batch = bytearray(await keys.get())
        while not keys.empty():
            batch += keys.get_nowait()
        if remote.role != "owner":
            continue  # a follower's keys go nowhere (the hub would refuse them anyway)
        try:
            if sizes:  # the session applies it only while no local console is attached
                cols, rows = sizes.pop()
                sizes.clear()
                await remote.terminal_resize(cols, rows)
            if batch:
                await remote.terminal_input(chunk_payload(bytes(batch)))
        except TetherError:
            continue  # a dropped connection: RemoteSession reconnects; keys typed are lost


def _role_change(role: str, why: str | None) -> str:
    """`(now a follower: taken over by …)`: hub text, made safe for the terminal."""
    because = f": {terminal_text(why)}" if why else ""
    return f"\r\n(now a {terminal_name(role)}{because})\r\n"
