"""The screen model of a terminal session (pyte): snapshots for late viewers, plain text.

Every byte the program writes is fed to a `pyte` screen, so at any moment the session
can say what its screen shows: `snapshot()` is a `terminal_snapshot` payload whose
`ansi` repaints that screen on a blank terminal (characters, colours, attributes,
cursor, the input modes that change what keys send), and whose `lines` are its plain
text. Lines that scroll off the top are kept (`scrollback`) for transcripts.

Headless sessions (a `terminal` team: no real terminal answers the program) let the model
answer the two questions programs wait for — device attributes and cursor position.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Literal, NotRequired, TypedDict

import pyte
from pyte import graphics, modes

from tether.protocol.events import MAX_TERMINAL_COLS, MAX_TERMINAL_ROWS

log = logging.getLogger("tether.terminal")

SCROLLBACK_LINES = 2000

# pyte's colour names → SGR numbers (its own tables, so its spelling is matched exactly).
_FG = {name: code for code, name in {**graphics.FG_ANSI, **graphics.FG_AIXTERM}.items()}
_BG = {name: code for code, name in {**graphics.BG_ANSI, **graphics.BG_AIXTERM}.items()}
_FLAGS = (("bold", 1), ("italics", 3), ("underscore", 4), ("blink", 5), ("reverse", 7))
_FLAGS_TAIL = (("strikethrough", 9),)

# Private modes worth restoring on a viewer's terminal, in the order they are set.
_PRIVATE_MODES = (1, 7, 1000, 1002, 1003, 1004, 1005, 1006, 1015, 2004)
_ALT_SCREENS = (1049, 1047, 47)


def clamp_size(cols: int, rows: int) -> tuple[int, int]:
    """A size the model (and the protocol) accepts."""
    return max(1, min(cols, MAX_TERMINAL_COLS)), max(1, min(rows, MAX_TERMINAL_ROWS))


class _Screen(pyte.Screen):
    """pyte's screen, keeping lines that scroll off the top and the window title."""

    def __init__(self, cols: int, rows: int, answer: Callable[[str], None] | None) -> None:
        super().__init__(cols, rows)
        self.scrollback: deque[str] = deque(maxlen=SCROLLBACK_LINES)
        self._answer = answer

    def index(self) -> None:
        """Line feed at the bottom: the top line scrolls into the scrollback."""
        top, bottom = self.margins or pyte.screens.Margins(0, self.lines - 1)
        if top == 0 and self.cursor.y == bottom:
            self.scrollback.append(_row_text(self.buffer[0], self.columns))
        super().index()

    def select_graphic_rendition(self, *attrs: int, **kwargs: Any) -> None:
        """SGR; `CSI ? … m` / `CSI > … m` (key-modifier settings, vim sends them) are not
        colours, and pyte would fail on them."""
        if not kwargs.get("private"):
            super().select_graphic_rendition(*attrs)

    def write_process_input(self, data: str) -> None:
        """pyte's answers to queries: passed on only when this model is the terminal."""
        if self._answer is not None:
            self._answer(data)


def _row_text(row: Any, cols: int) -> str:
    return "".join(row[x].data for x in range(cols)).rstrip()


def _sgr(char: Any) -> str:
    codes = ["0"]
    for name, code in _FLAGS:
        if getattr(char, name):
            codes.append(str(code))
    for name, code in _FLAGS_TAIL:
        if getattr(char, name):
            codes.append(str(code))
    codes += _colour(char.fg, _FG, 38)
    codes += _colour(char.bg, _BG, 48)
    return "\x1b[" + ";".join(codes) + "m"


def _colour(value: str, table: dict[str, int], extended: int) -> list[str]:
    if value == "default":
        return []
    if value in table:
        return [str(table[value])]
    if len(value) == 6:
        try:
            r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
        except ValueError:
            return []
        return [str(extended), "2", str(r), str(g), str(b)]
    return []


class Cursor(TypedDict):
    """Where the cursor is on a snapshot's screen."""

    x: int
    y: int
    visible: bool


