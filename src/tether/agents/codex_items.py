"""Codex's items (`item/started`, `item/completed`) as events: the mapping alone, pure.

A `commandExecution` is a `shell` tool call and its result, a `fileChange` an
`apply_patch` call and its status, MCP tools, web searches and dynamic tools are tool
calls under their own names, and a completed `agentMessage` is the agent's text.
"""

from __future__ import annotations

from tether.agents.base import WireObject
from tether.protocol.events import AgentMessage, Event, ToolCall, ToolResult


def item_events(item: WireObject, raw: WireObject, *, started: bool) -> list[Event]:
    """The events of an `item/started` or `item/completed` notification (pure)."""
    kind, item_id = item.get("type"), str(item.get("id"))
    if kind == "agentMessage":
        text = item.get("text")
        return [AgentMessage(text=str(text), raw=raw)] if text and not started else []
    if kind in _TOOL_ITEMS and started:
        tool, tool_input = _TOOL_ITEMS[str(kind)](item)
        return [ToolCall(tool_use_id=item_id, tool=tool, input=tool_input, raw=raw)]
    if kind == "commandExecution":
        status = item.get("status")
        failed = status != "completed" or item.get("exitCode") not in (0, None)
        output = item.get("aggregatedOutput") or ("" if status == "completed" else str(status))
        return [ToolResult(tool_use_id=item_id, output=output, is_error=failed, raw=raw)]
    if kind == "fileChange":
        status = str(item.get("status"))
        result = ToolResult(
            tool_use_id=item_id, output=status, is_error=status != "completed", raw=raw
        )
        return [result]
    return []


def _shell_call(item: WireObject) -> tuple[str, WireObject]:
    return "shell", {"command": item.get("command"), "cwd": item.get("cwd")}


def _patch_call(item: WireObject) -> tuple[str, WireObject]:
    return "apply_patch", {"changes": item.get("changes") or []}


def _other_call(item: WireObject) -> tuple[str, WireObject]:
    name = str(item.get("tool") or (item.get("query") and "web_search") or item.get("type"))
    arguments = item.get("arguments")
    return name, arguments if isinstance(arguments, dict) else {}


# Codex items that are tool calls: what each is called, and its input.
_TOOL_ITEMS = {
    "commandExecution": _shell_call,
    "fileChange": _patch_call,
    "mcpToolCall": _other_call,
    "webSearch": _other_call,
    "dynamicToolCall": _other_call,
}
