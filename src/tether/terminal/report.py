"""A terminal session's events as text a person or a model reads: what its screen shows.

`terminal_output` bytes mean nothing as lines, so a report replays them: from the latest
`terminal_snapshot` among the events (its repaint), through the output after it, into a
screen model, and shows that screen's text — plus the session's other events (messages
typed with `tether send`, permission requests, the exit) as transcript lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tether.terminal.chunks import chunk_bytes
from tether.terminal.screen import ScreenModel

if TYPE_CHECKING:
    from tether.protocol.api_shapes import StoredEvent

TERMINAL_KINDS = frozenset({"terminal_output", "terminal_resize", "terminal_snapshot"})


def screen_text(events: list[StoredEvent]) -> str | None:
    """The screen the events leave (stored events: `{"seq", "payload"}`), or None."""
    payloads = [e["payload"] for e in events]
    snapshots = [i for i, p in enumerate(payloads) if p.get("kind") == "terminal_snapshot"]
    if not snapshots:
        return None
    first = payloads[snapshots[-1]]
    model = ScreenModel(int(first.get("cols", 80)), int(first.get("rows", 24)))
    model.feed(str(first.get("ansi", "")).encode())
    for payload in payloads[snapshots[-1] + 1 :]:
        if payload.get("kind") == "terminal_output":
            model.feed(chunk_bytes(payload))
        elif payload.get("kind") == "terminal_resize":
            model.resize(int(payload.get("cols", model.cols)), int(payload.get("rows", model.rows)))
    return model.text()


def terminal_transcript(
    events: Iterable[StoredEvent], line: Callable[[int, Mapping[str, Any]], str]
) -> str:
    """Transcript lines (`line(seq, payload)`) for the events that are not screen bytes,
    then the screen as they leave it."""
    stored = list(events)
    lines = [
        line(int(e["seq"]), e["payload"])
        for e in stored
        if e["payload"].get("kind") not in TERMINAL_KINDS
    ]
    screen = screen_text(stored)
    if screen is not None:
        last = stored[-1]["seq"] if stored else 0
        lines += [f"[{last}] the terminal's screen:", screen]
    return "\n".join(lines)
