"""Codex's items mapped to events, as data (shapes of codex 0.169's app-server)."""

from __future__ import annotations

from tether.agents.codex_items import item_events
from tether.protocol.events import AgentMessage, ToolCall, ToolResult

RAW = {"method": "item/completed", "params": {}}


def test_a_command_is_a_shell_call_and_a_failed_exit_is_an_error_result() -> None:
    item = {"type": "commandExecution", "id": "call_1", "command": "ls", "cwd": "/w"}
    [call] = item_events({**item, "status": "inProgress"}, RAW, started=True)
    assert call == ToolCall(
        tool_use_id="call_1", tool="shell", input={"command": "ls", "cwd": "/w"}, raw=RAW
    )
    done = {**item, "status": "completed", "exitCode": 2, "aggregatedOutput": "ls: nope"}
    [result] = item_events(done, RAW, started=False)
    assert isinstance(result, ToolResult) and result.is_error and result.output == "ls: nope"
    [declined] = item_events({**item, "status": "declined"}, RAW, started=False)
    assert isinstance(declined, ToolResult) and (declined.output, declined.is_error) == (
        "declined",
        True,
    )


def test_patches_mcp_tools_and_messages() -> None:
    patch = {"type": "fileChange", "id": "p1", "changes": [{"path": "a.py", "diff": "+x"}]}
    [call] = item_events(patch, RAW, started=True)
    assert isinstance(call, ToolCall) and call.tool == "apply_patch"
    assert call.input == {"changes": [{"path": "a.py", "diff": "+x"}]}
    tool = {"type": "mcpToolCall", "id": "m1", "tool": "search", "arguments": "not an object"}
    [mcp] = item_events(tool, RAW, started=True)
    assert isinstance(mcp, ToolCall) and (mcp.tool, mcp.input) == ("search", {})
    message = {"type": "agentMessage", "id": "msg_1", "text": "hello"}
    assert item_events(message, RAW, started=True) == []  # its text comes when it completes
    assert item_events(message, RAW, started=False) == [AgentMessage(text="hello", raw=RAW)]
    assert item_events({"type": "reasoning", "id": "r1"}, RAW, started=False) == []
