"""The screen model: a snapshot repaints exactly the screen it was taken of."""

from __future__ import annotations

import asyncio
from typing import Any

import pyte
from hypothesis import given, settings
from hypothesis import strategies as st

from tether.protocol.events import event_payload
from tether.terminal.chunks import Utf8Cutter, chunk_bytes, chunk_payload
from tether.terminal.mirror import TerminalMirror
from tether.terminal.screen import ScreenModel

TUI = (
    "\x1b[?1049h\x1b[H\x1b[2J\x1b[1;44;97m top - 10:00:01 up 1 day \x1b[0m\r\n"
    "\x1b[3;1H\x1b[7m  PID USER      %CPU COMMAND \x1b[27m\r\n"
    "\x1b[4;1H\x1b[38;5;196m    1 root       0.3 init\x1b[0m\r\n"
    "\x1b[5;1H\x1b[38;2;10;200;30m   42 alice     99.9 日本語 🙂\x1b[0m\r\n"
    "\x1b[24;1H\x1b[4mq\x1b[24mquit\x1b[?25l\x1b[?1h\x1b[?2004h"
)


def cells(screen: pyte.Screen) -> list[list[Any]]:
    return [[screen.buffer[y][x] for x in range(screen.columns)] for y in range(screen.lines)]


def test_a_repaint_draws_the_same_cells_cursor_and_modes() -> None:
    model = ScreenModel(60, 24)
    model.feed(TUI.encode())
    viewer = pyte.Screen(60, 24)
    pyte.ByteStream(viewer).feed(model.repaint().encode())
    original = model._screen
    assert cells(viewer) == cells(original)
    assert (viewer.cursor.x, viewer.cursor.y) == (original.cursor.x, original.cursor.y)
    assert viewer.cursor.hidden
    assert {1 << 5, 2004 << 5} <= viewer.mode  # application cursor keys, bracketed paste


def test_snapshot_has_the_plain_text_and_scrollback_keeps_what_scrolled_off() -> None:
    model = ScreenModel(20, 3)
    model.feed(b"one\r\ntwo\r\nthree\r\nfour")
    assert model.snapshot()["lines"] == ["two", "three", "four"]
    assert model.transcript() == "one\ntwo\nthree\nfour"


def test_the_model_answers_queries_only_when_it_is_the_terminal() -> None:
    answers: list[str] = []
    ScreenModel(10, 5, answer=answers.append).feed(b"ab\x1b[6n\x1b[c")
    assert answers == ["\x1b[1;3R", "\x1b[?6c"]
    ScreenModel(10, 5).feed(b"\x1b[6n")  # no answer callback: silent


def test_sequences_pyte_chokes_on_do_not_stop_the_model() -> None:
    model = ScreenModel(20, 3)
    model.feed(b"\x1b[?4m\x1b[>4;2mstill\x1b[?1;2;3;4;5;6;7;8;9;10mhere")
    model.feed(b" and on")
    assert model.lines()[0] == "stillhere and on"


def test_a_hostile_program_cannot_make_the_model_huge() -> None:
    model = ScreenModel(80, 24)
    model.resize(10**9, 2**63)
    assert (model.cols, model.rows) == (1000, 500)


@given(st.binary(max_size=40))
def test_chunks_round_trip_any_bytes(data: bytes) -> None:
    assert chunk_bytes(chunk_payload(data)) == data


@given(st.text(max_size=50), st.integers(min_value=1, max_value=5))
def test_cutting_at_character_boundaries_keeps_text_as_text(text: str, step: int) -> None:
    data = text.encode()
    cutter = Utf8Cutter()
    pieces = [cutter.cut(data[i : i + step]) for i in range(0, len(data), step)]
    assert all("text" in chunk_payload(p) for p in pieces)
    assert b"".join(pieces) + cutter.flush() == data


PIECES = st.sampled_from(
    [
        "hello ",
        "wörld ",
        "日本",
        "\r\n",
        "\r",
        "\x1b[2J",
        "\x1b[H",
        "\x1b[5;7H",
        "\x1b[K",
        "\x1b[31m",
        "\x1b[0m",
        "\x1b[1;44m",
        "\x1b[A",
        "\x1b[3C",
        "\t",
        "\x08",
        "\x1b]52;c;eA==\x07",
        "\x1b]0;t\x07",
        "\x1b[6n",
        "\x1bP$q\x1b\\",
        "\x05",
    ]
)


@settings(deadline=None, max_examples=40)
@given(st.lists(PIECES, max_size=60), st.integers(min_value=1, max_value=9))
def test_the_latest_snapshot_and_the_output_after_it_draw_the_screen(
    pieces: list[str], step: int
) -> None:
    """What a late viewer gets — the latest snapshot, then the output events after it —
    draws the screen the model holds, however the program's writes were cut."""
    data = "".join(pieces).encode()

    async def run() -> None:
        events: list[dict[str, Any]] = []
        mirror = TerminalMirror(lambda e: events.append(event_payload(e)), 30, 8)
        mirror.start()
        half = len(data) // 2
        for i in range(0, half, step):
            mirror.feed(data[i : min(i + step, half)])
        mirror.snapshot()
        for i in range(half, len(data), step):
            mirror.feed(data[i : i + step])
            await asyncio.sleep(0)
        mirror.close()
        latest = max(i for i, e in enumerate(events) if e["kind"] == "terminal_snapshot")
        viewer = pyte.Screen(30, 8)
        stream = pyte.ByteStream(viewer)
        stream.feed(events[latest]["ansi"].encode())
        for event in events[latest + 1 :]:
            if event["kind"] == "terminal_output":
                stream.feed(chunk_bytes(event))
        assert [line.rstrip() for line in viewer.display] == mirror.model.lines()
        mirrored = b"".join(chunk_bytes(e) for e in events if e["kind"] == "terminal_output")
        assert b"\x1b]52" not in mirrored and b"\x1b[6n" not in mirrored

    asyncio.run(run())


def test_a_report_shows_the_screen_the_events_leave() -> None:
    from tether.mcp.turns import transcript

    async def events() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        mirror = TerminalMirror(lambda e: out.append(event_payload(e)), 30, 5)
        mirror.start()
        mirror.feed(b"$ make\r\n\x1b[32mok\x1b[0m 12 tests\r\n$ ")
        mirror.close()
        return out

    payloads = asyncio.run(events())
    payloads.insert(2, {"kind": "user_message", "text": "make", "by": "alice"})
    report = transcript({"seq": i + 1, "payload": p} for i, p in enumerate(payloads))
    assert "user (from alice): make" in report
    assert report.endswith("the terminal's screen:\n$ make\nok 12 tests\n$")
    assert "terminal_output" not in report


def test_a_flood_never_waits_for_the_model_and_loses_no_output() -> None:
    from tether.terminal import mirror as mirror_module

    async def run() -> None:
        events: list[dict[str, Any]] = []
        mirror = TerminalMirror(lambda e: events.append(event_payload(e)), 40, 10)
        mirror.start()
        line = b"x" * 1023 + b"\n"
        flood = mirror_module.MODEL_BACKLOG_LIMIT // len(line) + 64
        for _ in range(flood):  # faster than the model could ever digest, in one go
            mirror.feed(line)
        assert mirror.model_dropped > 0  # the model skipped ahead …
        mirror.feed(b"\x1b[2J\x1b[Hafter the flood")
        mirror.close()
        sent = b"".join(chunk_bytes(e) for e in events if e["kind"] == "terminal_output")
        assert sent.count(line) == flood  # … but every byte went out
        assert mirror.model.lines()[0] == "after the flood"

    asyncio.run(run())
