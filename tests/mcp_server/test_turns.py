"""Reading a turn's reply and a transcript out of event payloads (pure, no hub)."""

from __future__ import annotations

from typing import Any

from tether.mcp.turns import TurnReader, transcript, transcript_line


def events(*payloads: dict[str, Any], start: int = 1) -> list[dict[str, Any]]:
    return [{"seq": start + i, "ts": 0.0, "payload": p} for i, p in enumerate(payloads)]


def test_reply_is_the_turn_result_else_the_agent_messages() -> None:
    with_result = events(
        {"kind": "user_message", "text": "hi"},
        {"kind": "agent_message", "text": "Hello!\n(more)"},
        {"kind": "turn_finished", "status": "success", "result": "Hello!"},
    )
    outcome = TurnReader().feed(with_result)
    assert outcome is not None and (outcome.status, outcome.reply, outcome.last_seq) == (
        "success",
        "Hello!",
        3,
    )

    without = events(
        {"kind": "user_message", "text": "hi"},
        {"kind": "agent_message", "text": "one"},
        {"kind": "agent_message", "text": "two"},
        {"kind": "turn_finished", "status": "success"},
    )
    outcome = TurnReader().feed(without)
    assert outcome is not None and outcome.reply == "one\ntwo"


def test_a_late_end_of_an_earlier_turn_is_not_the_reply() -> None:
    reader = TurnReader()
    assert (
        reader.feed(
            events(
                {"kind": "turn_finished", "status": "success", "result": "old"},
                {"kind": "user_message", "text": "new"},
            )
        )
        is None
    )
    outcome = reader.feed(events({"kind": "turn_finished", "status": "interrupted"}, start=3))
    assert outcome is not None and outcome.status == "interrupted" and outcome.reply == ""


def test_pending_permissions_and_exit() -> None:
    reader = TurnReader()
    reader.feed(
        events(
            {"kind": "user_message", "text": "run x"},
            {"kind": "permission_request", "request_id": "p1", "tool": "Bash"},
        )
    )
    assert list(reader.pending) == ["p1"]
    outcome = reader.feed(
        events(
            {"kind": "permission_decision", "request_id": "p1", "behavior": "deny"},
            {"kind": "exited", "code": 3},
            start=3,
        )
    )
    assert reader.pending == {}
    assert outcome is not None and outcome.status == "exited" and "exit code 3" in outcome.reply


def test_transcript_lines() -> None:
    text = transcript(
        events(
            {"kind": "user_message", "text": "hi", "by": "local"},
            {"kind": "tool_call", "tool": "Bash", "tool_use_id": "t", "input": {"command": "ls"}},
            {"kind": "turn_finished", "status": "success", "result": "ok"},
        )
    )
    assert text.splitlines() == [
        "[1] user (from local): hi",
        '[2] tool call Bash: {"command":"ls"}',
        "[3] turn finished: success — ok",
    ]
    long_line = transcript_line(9, {"kind": "agent_message", "text": "x" * 5000})
    assert long_line.endswith("[3000 more characters]")
    assert transcript_line(4, {"kind": "something_new"}) == "[4] something_new"


def test_a_turn_end_says_what_it_cost() -> None:
    paid = {"kind": "turn_finished", "status": "success", "result": "ok", "cost": 0.14012}
    assert transcript_line(9, paid) == "[9] turn finished: success ($0.1401) — ok"
    free = {"kind": "turn_finished", "status": "error", "cost": 0}
    assert transcript_line(10, free) == "[10] turn finished: error"
    asked = {"kind": "user_message", "text": "hi", "by": "alice"}
    assert transcript_line(1, asked) == "[1] user (from alice): hi"
