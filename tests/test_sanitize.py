"""The terminal sanitizer, attacked with what a hostile agent or runner would send."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tether.sanitize import revealed, terminal_json, terminal_name, terminal_text, with_colours

OSC52 = "\x1b]52;c;cm0gLXJmIH4K\x07"  # clipboard := "rm -rf ~"
CLEAR = "\x1b[2J\x1b[H"
TITLE = "\x1b]0;you have been pwned\x1b\\"
LINK = "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"
C1_CSI = "\u009b2J"
C1_OSC = "\u009d0;title\u009c"
HOSTILE = f"a{OSC52}b{CLEAR}c{TITLE}d{LINK}e{C1_CSI}f{C1_OSC}g"

# What may remain: tab, newline and printable text; in with_colours also SGR sequences.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def test_every_hostile_sequence_is_removed_and_the_text_kept() -> None:
    assert terminal_text(HOSTILE) == "abcdclickefg"


def test_newline_and_tab_stay_carriage_return_and_backspace_go() -> None:
    # \r and \b would let an agent paint over what a line seems to say.
    assert terminal_text("ls\rrm -rf ~\b\b\tx\ny") == "lsrm -rf ~\tx\ny"


def test_unterminated_osc_swallows_the_rest_not_the_terminal() -> None:
    assert terminal_text("before\x1b]52;c;AAAA") == "before"


def test_other_escape_sequences_go_too() -> None:
    # RIS (full reset), save/restore cursor, charset switch, reverse index, a lone ESC.
    assert terminal_text("\x1bc1\x1b72\x1b83\x1b(04\x1bM5\x1b") == "12345"


def test_colours_survive_in_agent_output_but_nothing_else_does() -> None:
    text = f"\x1b[31mred\x1b[0m {HOSTILE} \x1b[1;38;5;208mbold orange\x1b[m"
    assert with_colours(text) == (
        "\x1b[31mred\x1b[0m abcdclickefg \x1b[1;38;5;208mbold orange\x1b[0m"
    )


@pytest.mark.parametrize(
    ("sequence", "kept"),
    [
        ("\x1b[5m", ""),  # blink
        ("\x1b[8m", ""),  # conceal: would hide text
        ("\x1b[1;8;32m", "\x1b[1;32m"),
        ("\x1b[38;2;1;2;3m", "\x1b[38;2;1;2;3m"),
        ("\x1b[38;2;1;2;999m", ""),  # out of range: not a colour
        ("\x1b[38;5m", ""),
        ("\x1b[?25l", ""),  # hide the cursor: a CSI, but not SGR
        ("\x1b[6n", ""),  # device status report: would make the terminal *type* an answer
        ("\u009b31m", ""),  # 8-bit CSI, even for SGR
    ],
)
def test_the_sgr_allow_list(sequence: str, kept: str) -> None:
    assert with_colours(f"x{sequence}y") == f"x{kept}y"


def test_invisible_characters_are_shown_in_requests_and_names() -> None:
    disguised = "echo hi \u202e~ fr- mr\u202c\u200b"
    assert revealed(disguised) == "echo hi <U+202E>~ fr- mr<U+202C><U+200B>"
    assert terminal_name("prod\u2066\nx\t\x1b[31m") == "prod<U+2066><U+000A>x<U+0009>"
    assert revealed("two\nlines") == "two\nlines"


def test_markup_is_just_text_here() -> None:
    # Rich markup is neutralised where text is printed (Text, never markup strings); the
    # sanitizer leaves brackets alone so the name reads as written.
    assert terminal_name("[link=https://evil.example/]prod[/link]") == (
        "[link=https://evil.example/]prod[/link]"
    )


def test_json_output_escapes_what_a_terminal_would_obey_and_parses_the_same() -> None:
    data = {"text": f"x{C1_CSI}\u202e\x7f\u2028y", "ok": True}
    text = terminal_json(json.dumps(data, ensure_ascii=False))
    assert json.loads(text) == data
    assert not _FORBIDDEN.search(text) and "\u202e" not in text


@given(st.text())
def test_terminal_text_never_contains_a_control(text: str) -> None:
    assert not _FORBIDDEN.search(terminal_text(text))


@given(st.text(alphabet=st.sampled_from("\x1b\x9b\x9d\x07\x9c[]\\;0123456789mJ8P_^X ab\n")))
def test_dense_escape_soup_never_gets_through(text: str) -> None:
    for clean in (terminal_text(text), terminal_name(text), revealed(text)):
        assert not _FORBIDDEN.search(clean)
    coloured = with_colours(text)
    assert not _FORBIDDEN.search(_SGR.sub("", coloured))
    assert terminal_text(coloured) == terminal_text(text)


@given(st.text())
def test_with_colours_leaves_only_sgr(text: str) -> None:
    assert not _FORBIDDEN.search(_SGR.sub("", with_colours(text)))


@given(st.text())
def test_names_are_one_line_and_show_every_invisible(text: str) -> None:
    name = terminal_name(text)
    assert "\n" not in name and "\t" not in name
    assert not re.search(r"[\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]", name)


@given(st.text())
def test_sanitizing_twice_changes_nothing(text: str) -> None:
    once = terminal_text(text)
    assert terminal_text(once) == once
    coloured = with_colours(text)
    assert with_colours(coloured) == coloured


@given(st.recursive(st.text() | st.integers() | st.booleans(), st.lists, max_leaves=10))
def test_terminal_json_is_the_same_json(value: object) -> None:
    text = terminal_json(json.dumps(value, ensure_ascii=False))
    assert json.loads(text) == value
    assert not _FORBIDDEN.search(text)
