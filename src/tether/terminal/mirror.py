"""From a program's output to events: filter, coalesce, model the screen, snapshot.

`TerminalMirror` is fed every byte the PTY yields and emits, in order:

* `terminal_output` — the filtered bytes (`filter.MirrorFilter`), a burst coalesced into
  one event: output is held for `COALESCE_S` (or until `MAX_CHUNK` bytes), and cut only
  at UTF-8 character boundaries;
* `terminal_resize` — when the size changes or the local console comes or goes;
* `terminal_snapshot` — the whole screen (`screen.ScreenModel`), at the start, after the
  screen has been quiet for `QUIET_SNAPSHOT_S` following output, and after every
  `max(MIN_SNAPSHOT_GAP, 4 × the last snapshot's size)` bytes of output — so a late viewer
  replays at most that much after the latest snapshot, and snapshots cost at most about a
  quarter of the log.

A snapshot first flushes the output held back, so every output event before it is in it.

The screen model (pyte) is the slow part — a few hundred KB/s of escape-heavy output on
one core — so it never holds up the output: bytes go out (and to the console) at once,
and the model digests them in slices while the event loop is otherwise idle, catching up
fully before each snapshot. Should a flood outrun it by more than `MODEL_BACKLOG_LIMIT`,
it drops the oldest bytes it has not read (`model_dropped` counts them): the screen is
redrawn soon enough by any full-screen program, and the log keeps every byte.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable

from tether.protocol.events import Event, TerminalOutput, TerminalResize, TerminalSnapshot
from tether.terminal.chunks import Utf8Cutter, chunk_payload
from tether.terminal.filter import MirrorFilter
from tether.terminal.screen import ScreenModel, clamp_size

Emit = Callable[[Event], None]

COALESCE_S = 0.012
MAX_CHUNK = 32 * 1024
QUIET_SNAPSHOT_S = 1.0
MIN_SNAPSHOT_GAP = 64 * 1024
MODEL_SLICE = 4 * 1024  # ~20 ms of pyte: the loop stays responsive during a flood
MODEL_BACKLOG_LIMIT = 8 * 1024 * 1024
MODEL_BACKLOG_KEEP = 1024 * 1024


class TerminalMirror:
    """The mirrored side of one PTY: events out, screen model kept."""

    def __init__(
        self,
        emit: Emit,
        cols: int,
        rows: int,
        *,
        answer: Callable[[str], None] | None = None,
    ) -> None:
        self._emit = emit
        self.model = ScreenModel(cols, rows, answer=answer)
        self.filter = MirrorFilter()
        self._cutter = Utf8Cutter()
        self._pending = bytearray()
        self._flush_timer: asyncio.TimerHandle | None = None
        self._quiet_timer: asyncio.TimerHandle | None = None
        self._since_snapshot = 0
        self._snapshot_gap = MIN_SNAPSHOT_GAP
        self.console: bool | None = None
        self.closed = False
        self._backlog: deque[bytes] = deque()
        self._backlog_size = 0
        self._digesting: asyncio.Handle | None = None
        self.model_dropped = 0
        self._snapshot_due = False

    def start(self, *, console: bool | None = None) -> None:
        """Announce the size and the (blank, or restored) screen."""
        self.console = console
        self._emit_resize(by=None)
        self.snapshot()

    def feed(self, raw: bytes) -> None:
        """Output of the program, exactly as read from the PTY."""
        if self.closed or not raw:
            return
        self._queue_for_model(raw)
        mirrored = self._cutter.cut(self.filter.feed(raw))
        self._pending += mirrored
        self._since_snapshot += len(raw)
        if len(self._pending) >= MAX_CHUNK:
            self.flush()
        elif self._pending and self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(COALESCE_S, self.flush)
        self._arm_quiet_snapshot()

    def flush(self) -> None:
        """Emit the output held back (one event), then a snapshot if one is due."""
        _cancel(self._flush_timer)
        self._flush_timer = None
        if self._pending:
            data, self._pending = bytes(self._pending), bytearray()
            self._emit(TerminalOutput(**chunk_payload(data)))
        if self._since_snapshot >= self._snapshot_gap and not self._snapshot_due:
            # Taken once the model has caught up (in _digest), never holding up the output.
            self._snapshot_due = True
            self._schedule_digest()

    def _queue_for_model(self, raw: bytes) -> None:
        self._backlog.append(raw)
        self._backlog_size += len(raw)
        while self._backlog_size > MODEL_BACKLOG_LIMIT and len(self._backlog) > 1:
            dropped = self._backlog.popleft()
            self._backlog_size -= len(dropped)
            self.model_dropped += len(dropped)
            if self._backlog_size <= MODEL_BACKLOG_KEEP:
                break
        self._schedule_digest()

    def _schedule_digest(self) -> None:
        if self._digesting is None:
            self._digesting = asyncio.get_running_loop().call_soon(self._digest)

    def _digest(self) -> None:
        """Feed the model one slice, and come back for the rest after other work."""
        self._digesting = None
        budget = MODEL_SLICE
        while self._backlog and budget > 0:
            piece = self._backlog.popleft()
            self._backlog_size -= len(piece)
            self.model.feed(piece)
            budget -= len(piece)
        if self._backlog:
            self._schedule_digest()
        elif self._snapshot_due and not self.closed:
            self.snapshot()

    def catch_up(self) -> None:
        """Feed the model everything written so far (before a snapshot or a resize)."""
        _cancel(self._digesting)
        self._digesting = None
        while self._backlog:
            self.model.feed(self._backlog.popleft())
        self._backlog_size = 0

    def resize(self, cols: int, rows: int, *, by: str | None, console: bool | None = None) -> bool:
        """The PTY got a new size (or the console came or went); False if nothing changed."""
        cols, rows = clamp_size(cols, rows)
        changed = (cols, rows) != (self.model.cols, self.model.rows)
        if console is not None and console != self.console:
            self.console = console
            changed = True
        if not changed:
            return False
        self.flush()
        self.catch_up()
        self.model.resize(cols, rows)
        self._emit_resize(by=by)
        self._since_snapshot += 1  # the program redraws after SIGWINCH: snapshot when quiet
        self._arm_quiet_snapshot()
        return True

    def snapshot(self) -> None:
        """Emit the whole screen now (after the output held back)."""
        if self._pending or self._flush_timer is not None:
            self._since_snapshot = 0  # flush() must not recurse into another snapshot
            self.flush()
        self.catch_up()
        payload = self.model.snapshot()
        self._emit(TerminalSnapshot.model_validate(payload))
        self._since_snapshot = 0
        self._snapshot_due = False
        self._snapshot_gap = max(MIN_SNAPSHOT_GAP, 4 * len(json.dumps(payload)))

    def close(self) -> None:
        """The program ended: emit what is held, and a last snapshot if the screen changed."""
        if self.closed:
            return
        self._pending += self._cutter.flush()
        _cancel(self._quiet_timer)
        if self._since_snapshot:
            self.snapshot()
        else:
            self.flush()
        self.closed = True

    def _arm_quiet_snapshot(self) -> None:
        _cancel(self._quiet_timer)
        self._quiet_timer = asyncio.get_running_loop().call_later(
            QUIET_SNAPSHOT_S, self._quiet_snapshot
        )

    def _quiet_snapshot(self) -> None:
        self._quiet_timer = None
        if self._since_snapshot and not self.closed:
            self.snapshot()

    def _emit_resize(self, *, by: str | None) -> None:
        event = TerminalResize(
            cols=self.model.cols, rows=self.model.rows, by=by, console=self.console
        )
        self._emit(event)


def _cancel(handle: asyncio.Handle | None) -> None:
    """Cancel a scheduled callback, if one is."""
    if handle is not None:
        handle.cancel()
