"""Lines a command prints that arrive together become one `output` event.

A program writing to a pipe is usually block-buffered: one read of the pipe brings
hundreds of lines at once. One event per line would cost a seq, a frame, a store row
and a viewer frame each; one event per run of lines costs that once. The rule:

* lines read in the same turn of the event loop (they were already in the pipe's
  buffer, so nothing was waiting between them) are joined with `\\n` into one event;
* a change of stream (stdout ↔ stderr) starts a new event, so the print order across
  the two streams is kept as it was read;
* an event stops growing at `max_chars` characters (a line longer than that is an
  event of its own), so a joined event never comes near the frame limit, where the
  runner would have to truncate it.

No timer is involved: a line is never held back waiting for more; the batch closes as
soon as the reader has to wait for the pipe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tether.transports.base import Stream

DEFAULT_MAX_CHARS = 64 * 1024


class LineBatcher:
    """Collects the lines of one loop turn and hands them on as one text per stream run."""

    def __init__(
        self, emit: Callable[[Stream, str], None], max_chars: int = DEFAULT_MAX_CHARS
    ) -> None:
        self._emit = emit
        self.max_chars = max_chars
        self._stream: Stream = "stdout"
        self._lines: list[str] = []
        self._chars = 0
        self._scheduled = False

    def add(self, stream: Stream, line: str) -> None:
        """One line (without its newline) read from `stream`."""
        if self._lines and (stream != self._stream or self._chars + len(line) > self.max_chars):
            self.flush()
        self._stream = stream
        self._lines.append(line)
        self._chars += len(line) + 1
        if not self._scheduled:
            # Runs once the reader has had to wait: what arrived together goes together.
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_later)

    def flush(self) -> None:
        """Hand on what is collected now (before a turn's end or the command's exit)."""
        if not self._lines:
            return
        text = "\n".join(self._lines)
        self._lines = []
        self._chars = 0
        self._emit(self._stream, text)

    def _flush_later(self) -> None:
        self._scheduled = False
        self.flush()
