"""The mirror filter, attacked: what a hostile program writes never reaches a viewer's
terminal as clipboard writes, links, titles or questions it would answer by typing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tether.terminal.filter import MirrorFilter, filter_once

HOSTILE = [
    (b"\x1b]52;c;cm0gLXJmIH4=\x07", "osc52"),  # clipboard write, BEL-terminated
    (b"\x1b]52;c;?\x1b\\", "osc52"),  # clipboard read, ST-terminated
    (b"\xc2\x9d52;c;cm0=\x07", "osc52"),  # the 8-bit C1 OSC (U+009D) form
    (b"\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\", "osc8"),
    (b"\x1b]0;$(rm -rf ~)\x07", "osc0"),
    (b"\x1b]2;title\x07", "osc2"),
    (b"\x1b]1337;File=name=eA==:eA==\x07", "osc1337"),
    (b"\x1b]777;notify;x;y\x07", "osc777"),
    (b"\x1b[c", "csi:c"),
    (b"\x1b[>0c", "csi:c"),
    (b"\x1b[6n", "csi:n"),
    (b"\xc2\x9b6n", "csi:n"),
    (b"\x1b[21t", "csi:t"),
    (b"\x1b[8;100;300t", "csi:t"),
    (b"\x1b[?2004$p", "csi:p"),
    (b"\x1b[>q", "csi:q"),
    (b"\x1b[?u", "csi:u"),
    (b"\x1bP$qm\x1b\\", "dcs"),
    (b"\x1bP+q544e\x1b\\", "dcs"),
    (b"\x1bPtmux;\x1b\x1b]52;c;eA==\x07\x1b\\", "dcs"),
    (b"\x1b_Gf=100;AAAA\x1b\\", "apc"),
    (b"\x05", "enq"),
    (b"\x1bZ", "esc:Z"),
]


@pytest.mark.parametrize(("attack", "name"), HOSTILE)
def test_hostile_sequences_are_dropped_whole(attack: bytes, name: str) -> None:
    f = MirrorFilter()
    out = f.feed(b"before" + attack + b"after")
    assert b"\x1b]" not in out and b"\x9d" not in out and b"\x1bP" not in out
    assert out.replace(b"click", b"") == b"beforeafter"
    assert f.dropped[name] >= 1


@pytest.mark.parametrize(("attack", "_name"), HOSTILE)
def test_a_sequence_cut_into_single_bytes_is_still_caught(attack: bytes, _name: str) -> None:
    f = MirrorFilter()
    data = b"x" + attack + b"y"
    out = b"".join(f.feed(data[i : i + 1]) for i in range(len(data)))
    assert out == filter_once(data)
    assert out.replace(b"click", b"") == b"xy"


def test_what_a_tui_needs_passes_byte_for_byte() -> None:
    screen = (
        "\x1b[?1049h\x1b[?1h\x1b=\x1b[H\x1b[2J\x1b[1;31mred\x1b[0m \x1b[38;2;1;2;3mrgb"
        "\x1b[48;5;200m256\x1b[m\x1b[10;20H\x1b[?25l\x1b[2 q\x1b(B\x1b)0\x1b#8\x1b7\x1b8"
        "\x1b[3;20r\x1b[?1000h\x1b[?1006h\x1b[?2004h\x1b[>4;1m\x1b]11;rgb:00/00/00\x07"
        "\x1b]4;1;#ff0000\x1b\\\x1b]104\x07héllo 日本 🙂\r\n\x07\x08\t"
    ).encode()
    assert filter_once(screen) == screen


def test_a_colour_query_is_dropped_but_a_colour_set_is_kept() -> None:
    assert filter_once(b"\x1b]11;?\x07\x1b]10;rgb:ff/ff/ff\x07") == b"\x1b]10;rgb:ff/ff/ff\x07"


def test_bytes_that_are_not_utf8_pass_unchanged() -> None:
    latin1 = "café naïve".encode("latin-1") + b"\xff\xfe"
    assert filter_once(latin1) == latin1


def test_an_endless_osc_cannot_make_the_filter_keep_everything() -> None:
    f = MirrorFilter()
    for _ in range(200):
        assert f.feed(b"\x1b]52;c;" + b"A" * 100_000) == b""
    assert len(f._seq) < 20_000  # bounded, whatever comes
    assert f.feed(b"\x07visible") == b"visible"


def test_enq_inside_an_escape_is_still_dropped() -> None:
    assert filter_once(b"\x1b\x05[1m\x1b(\x05B") == b"\x1b[1m\x1b(B"


def test_cancel_and_a_new_escape_end_a_string() -> None:
    assert filter_once(b"\x1b]52;c;AAAA\x18ok") == b"\x18ok"
    assert filter_once(b"\x1b]0;title\x1b[1mbold") == b"\x1b[1mbold"


@given(st.binary(max_size=300), st.integers(min_value=1, max_value=7))
def test_any_split_gives_the_same_output(data: bytes, step: int) -> None:
    f = MirrorFilter()
    pieces = b"".join(f.feed(data[i : i + step]) for i in range(0, len(data), step))
    assert pieces == filter_once(data)


@given(st.text(alphabet=st.characters(blacklist_characters="\x1b\x05", max_codepoint=0x7F)))
def test_text_without_escapes_is_untouched(text: str) -> None:
    assert filter_once(text.encode()) == text.encode()


@given(st.binary(max_size=400))
def test_nothing_dangerous_survives_random_bytes(data: bytes) -> None:
    out = MirrorFilter().feed(data).decode("utf-8", "surrogateescape")
    for danger in ("\x1b]52", "\x1b]8;", "\x1b]0;", "\x1b[6n", "\x1bP", "\x9d", "\x9b", "\x05"):
        assert danger not in out
