"""Installing the permission hook for one Claude Code process, and the bridge's rules."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tether.errors import ConfigError, NotFound
from tether.protocol.events import event_payload
from tether.protocol.messages import ControlPermissionDecision
from tether.terminal.claude_hooks import is_claude, with_permission_hook
from tether.terminal.hook_bridge import HookBridge


def settings_of(argv: list[str]) -> dict[str, Any]:
    assert argv[1] == "--settings"
    return dict(json.loads(argv[2]))


def test_claude_is_recognised_by_name_or_package() -> None:
    assert is_claude(["claude"]) and is_claude(["/usr/local/bin/claude", "-c"])
    assert is_claude(["/x/node_modules/@anthropic-ai/claude-code/bin/claude.exe"])
    assert not is_claude(["bash"]) and not is_claude(["claude-code-acp"]) and not is_claude([])


def test_the_hook_is_added_for_this_process_only(tmp_path: Path) -> None:
    argv = with_permission_hook(["claude", "--model", "x"], command="exec hook")
    hooks = settings_of(argv)["hooks"]
    ask = hooks["PermissionRequest"][0]["hooks"][0]
    assert ask == {"type": "command", "command": "exec hook", "timeout": 3600}
    assert hooks["PostToolUse"][0]["hooks"][0]["async"] is True
    assert argv[3:] == ["--model", "x"]


def test_the_users_own_settings_are_merged_and_their_file_left_alone(tmp_path: Path) -> None:
    theirs = tmp_path / "settings.json"
    original = json.dumps({"model": "m", "hooks": {"PermissionRequest": [{"matcher": "Bash"}]}})
    theirs.write_text(original)
    merged = settings_of(with_permission_hook(["claude", "--settings", str(theirs), "-p"], "h"))
    assert merged["model"] == "m"
    assert merged["hooks"]["PermissionRequest"][0] == {"matcher": "Bash"}
    assert len(merged["hooks"]["PermissionRequest"]) == 2
    assert theirs.read_text() == original
    inline = settings_of(with_permission_hook(["claude", '--settings={"x":1}'], "h"))
    assert inline["x"] == 1
    with pytest.raises(ConfigError):
        with_permission_hook(["claude", "--settings", "[1]"], "h")


def decision(request_id: str, behavior: str = "allow") -> ControlPermissionDecision:
    return ControlPermissionDecision(request_id=request_id, behavior=behavior, by="bob")  # type: ignore[arg-type]


async def test_a_viewers_answer_goes_to_the_hook_and_is_logged() -> None:
    events: list[dict[str, Any]] = []
    bridge = HookBridge(lambda e: events.append(event_payload(e)))
    gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    asked = asyncio.create_task(
        bridge.ask({"tool_name": "Bash", "tool_input": {"command": "touch x"}}, gone)
    )
    await asyncio.sleep(0)
    request_id = events[0]["request_id"]
    assert events[0]["kind"] == "permission_request" and events[0]["tool"] == "Bash"
    bridge.decide(decision(request_id, "deny"))
    output = await asked
    assert output["hookSpecificOutput"]["decision"]["behavior"] == "deny"
    assert events[-1]["kind"] == "permission_decision" and events[-1]["by"] == "bob"
    with pytest.raises(NotFound):  # a second answer: already answered
        bridge.decide(decision(request_id))


@pytest.mark.parametrize(
    ("told", "behavior"),
    [
        ({"hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_input": {"c": 1}}, "allow"),
        ({"hook_event_name": "Stop"}, "cancelled"),
    ],
)
async def test_an_answer_in_the_terminal_settles_the_card(
    told: dict[str, Any], behavior: str
) -> None:
    events: list[dict[str, Any]] = []
    bridge = HookBridge(lambda e: events.append(event_payload(e)), log_decisions=False)
    gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    asked = asyncio.create_task(bridge.ask({"tool_name": "Bash", "tool_input": {"c": 1}}, gone))
    await asyncio.sleep(0)
    request_id = events[0]["request_id"]
    bridge.observe({"hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_input": {"c": 2}})
    await asyncio.sleep(0)
    assert not asked.done()  # another call's result says nothing about this one
    bridge.observe(told)
    assert await asked is None  # the hook is let go without a decision
    assert events[-1] == {
        "kind": "permission_decision",
        "request_id": request_id,
        "behavior": behavior,
        "by": "terminal",
        "message": "answered in the terminal",
    }
    with pytest.raises(NotFound):
        bridge.decide(decision(request_id))
