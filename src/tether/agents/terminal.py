"""The `terminal` agent: a team whose program — any TUI — runs in a PTY on the runner.

    [teams.top]
    agent = "terminal"
    command = ["htop"]
    remote = "ssh dev@build-box"        # optional: a terminal there too (ssh -tt, exec -t)

Its screen is mirrored like `tether run`'s (`terminal.mirror`): `terminal_output`,
`terminal_resize` and `terminal_snapshot` events, keystrokes and the size from the
session's owner. There is no console, so the screen model answers the program's
terminal queries. A user message (`tether send`) is typed, then Enter. When the command
is Claude Code and runs here, its permission prompts also become Allow/Deny cards
(`terminal.hook_bridge`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from tether.agents.base import AgentContext
from tether.agents.process import exited_event
from tether.errors import AgentError, TransportError
from tether.protocol.events import Status
from tether.protocol.messages import (
    ControlPermissionDecision,
    ControlTerminalInput,
    ControlTerminalResize,
)
from tether.remote.spec import ExecPrefix
from tether.tasks import cancel_and_wait, keep_task
from tether.terminal.chunks import chunk_bytes
from tether.terminal.claude_hooks import SESSION_ENV, SOCKET_ENV, is_claude, with_permission_hook
from tether.terminal.hook_bridge import HookBridge
from tether.terminal.hook_server import HookSocket
from tether.terminal.mirror import TerminalMirror
from tether.terminal.pty_process import PtyProcess
from tether.terminal.remote_tty import (
    ENV_MARKER,
    READY_MARKER,
    env_lines,
    exec_prefix_with_tty,
    ssh_remote_command,
    tty_wrapper_argv,
)

log = logging.getLogger("tether.agents.terminal")

DEFAULT_SIZE = (100, 30)
ENTER_DELAY_S = 0.15
_PREAMBLE_LIMIT = 64 * 1024


class TerminalAdapter:
    """One team program on a PTY (here, or behind ssh -tt / exec -t)."""

    def __init__(self, ctx: AgentContext) -> None:
        self.ctx = ctx
        self.pty = PtyProcess(self._on_output)
        self.mirror = TerminalMirror(ctx.emit, *DEFAULT_SIZE, answer=self._answer_query)
        self.hooks = HookBridge(ctx.emit, log_decisions=False)
        self._hook_socket: HookSocket | None = None
        self._remote = ctx.transport.name != "local"
        self._preamble = bytearray()  # the carrier's output before the wrapper's marker
        self._env_asked = asyncio.Event()
        self._ready = asyncio.Event()
        self._exited = asyncio.Event()
        self._stopping = False
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Spawn the program on a PTY; return once it runs (remote: once the wrapper says so)."""
        command = list(self.ctx.team.command or [])
        if not command:
            raise AgentError(
                f"team {self.ctx.team.name!r} uses agent 'terminal' but has no `command`",
                hint='add command = ["htop"] (any program) to the team',
            )
        argv, env = await self._carrier(command)
        cols, rows = DEFAULT_SIZE
        await self.pty.spawn(argv, cwd=self._local_cwd(), env=env, cols=cols, rows=rows)
        keep_task(self._tasks, self._watch_exit())
        if self._remote:
            await self._handshake()
        else:
            self._ready.set()
        self.mirror.start(console=False)
        self.ctx.emit(Status(state="idle", agent="terminal"))

    async def _carrier(self, command: list[str]) -> tuple[list[str], dict[str, str]]:
        """The argv to run on the local PTY, and its environment."""
        team, transport = self.ctx.team, self.ctx.transport
        env = {**os.environ, "TERM": os.environ.get("TERM") or "xterm-256color"}
        if not self._remote:
            if is_claude(command):
                command = await self._with_hooks(command)
                env.update({SOCKET_ENV: str(self._hook_socket_path()), SESSION_ENV: self._sid})
            return command, {**env, **team.env}
        if transport.name == "ssh":
            ssh: Any = transport
            await ssh.with_retries(ssh.ensure_master)
            return ssh.ssh.argv("-tt", remote=ssh_remote_command(team.path, command)), env
        prefix = exec_prefix_with_tty(ExecPrefix(tuple(getattr(transport, "prefix", ()))))
        return [*prefix, *tty_wrapper_argv(team.path, command)], env

    @property
    def _sid(self) -> str:
        return self.ctx.session_id

    def _local_cwd(self) -> str:
        return self.ctx.team.path if not self._remote else os.getcwd()

    async def _with_hooks(self, command: list[str]) -> list[str]:
        self._hook_socket = HookSocket(self.ctx.data_dir, self._sid, self.hooks)
        await self._hook_socket.start()
        return with_permission_hook(command)

    def _hook_socket_path(self) -> str:
        assert self._hook_socket is not None
        return str(self._hook_socket.path)

    async def _handshake(self) -> None:
        """Remote: give the wrapper the team's env when it asks; wait for its marker."""
        timeout = self.ctx.team.remote_options.connect_timeout + self.ctx.team.session_init_timeout
        try:
            async with asyncio.timeout(timeout):
                await _first(self._env_asked, self._exited)
                if self._env_asked.is_set():
                    self.pty.write(env_lines(self.ctx.team.env))
                await _first(self._ready, self._exited)
        except TimeoutError:
            await self.pty.terminate(grace_s=1)
            raise TransportError(f"the program did not start within {timeout:g} s") from None
        if not self._ready.is_set():
            said = bytes(self._preamble).decode("utf-8", "replace").strip()
            raise TransportError(
                f"the terminal on {self.ctx.team.host} ended before the program started: "
                f"{said[-500:] or 'no message'}",
                hint="check the team's remote, path and command (`tether teams check`)",
            )

    # -- the AgentAdapter contract ----------------------------------------------------------

    async def send_user_message(self, text: str) -> None:
        """Type the text, then Enter (apart, so a TUI does not take it for a paste)."""
        self._type(text.encode("utf-8"))
        await asyncio.sleep(ENTER_DELAY_S)
        self._type(b"\r")
        self.ctx.emit(Status(state="idle", agent="terminal"))

    async def decide_permission(self, decision: ControlPermissionDecision) -> None:
        """A viewer's Allow/Deny for Claude Code's permission prompt."""
        self.hooks.decide(decision)

    async def interrupt(self) -> None:
        """Ctrl+C."""
        self._type(b"\x03")

    async def stop(self) -> None:
        """HUP, TERM, then KILL; `exited` follows."""
        self._stopping = True
        if self.pty.pid is not None:
            await self.pty.terminate()
        await self._exited.wait()

    async def wait_exited(self) -> None:
        """Until the program has ended and `exited` was emitted."""
        await self._exited.wait()

    async def terminal_input(self, control: ControlTerminalInput) -> None:
        """The owner's keystrokes."""
        self._type(chunk_bytes(control.model_dump()))

    async def terminal_resize(self, control: ControlTerminalResize) -> None:
        """The owner's size (this PTY has no console to prefer)."""
        self.pty.resize(control.cols, control.rows)
        self.mirror.resize(control.cols, control.rows, by=control.by)

    # -- internals -------------------------------------------------------------------------

    def _type(self, data: bytes) -> None:
        if not self._ready.is_set():
            raise AgentError("the terminal is still starting; try again in a moment")
        self.pty.write(data)

    def _on_output(self, data: bytes) -> None:
        if self._ready.is_set():
            self.mirror.feed(data)
            return
        # Before the wrapper's marker: the carrier's own chatter, not the program's screen.
        self._preamble += data
        del self._preamble[:-_PREAMBLE_LIMIT]
        if not self._env_asked.is_set() and ENV_MARKER in self._preamble:
            self._env_asked.set()
        at = self._preamble.find(READY_MARKER)
        if at >= 0:
            end = self._preamble.find(b"\n", at)
            if end >= 0:
                rest = bytes(self._preamble[end + 1 :])
                self._ready.set()
                if rest:
                    self.mirror.feed(rest)

    def _answer_query(self, answer: str) -> None:
        self.pty.write(answer.encode())  # no console here: the model is the terminal

    async def _watch_exit(self) -> None:
        code = await self.pty.wait()
        self.hooks.close()
        if self._ready.is_set():
            self.mirror.close()
        if self._hook_socket is not None:
            await self._hook_socket.close()
        self._exited.set()
        if self._ready.is_set() or not self._remote:
            self.ctx.emit(exited_event(code, stopping=self._stopping))


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            await cancel_and_wait(wait)


async def terminal_control(
    adapter: Any, control: ControlTerminalInput | ControlTerminalResize
) -> None:
    """Route a terminal control to the session's adapter (only terminal sessions take them)."""
    handler = getattr(adapter, control.action, None)
    if handler is None:
        raise AgentError("this session is not a terminal: send it a message instead")
    await handler(control)