class SnapshotPayload(TypedDict):
    """A `terminal_snapshot` event's payload (tether.protocol.events.TerminalSnapshot)."""

    kind: Literal["terminal_snapshot"]
    cols: int
    rows: int
    ansi: str
    lines: list[str]
    cursor: Cursor
    title: NotRequired[str]


class ScreenModel:
    """What the screen of one terminal session shows."""

    def __init__(
        self, cols: int = 80, rows: int = 24, *, answer: Callable[[str], None] | None = None
    ) -> None:
        cols, rows = clamp_size(cols, rows)
        self._screen = _Screen(cols, rows, answer)
        self._stream = pyte.ByteStream(self._screen)

    @property
    def cols(self) -> int:
        """Width in columns."""
        return int(self._screen.columns)

    @property
    def rows(self) -> int:
        """Height in rows."""
        return int(self._screen.lines)

    def feed(self, data: bytes) -> None:
        """Apply output of the program. A sequence pyte cannot handle costs only that
        sequence: the parser is started again, the screen kept (a hostile program must not
        stop the model)."""
        try:
            self._stream.feed(data)
        except Exception:
            log.warning(
                "the screen model could not apply some output; it carries on", exc_info=True
            )
            self._stream = pyte.ByteStream(self._screen)

    def resize(self, cols: int, rows: int) -> None:
        """The terminal changed size."""
        cols, rows = clamp_size(cols, rows)
        self._screen.resize(lines=rows, columns=cols)

    def lines(self) -> list[str]:
        """The screen's text, one string per row (trailing spaces removed)."""
        return [_row_text(self._screen.buffer[y], self.cols) for y in range(self.rows)]

    def text(self) -> str:
        """The screen's text, trailing blank rows removed."""
        return "\n".join(self.lines()).rstrip("\n")

    def transcript(self) -> str:
        """Scrollback then the screen, as plain text."""
        return "\n".join([*self._screen.scrollback, *self.lines()]).rstrip("\n")

    def snapshot(self) -> SnapshotPayload:
        """A `terminal_snapshot` event payload of the screen as it is now."""
        screen = self._screen
        cursor: Cursor = {
            "x": screen.cursor.x,
            "y": screen.cursor.y,
            "visible": not screen.cursor.hidden,
        }
        payload: SnapshotPayload = {
            "kind": "terminal_snapshot",
            "cols": self.cols,
            "rows": self.rows,
            "ansi": self.repaint(),
            "lines": self.lines(),
            "cursor": cursor,
        }
        if screen.title:
            payload["title"] = screen.title
        return payload

    def repaint(self) -> str:
        """ANSI that draws this screen on a blank terminal of the same size."""
        screen = self._screen
        out = ["\x1b[0m"]
        private = {mode >> 5 for mode in screen.mode if mode & 31 == 0 and mode >> 5}
        alt = next((m for m in _ALT_SCREENS if m in private), None)
        if alt is not None:
            out.append(f"\x1b[?{alt}h")
        out.append("\x1b[H\x1b[2J")
        for y in range(self.rows):
            out.append(f"\x1b[{y + 1};1H")
            out.append(self._row_ansi(screen.buffer[y]))
        out.append("\x1b[0m")
        for mode in _PRIVATE_MODES:
            if mode in private:
                out.append(f"\x1b[?{mode}h")
        if modes.DECAWM not in screen.mode:
            out.append("\x1b[?7l")
        if screen.margins is not None:
            out.append(f"\x1b[{screen.margins.top + 1};{screen.margins.bottom + 1}r")
        out.append(f"\x1b[{screen.cursor.y + 1};{screen.cursor.x + 1}H")
        out.append(_sgr(screen.cursor.attrs))
        out.append("\x1b[?25l" if screen.cursor.hidden else "\x1b[?25h")
        return "".join(out)

    def _row_ansi(self, row: Any) -> str:
        parts: list[str] = []
        style = None
        last = self.cols
        # Stop at the last cell that is not a plain default space (the row is clear after).
        while last > 0 and row[last - 1] == self._screen.default_char:
            last -= 1
        for x in range(last):
            char = row[x]
            if char.data == "":  # the right half of a wide character
                continue
            sgr = _sgr(char)
            if sgr != style:
                parts.append(sgr)
                style = sgr
            parts.append(char.data)
        return "".join(parts)
