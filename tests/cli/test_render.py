"""How attach prints events: a hostile agent's text can reach the terminal only as text."""

from __future__ import annotations

import io
import json
import re

from rich.console import Console

from tether.cli.render import event_json, render_event

ATTACK = (
    "\x1b]52;c;cm0gLXJmIH4K\x07"  # clipboard
    "\x1b[2J\x1b[H"  # clear screen, cursor home
    "\x1b]0;pwned\x1b\\"  # window title
    "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"  # hyperlink
    "\u009b2J\u009d0;t\u009c"  # C1 forms
    "[link=https://evil.example/]markup[/link] [bold]b[/bold]"
)
_ONLY_SGR = re.compile(r"\x1b\[[0-9;]*m")


def rendered(payload: dict[str, object]) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="truecolor", width=200)
    render_event(console, payload)
    return buffer.getvalue()


def assert_harmless(text: str) -> None:
    rest = _ONLY_SGR.sub("", text)
    assert "\x1b" not in rest, repr(rest)
    assert not re.search(r"[\x80-\x9f]", rest), repr(rest)


def test_every_event_kind_with_hostile_fields_prints_only_colours() -> None:
    for kind in (
        "agent_message",
        "user_message",
        "tool_call",
        "tool_result",
        "permission_request",
        "permission_decision",
        "output",
        "error",
        "status",
        "exited",
        "turn_finished",
        ATTACK,  # an unknown kind
    ):
        payload = {
            "kind": kind,
            "text": ATTACK,
            "by": ATTACK,
            "tool": ATTACK,
            "input": {"command": ATTACK},
            "output": ATTACK,
            "message": ATTACK,
            "state": ATTACK,
            "detail": ATTACK,
            "request_id": ATTACK,
            "behavior": ATTACK,
            "status": ATTACK,
            "reason": ATTACK,
            "code": ATTACK,
            "cost": ATTACK,  # not a number: must not crash the viewer either
        }
        assert_harmless(rendered(payload))


def test_markup_in_agent_text_is_printed_literally() -> None:
    text = rendered({"kind": "agent_message", "text": "[link=https://evil.example/]prod[/link]"})
    assert "[link=https://evil.example/]prod[/link]" in text
    assert "\x1b]8" not in text


def test_an_agents_own_colours_survive_in_output_events() -> None:
    text = rendered({"kind": "output", "stream": "stdout", "text": "\x1b[31mred\x1b[0m plain"})
    assert "\x1b[31m" in text and "red" in text


def test_a_disguised_permission_request_shows_its_invisible_characters() -> None:
    text = rendered(
        {
            "kind": "permission_request",
            "request_id": "r1",
            "tool": "Bash",
            "input": {"command": "echo hi \u202e~ fr- mr\u202c"},
        }
    )
    assert "<U+202E>" in text and "<U+202C>" in text
    assert "\u202e" not in text


def test_json_lines_escape_c1_and_bidi_and_still_parse_to_the_same_event() -> None:
    payload = {"kind": "agent_message", "text": "x\u009b2J\u202ey\x1b[2J"}
    line = event_json(3, 1.5, payload)
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\u202e]", line)
    assert json.loads(line) == {"seq": 3, "ts": 1.5, **payload}
