"""The PTY host: a small background process that holds `tether run`'s terminals.

One host per data dir and hub (`python -m tether.ptyhost.host`, started by the first
`tether run` and gone a few seconds after its last terminal ended and was delivered). It

* listens on a private Unix socket (`local_socket`): `tether run` opens a terminal and is
  its console; Claude Code's hook (`terminal.hook`) asks about permissions;
* connects to the hub as a runner of this machine's CLI device (`identity`), through the
  runner's own `Runner` with `HostSessions` as its supervisor.

Because the host, not `tether run`, owns the PTY, closing the terminal (or the detach
key) leaves the program running; `tether attach` picks it up from anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from tether.client.access import HubAccess, hub_access
from tether.client.credentials import CredentialStore
from tether.config import TetherConfig
from tether.errors import AgentError, AuthError, HubUnreachable, TetherError
from tether.private import append_private, open_private
from tether.protocol.events import ErrorEvent, Exited
from tether.ptyhost.held import Console, HeldTerminal
from tether.ptyhost.sessions import HostSessions
from tether.runner.daemon import Runner
from tether.tasks import run_first_completed
from tether.terminal.claude_hooks import SESSION_ENV, SOCKET_ENV, is_claude, with_permission_hook
from tether.terminal.hook_server import serve_hook
from tether.terminal.identity import terminal_runner_id
from tether.terminal.local_socket import (
    INPUT,
    JSON,
    LocalSocketError,
    is_same_user,
    json_frame,
    parse_json,
    read_frame,
    socket_path,
)
from tether.terminal.open_request import OpenRequest

log = logging.getLogger("tether.terminal")

IDLE_EXIT_S = 5.0
UNDELIVERED_WAIT_S = 300.0
CONNECT_WAIT_S = 20.0


class TerminalHost:
    """Holds terminals for one hub and publishes them as sessions."""

    def __init__(
        self, access: HubAccess, data_dir: Path, device_id: str, *, idle_exit_s: float = IDLE_EXIT_S
    ) -> None:
        self.access = access
        self.data_dir = data_dir
        self.socket = socket_path(data_dir, access.url)
        self.idle_exit_s = idle_exit_s
        self.runner = Runner(
            access.url,
            access.token,
            TetherConfig(),
            data_dir,
            runner_id=terminal_runner_id(device_id),
            ssl=access.ssl,
            insecure=access.insecure,
        )
        self.sessions = HostSessions(self.runner.outbox)
        self.runner.supervisor = self.sessions  # type: ignore[assignment]
        self._clients = 0

    async def run(self) -> None:
        """Serve until idle (no terminal, no client, nothing undelivered)."""
        if self.socket.exists():
            self.socket.unlink()
        server = await asyncio.start_unix_server(self._client, path=str(self.socket))
        os.chmod(self.socket, 0o600)
        log.info("terminal host for %s on %s", self.access.url, self.socket)
        try:
            await run_first_completed(self.runner.run(), self._until_idle())
        finally:
            server.close()
            with contextlib.suppress(FileNotFoundError):
                self.socket.unlink()

    async def _until_idle(self) -> None:
        idle_since: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(0.5)
            if self.sessions.live() or self._clients:
                idle_since = None
                continue
            if idle_since is None:
                idle_since = loop.time()
            idle = loop.time() - idle_since
            # Wait for the last events to be delivered, but not for ever: a hub gone for good
            # learns of the lost programs when this host next connects (adopt_orphans).
            undelivered = self.runner.outbox.unacked_count() and idle < UNDELIVERED_WAIT_S
            if idle >= self.idle_exit_s and not undelivered:
                log.info("no terminals left; the terminal host exits")
                return

    # -- clients of the local socket ---------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients += 1
        try:
            if not is_same_user(writer):
                log.warning("refused a terminal-socket connection from another user")
                return
            first = await read_frame(reader)
            if first is None or first[0] != JSON:
                return
            message = parse_json(first[1])
            op = message.get("op")
            if op == "ping":
                writer.write(json_frame({"op": "pong", "pid": os.getpid()}))
            elif op == "open":
                await self._open(OpenRequest.from_message(message), reader, writer)
            elif op == "hook":
                await self._hook(message, reader, writer)
            await writer.drain()
        except TetherError as exc:
            writer.write(json_frame({"op": "error", "message": exc.message, "hint": exc.hint}))
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._clients -= 1
            writer.close()

    async def _open(
        self, request: OpenRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            await asyncio.wait_for(self.runner.connected.wait(), CONNECT_WAIT_S)
        except TimeoutError:
            raise HubUnreachable(
                f"the hub at {self.access.url} cannot be reached, so the terminal was not started",
                hint="start it (`tether up`), or run the command without tether",
            ) from None
        async with self.access.client() as hub:
            info = await hub.request(
                "POST",
                "/v1/terminal-sessions",
                json={"name": request.name, "host": socket.gethostname()},
            )
        session_id = str(info["id"])
        held = self.sessions.add(session_id, request.name)
        console = Console(writer)
        held.console = console
        try:
            await held.start(
                self._argv(request, held),
                cwd=request.cwd,
                env=self._env(request, session_id),
                cols=request.cols,
                rows=request.rows,
            )
        except AgentError as exc:
            held.emit(ErrorEvent(code=exc.code, message=str(exc)))
            held.emit(Exited(code=127, reason=str(exc)))
            held.exited.set()
            raise
        writer.write(json_frame({"op": "opened", "session": session_id}))
        await self._serve_console(held, console, reader)

    def _argv(self, request: OpenRequest, held: HeldTerminal) -> list[str]:
        if request.agent_hooks and is_claude(request.argv):
            return with_permission_hook(request.argv)
        return request.argv

    def _env(self, request: OpenRequest, session_id: str) -> dict[str, str]:
        return {**request.env, SOCKET_ENV: str(self.socket), SESSION_ENV: session_id}

    async def _serve_console(
        self, held: HeldTerminal, console: Console, reader: asyncio.StreamReader
    ) -> None:
        try:
            while not held.exited.is_set():
                got = await read_frame(reader)
                if got is None:
                    return
                kind, payload = got
                if kind == INPUT:
                    held.type(payload)
                elif kind == JSON:
                    message = parse_json(payload)
                    if message.get("op") == "resize":
                        held.attach_console(console, int(message["cols"]), int(message["rows"]))
                    elif message.get("op") == "detach":
                        return
        finally:
            held.detach_console(console)

    async def _hook(
        self, message: dict[str, Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        held = self.sessions.sessions.get(str(message.get("session")))
        live = held is not None and not held.exited.is_set()
        await serve_hook(message, reader, writer, held.hooks if held is not None and live else None)


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tether.ptyhost.host")
    parser.add_argument("--hub", required=True)
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--idle-exit", type=float, default=IDLE_EXIT_S)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the host (only one per socket: a second one exits at once)."""
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    data_dir: Path = args.data_dir
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=os.fdopen(append_private(_log_path(data_dir)), "a", buffering=1),
    )
    logging.getLogger("websockets").setLevel(logging.WARNING)
    try:
        access = hub_access(args.hub, data_dir)
        creds = CredentialStore(data_dir).load("cli", access.url)
        if creds is None:
            raise AuthError(f"this machine's CLI is not signed in to {access.url}")
        host = TerminalHost(access, data_dir, creds.device_id, idle_exit_s=args.idle_exit)
        lock = open_private(Path(f"{host.socket}.lock"), os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # another host serves this socket
        asyncio.run(_until_terminated(host.run()))
    except (TetherError, LocalSocketError) as exc:
        log.error("terminal host: %s", exc)
        return 2
    return 0


async def _until_terminated(serving: Any) -> None:
    """Run `serving`; SIGTERM/SIGHUP end it cleanly (its programs are stopped first)."""
    task = asyncio.ensure_future(serving)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _log_path(data_dir: Path) -> Path:
    from tether.private import private_dir

    return private_dir(data_dir / "terminals") / "host.log"


if __name__ == "__main__":
    sys.exit(main())
