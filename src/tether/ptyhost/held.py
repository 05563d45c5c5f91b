"""One terminal the PTY host holds: the program on its PTY, its mirror, its console.

The console is the `tether run` that started it — the user's own terminal. It sees the
program's bytes exactly as written (no filter: it is the terminal the program runs in),
types without asking for the owner slot, and sets the size while it is attached. When it
goes (the terminal closed, or the detach key), the program keeps running; the screen model
answers the program's terminal queries in its place, and the owner's size applies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tether.agents.process import exited_event
from tether.protocol.events import Event, Status, UserMessage
from tether.protocol.messages import ControlPermissionDecision
from tether.terminal.hook_bridge import HookBridge
from tether.terminal.local_socket import OUTPUT, frame, json_frame
from tether.terminal.mirror import TerminalMirror
from tether.terminal.pty_process import PtyProcess

log = logging.getLogger("tether.terminal")

Emit = Callable[[Event], None]
CONSOLE_BUFFER_LIMIT = 8 * 1024 * 1024
ENTER_DELAY_S = 0.15  # `tether send`: a TUI must see Enter apart from the text (not a paste)


@dataclass(eq=False)
class Console:
    """The `tether run` process whose terminal this program runs in."""

    writer: asyncio.StreamWriter

    def output(self, data: bytes) -> bool:
        """Pass output on; False when the console stopped reading (it is dropped)."""
        if self.writer.is_closing():
            return False
        transport = self.writer.transport
        if transport.get_write_buffer_size() > CONSOLE_BUFFER_LIMIT:
            log.warning("the console of a terminal stopped reading; detaching it")
            self.writer.close()
            return False
        self.writer.write(frame(OUTPUT, data))
        return True

    def send(self, message: dict[str, Any]) -> None:
        """A JSON message to the console (the exit code, an error)."""
        if not self.writer.is_closing():
            self.writer.write(json_frame(message))


@dataclass(eq=False)
class HeldTerminal:
    """A program on a PTY, published as session `session_id`."""

    session_id: str
    name: str
    emit: Emit
    pty: PtyProcess = field(init=False)
    mirror: TerminalMirror = field(init=False)
    hooks: HookBridge = field(init=False)
    console: Console | None = None
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    async def start(
        self, argv: list[str], *, cwd: str, env: dict[str, str], cols: int, rows: int
    ) -> None:
        """Spawn the program (raises AgentError) and start mirroring it."""
        self.pty = PtyProcess(self._on_output)
        self.mirror = TerminalMirror(self.emit, cols, rows, answer=self._answer_query)
        self.hooks = HookBridge(self.emit)
        await self.pty.spawn(argv, cwd=cwd, env=env, cols=cols, rows=rows)
        self.mirror.start(console=self.console is not None)
        self.emit(Status(state="idle", agent="terminal", detail=self.name))
        task = asyncio.create_task(self._watch_exit())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the console ---------------------------------------------------------------------------

    def attach_console(self, console: Console, cols: int, rows: int) -> None:
        """The console (re)attached with its size."""
        self.console = console
        self.resize(cols, rows, by="console", console=True)

    def detach_console(self, console: Console) -> None:
        """The console left (EOF or the detach key); the program keeps running."""
        if self.console is console:
            self.console = None
            if not self.exited.is_set():
                self.mirror.resize(self.mirror.model.cols, self.mirror.model.rows, by="console",
                                   console=False)  # fmt: skip

    def resize(self, cols: int, rows: int, *, by: str | None, console: bool | None = None) -> None:
        """New size: the console's always applies; a viewer's only while no console is on."""
        if console is None and self.console is not None:
            return
        self.pty.resize(cols, rows)
        self.mirror.resize(cols, rows, by=by, console=console)

    def type(self, data: bytes) -> None:
        """Keystrokes for the program."""
        self.pty.write(data)

    async def type_line(self, text: str, by: str | None) -> None:
        """`tether send`: the text, then Enter."""
        self.emit(UserMessage(text=text, by=by))
        self.pty.write(text.encode("utf-8"))
        await asyncio.sleep(ENTER_DELAY_S)
        self.pty.write(b"\r")
        self.emit(Status(state="idle", agent="terminal"))

    def decide_permission(self, decision: ControlPermissionDecision) -> None:
        """A remote Allow/Deny for a Claude Code permission request (see hook_bridge)."""
        self.hooks.decide(decision)

    async def stop(self) -> None:
        """End the program (HUP, TERM, then KILL) and wait for its `exited`."""
        self.stopping = True
        await self.pty.terminate()
        await self.exited.wait()

    # -- internals -------------------------------------------------------------------------------

    def _on_output(self, data: bytes) -> None:
        console = self.console  # the program's own terminal first: it must never wait
        if console is not None and not console.output(data):
            self.detach_console(console)
        self.mirror.feed(data)

    def _answer_query(self, answer: str) -> None:
        # With a console attached its terminal answers (it sees the raw bytes); without one
        # the model does, so a program waiting for a cursor report is not stuck.
        if self.console is None:
            self.pty.write(answer.encode())

    async def _watch_exit(self) -> None:
        code = await self.pty.wait()
        self.hooks.close()
        self.mirror.close()
        self.emit(exited_event(code, stopping=self.stopping))
        if self.console is not None:
            self.console.send({"op": "exit", "code": code})
        self.exited.set()
