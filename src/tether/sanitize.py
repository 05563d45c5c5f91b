"""Text from elsewhere, made safe for a terminal: the one place that decides what may reach it.

Anything tether prints that another party wrote — agent text, tool output, team, session,
user and device names, errors from the hub — goes through one of these functions first:

    terminal_text(x)   control sequences and control characters removed; newline and tab kept
    terminal_name(x)   one line: also newlines, tabs, bidi and zero-width characters shown
                       as `<U+XXXX>` (names, ids, anything shown in a table cell)
    revealed(x)        terminal_text, with bidi and zero-width characters shown as `<U+XXXX>`
                       (permission requests: a command must look like what it does)
    with_colours(x)    an agent's own `output`: like terminal_text, but colour and emphasis
                       (SGR, `CSI <digits;…> m`) survive through an allow-list
    terminal_json(s)   a JSON document about to be printed: C1, DEL, bidi and zero-width
                       characters written as `\\uXXXX` escapes (the same JSON once parsed)

Why so strict: a terminal obeys what it is sent. OSC 52 writes the clipboard, OSC 0 sets
the window title, OSC 8 makes a hyperlink that says one thing and opens another, `ESC[2J`
clears the screen, cursor movement can paint over a line already shown, and a C1 byte
(U+0080–U+009F, e.g. U+009B, the 8-bit CSI) does the same as its ESC form on terminals that
honour 8-bit controls. Bidi controls reorder what a reader sees (`rm -rf ~` displayed as
something harmless). Nothing from outside may carry any of these.

The allow-list for colours admits parameters that only change how text looks — colours,
bold, dim, italic, underline, reverse, strike-through and their resets — never blink or
conceal (which could hide text), and no other sequence at all: the result can move no
cursor, clear nothing, set no title, touch no clipboard and link nowhere.
"""

from __future__ import annotations

import re

# Sequences, longest forms first. A string-type sequence (OSC, DCS, SOS, PM, APC) runs to
# its terminator — BEL or ST (ESC \ or its C1 form U+009C) — or, unterminated, to the end
# of the text: a terminal would swallow everything up to a terminator that comes later.
_SEQUENCE = re.compile(
    r"""
      (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]) .*? (?:\x07|\x1b\\|\x9c|\Z)   # string types
    | (?:\x1b\[|\x9b) [0-?]* [ -/]* [@-~]                                     # CSI
    | \x1b [ -/]* [0-~]                                                       # other ESC
    | \x1b                                                                    # a lone ESC
    """,
    re.VERBOSE | re.DOTALL,
)
_CSI_SGR = re.compile(r"\x1b\[([0-9;]*)m")
# C0 but tab and newline, DEL, C1.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidi controls, zero-width characters and line/paragraph separators: invisible, yet they
# change what a reader sees. Kept in step with web/static/js/dom.js `visible()`.
_INVISIBLE = re.compile(r"[\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]")
_LINE_BREAKS = re.compile(r"[\t\n]")
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]")

_SIMPLE_SGR = frozenset({0, 1, 2, 3, 4, 7, 9, 21, 22, 23, 24, 27, 29, 39, 49})
_SGR_COLOURS = (range(30, 38), range(40, 48), range(90, 98), range(100, 108))


def _codepoint(match: re.Match[str]) -> str:
    return f"<U+{ord(match.group()):04X}>"


def terminal_text(value: object) -> str:
    """`value` as text with every control sequence and control character removed, except
    newline and tab."""
    return _CONTROL.sub("", _SEQUENCE.sub("", str(value)))


def revealed(value: object) -> str:
    """terminal_text, with bidi controls and zero-width characters shown as `<U+202E>`."""
    return _INVISIBLE.sub(_codepoint, terminal_text(value))


def terminal_name(value: object) -> str:
    """A name or id on one line: revealed, and newlines and tabs shown as `<U+000A>` too."""
    return _LINE_BREAKS.sub(_codepoint, revealed(value))


def with_colours(value: object) -> str:
    """terminal_text, keeping the colour and emphasis (SGR) sequences of the allow-list."""
    text = str(value)
    kept: list[str] = []
    position = 0
    for match in _SEQUENCE.finditer(text):
        kept.append(_CONTROL.sub("", text[position : match.start()]))
        sgr = _CSI_SGR.fullmatch(match.group())
        if sgr is not None:
            params = _allowed_sgr(sgr.group(1))
            if params:
                kept.append(f"\x1b[{params}m")
        position = match.end()
    kept.append(_CONTROL.sub("", text[position:]))
    return "".join(kept)


def _allowed_sgr(params: str) -> str:
    """The allow-listed parameters of one SGR sequence, re-joined ('' when none is left)."""
    numbers = [int(p) if p else 0 for p in params.split(";")] if params else [0]
    kept: list[str] = []
    i = 0
    while i < len(numbers):
        n = numbers[i]
        if n in (38, 48) and i + 1 < len(numbers):
            width = {5: 1, 2: 3}.get(numbers[i + 1])
            channel = numbers[i + 2 : i + 2 + width] if width else []
            if width and len(channel) == width and all(c <= 255 for c in channel):
                kept.append(";".join(str(x) for x in numbers[i : i + 2 + width]))
                i += 2 + width
                continue
            break  # a malformed extended colour: what follows cannot be trusted
        if n in _SIMPLE_SGR or any(n in r for r in _SGR_COLOURS):
            kept.append(str(n))
        i += 1
    return ";".join(kept)


def terminal_json(json_text: str) -> str:
    """A JSON document with C1, DEL, bidi and zero-width characters escaped as `\\uXXXX`.

    Only for the output of `json.dumps` (C0 is escaped there already, and these characters
    can only occur inside strings), so parsing gives back exactly the same data."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json_text)
