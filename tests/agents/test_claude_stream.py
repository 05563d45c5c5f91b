"""Claude Code's stream-json mapped to events, as data: messages in the shapes the real CLI
(2.1.328) prints, trimmed to the fields that matter; no process, no event loop."""

from __future__ import annotations

from typing import Any

from tether.agents.claude_stream import ClaudeStream
from tether.protocol.events import (
    AgentMessage,
    ErrorEvent,
    PermissionDecision,
    PermissionRequest,
    Status,
    ToolCall,
    ToolResult,
    TurnFinished,
)

SESSION = "47cb1875-cded-446b-9919-956372b4deb8"

INIT = {
    "type": "system",
    "subtype": "init",
    "cwd": "/work/proj",
    "session_id": SESSION,
    "tools": ["Bash", "Edit", "Read"],
    "model": "claude-sonnet-4-5",
    "permissionMode": "default",
    "claude_code_version": "2.1.328",
}
EDIT_CALL = {
    "type": "assistant",
    "message": {
        "id": "msg_0002",
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Changing the return value."},
            {
                "type": "tool_use",
                "id": "toolu_2dbe",
                "name": "Edit",
                "input": {
                    "replace_all": False,
                    "file_path": "/work/proj/a.py",
                    "old_string": "return 1",
                    "new_string": "return 2",
                },
            },
        ],
        "usage": {"input_tokens": 23319, "output_tokens": 1},
    },
    "parent_tool_use_id": None,
    "session_id": SESSION,
}
ASK_EDIT = {
    "type": "control_request",
    "request_id": "e30f78be-c46e",
    "request": {
        "subtype": "can_use_tool",
        "tool_name": "Edit",
        "display_name": "Edit",
        "input": {
            "file_path": "/work/proj/a.py",
            "old_string": "return 1",
            "new_string": "return 2",
        },
        "description": "a.py",
        "permission_suggestions": [{"type": "setMode", "mode": "acceptEdits"}],
        "tool_use_id": "toolu_2dbe",
    },
}
EDIT_RESULT = {
    "type": "user",
    "message": {
        "role": "user",
        "content": [
            {
                "tool_use_id": "toolu_2dbe",
                "type": "tool_result",
                "content": "The file /work/proj/a.py has been updated successfully.",
            }
        ],
    },
    "tool_use_result": {
        "filePath": "/work/proj/a.py",
        "structuredPatch": [
            {"oldStart": 1, "lines": [" def f():", "-    return 1", "+    return 2"]}
        ],
    },
    "session_id": SESSION,
}


def result(**fields: Any) -> dict[str, Any]:
    """A `result` message; by default the real CLI's end of a successful first turn."""
    message: dict[str, Any] = {
        "type": "result",
        "subtype": "success",
        "is_error": False,
        "result": "two",
        "session_id": SESSION,
        "terminal_reason": "completed",
        "total_cost_usd": 0.20978,
        "usage": {
            "input_tokens": 46698,
            "cache_creation_input_tokens": 120,
            "cache_read_input_tokens": 3000,
            "output_tokens": 2,
            "output_tokens_details": {"thinking_tokens": 0},
            "service_tier": "standard",
        },
        "model_usage_since_last_result": {"claude-sonnet-4-5": {"costUSD": 0.140124}},
    }
    message.update(fields)
    return message


def in_turn(**state: Any) -> ClaudeStream:
    stream = ClaudeStream("claude", SESSION, started=True, **state)
    stream.turns = 1
    return stream


def test_a_turn_with_an_edit_reads_as_status_text_call_request_result_and_end() -> None:
    stream = in_turn()
    [busy] = stream.feed(INIT)
    text, call = stream.feed(EDIT_CALL)
    [request] = stream.feed(ASK_EDIT)
    assert stream.state() == "waiting_permission"
    assert stream.take_permission("e30f78be-c46e") == ASK_EDIT["request"]["input"]  # type: ignore[index]
    [tool_result] = stream.feed(EDIT_RESULT)
    [finished] = stream.feed(result())

    assert isinstance(busy, Status) and busy.state == "busy" and busy.model == "claude-sonnet-4-5"
    assert busy.agent_session_id == SESSION and busy.raw == INIT
    assert text == AgentMessage(text="Changing the return value.", raw=EDIT_CALL)
    assert isinstance(call, ToolCall) and call.tool == "Edit" and call.tool_use_id == "toolu_2dbe"
    assert call.input["old_string"] == "return 1" and call.input["new_string"] == "return 2"
    assert isinstance(request, PermissionRequest)
    assert (request.tool, request.tool_use_id, request.description) == (
        "Edit",
        "toolu_2dbe",
        "a.py",
    )
    assert request.suggestions == [{"type": "setMode", "mode": "acceptEdits"}]
    assert isinstance(tool_result, ToolResult) and tool_result.is_error is False
    assert tool_result.output.startswith("The file /work/proj/a.py has been updated")
    assert isinstance(finished, TurnFinished)
    assert (finished.status, finished.result) == ("success", "two")
    assert stream.state() == "idle"


def test_usage_and_cost_of_a_turn_in_one_shape() -> None:
    [finished] = in_turn().feed(result())
    assert isinstance(finished, TurnFinished)
    # Anthropic counts cache reads and writes apart from input_tokens; tether counts them in.
    assert finished.usage == {
        "input_tokens": 46698 + 120 + 3000,
        "output_tokens": 2,
        "cache_read_tokens": 3000,
        "cache_write_tokens": 120,
    }
    # The turn's own cost, not the conversation's running total (0.20978).
    assert finished.cost == 0.140124


