"""Normalized event kinds: parsing known kinds, refusing malformed ones."""

from __future__ import annotations

from typing import Any

import pytest

from tether.errors import ProtocolError
from tether.protocol import EVENT_KINDS, parse_event
from tether.protocol.events import (
    AgentMessage,
    Exited,
    PermissionDecision,
    PermissionRequest,
    TurnFinished,
    event_payload,
)

EXAMPLES: list[dict[str, Any]] = [
    {"kind": "status", "state": "idle", "agent": "demo"},
    {"kind": "user_message", "text": "hello", "by": "local"},
    {"kind": "agent_message", "text": "hi"},
    {"kind": "tool_call", "tool_use_id": "t1", "tool": "Bash", "input": {"command": "ls"}},
    {"kind": "tool_result", "tool_use_id": "t1", "output": "a\nb"},
    {"kind": "permission_request", "request_id": "p1", "tool": "Bash", "input": {}},
    {"kind": "permission_decision", "request_id": "p1", "behavior": "allow", "by": "local"},
    {"kind": "turn_finished", "status": "success", "result": "done", "cost": 0.01},
    {"kind": "output", "stream": "stderr", "text": "oops"},
    {"kind": "exited", "code": 0, "reason": "stopped"},
    {"kind": "error", "message": "broken", "code": "agent"},
    {"kind": "terminal_output", "text": "\x1b[1mok\x1b[0m\r\n"},
    {"kind": "terminal_resize", "cols": 120, "rows": 40, "by": "console", "console": True},
    {"kind": "terminal_snapshot", "cols": 80, "rows": 24, "ansi": "\x1b[H", "lines": ["$"]},
]


def test_every_kind_has_an_example() -> None:
    assert {e["kind"] for e in EXAMPLES} == EVENT_KINDS


@pytest.mark.parametrize("payload", EXAMPLES, ids=lambda p: p["kind"])
def test_known_kinds_parse_and_dump_back(payload: dict[str, Any]) -> None:
    event = parse_event(payload)
    assert event.kind == payload["kind"]
    dumped = event_payload(event)
    assert {k: dumped[k] for k in payload} == payload


def test_raw_and_extra_fields_are_kept() -> None:
    event = parse_event(
        {"kind": "agent_message", "text": "x", "raw": {"type": "assistant"}, "z": 1}
    )
    assert isinstance(event, AgentMessage)
    assert event.raw == {"type": "assistant"}
    assert event_payload(event)["z"] == 1


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({"kind": "agent_message"}, "agent_message.text"),
        ({"kind": "permission_request", "tool": "Bash"}, "request_id"),
        ({"kind": "permission_decision", "request_id": "p", "behavior": "maybe"}, "behavior"),
        ({"kind": "turn_finished", "status": "great"}, "status"),
        ({"kind": "output", "stream": "stdin", "text": "x"}, "stream"),
        ({"kind": "status", "state": "sleeping"}, "state"),
        ({"kind": "no_such_kind"}, "(root)"),
        ({"text": "no kind"}, "(root)"),
    ],
)
def test_malformed_events_say_where(payload: dict[str, Any], where: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_event(payload)
    assert "bad event payload" in str(info.value)
    assert where in str(info.value)


def test_typed_fields() -> None:
    assert isinstance(parse_event(EXAMPLES[5]), PermissionRequest)
    decision = parse_event(
        {"kind": "permission_decision", "request_id": "p", "behavior": "cancelled"}
    )
    assert isinstance(decision, PermissionDecision) and decision.behavior == "cancelled"
    finished = parse_event({"kind": "turn_finished", "status": "interrupted"})
    assert isinstance(finished, TurnFinished) and finished.result is None
    exited = parse_event({"kind": "exited", "code": None, "signal": 9})
    assert isinstance(exited, Exited) and exited.signal == 9