def test_an_older_cli_without_per_turn_cost_gets_the_difference_of_its_totals() -> None:
    stream = in_turn()
    old = {"model_usage_since_last_result": None}
    [first] = stream.feed(result(total_cost_usd=0.07, **old))
    stream.turns = 1
    [second] = stream.feed(result(total_cost_usd=0.25, **old))
    stream.turns = 1
    [garbled] = stream.feed(result(total_cost_usd="a lot", **old))
    assert isinstance(first, TurnFinished) and first.cost == 0.07
    assert isinstance(second, TurnFinished) and round(second.cost or 0, 6) == 0.18
    assert isinstance(garbled, TurnFinished) and garbled.cost is None


def test_only_the_first_init_keeps_its_raw_message() -> None:
    stream = in_turn()
    [first] = stream.feed(INIT)
    [again] = stream.feed({**INIT, "permissionMode": "acceptEdits"})
    assert isinstance(first, Status) and first.raw == INIT
    assert isinstance(again, Status) and again.raw is None
    assert again.permission_mode == "acceptEdits" == stream.permission_mode


def test_an_interrupted_turn_ends_interrupted_and_its_open_requests_with_it() -> None:
    stream = in_turn(interrupting=True)
    stream.feed(ASK_EDIT)
    aborted = result(is_error=True, subtype="error_during_execution", terminal_reason="aborted")
    [finished] = stream.feed({**aborted, "result": None})
    assert isinstance(finished, TurnFinished) and finished.status == "interrupted"
    assert stream.permissions == {} and stream.interrupting is False
    # An API error is `subtype: success, is_error: true`: an error, not an interrupt.
    stream.turns = 1
    [failed] = stream.feed(result(is_error=True, result="API Error: 500"))
    assert isinstance(failed, TurnFinished) and failed.status == "error"


def test_a_withdrawn_request_is_cancelled_once() -> None:
    stream = in_turn()
    stream.feed(ASK_EDIT)
    cancel = {"type": "control_cancel_request", "request_id": "e30f78be-c46e"}
    [cancelled] = stream.feed(cancel)
    assert cancelled == PermissionDecision(
        request_id="e30f78be-c46e", behavior="cancelled", by="claude", raw=cancel
    )
    assert stream.feed(cancel) == []  # already gone: nothing to say


def test_a_result_outside_our_turns_is_a_start_failure_or_an_error() -> None:
    unknown = result(is_error=True, errors=["No conversation found with session ID: x"])
    starting = ClaudeStream("claude", SESSION)
    assert starting.feed(unknown) == []
    assert starting.early_errors == ["No conversation found with session ID: x"]
    running = ClaudeStream("claude", SESSION, started=True)
    [error] = running.feed(unknown)
    assert isinstance(error, ErrorEvent) and "No conversation found" in error.message
    assert running.turns == 0  # not counted below zero


def test_tool_results_with_block_content_and_interrupt_markers() -> None:
    message = {
        "type": "user",
        "message": {
            "role": "user",
            "content": [
                {"type": "text", "text": "[Request interrupted by user]"},
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [{"type": "text", "text": "line 1"}, {"type": "text", "text": "2"}],
                    "is_error": True,
                },
            ],
        },
    }
    [only] = in_turn().feed(message)
    assert only == ToolResult(tool_use_id="t1", output="line 1\n2", is_error=True, raw=message)


def test_mode_changes_are_reported_once() -> None:
    stream = in_turn(permission_mode="default")
    [changed] = stream.feed({"type": "system", "subtype": "status", "permissionMode": "plan"})
    assert isinstance(changed, Status) and changed.permission_mode == "plan"
    assert changed.state == "busy"
    assert stream.mode_changed("plan") == []


def test_the_ready_status_names_the_cli_and_its_mode() -> None:
    stream = ClaudeStream("claude", SESSION)
    ready = stream.ready_status(
        {"current_permission_mode": "acceptEdits", "claude_code_version": "2.1.328"}
    )
    assert ready == Status(
        state="idle",
        agent="claude",
        agent_session_id=SESSION,
        permission_mode="acceptEdits",
        detail="claude 2.1.328",
    )


def test_messages_of_the_wrong_shape_map_to_nothing_or_to_safe_defaults() -> None:
    stream = in_turn()
    assert stream.feed({"type": "stream_event", "event": {}}) == []
    assert stream.feed({"type": "assistant", "message": "not a dict"}) == []
    assert stream.feed({"type": "user", "message": {"content": "plain replayed text"}}) == []
    assert stream.feed({"type": "control_request", "request": {"subtype": "hook_callback"}}) == []
    [call] = stream.feed(
        {"type": "assistant", "message": {"content": [{"type": "tool_use", "input": [1, 2]}]}}
    )
    assert isinstance(call, ToolCall) and call.input == {} and call.tool == "?"
    hostile = {
        "type": "control_request",
        "request_id": "r<script>",
        "request": {"subtype": "can_use_tool", "input": "rm -rf /", "tool_name": "\x1b[31mBash"},
    }
    [request] = stream.feed(hostile)
    # Kept as data (viewers escape what they show); an input that is not an object is empty.
    assert isinstance(request, PermissionRequest) and request.input == {}
    assert request.request_id == "r<script>" and request.tool == "\x1b[31mBash"
    [finished] = stream.feed(result(usage={"input_tokens": 2**63, "output_tokens": -5}))
    assert isinstance(finished, TurnFinished)
    assert finished.usage == {"input_tokens": 2**63, "output_tokens": 0}
