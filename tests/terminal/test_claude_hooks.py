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


async def a_waiting_hook(
    tool_input: dict[str, Any],
) -> tuple[HookBridge, list[dict[str, Any]], asyncio.Future[None], asyncio.Task[Any], str]:
    """A bridge whose hook asks about Bash with TOOL_INPUT; decisions are not logged by it.
    Returns (bridge, the events it emitted, the hook-gone future, the hook's task, request id)."""
    events: list[dict[str, Any]] = []
    bridge = HookBridge(
        lambda e: events.append(event_payload(e)), log_decisions=False, outcome_grace=0.3
    )
    gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    asked = asyncio.create_task(bridge.ask({"tool_name": "Bash", "tool_input": tool_input}, gone))
    await asyncio.sleep(0)
    return bridge, events, gone, asked, events[0]["request_id"]


TOLD_ALLOWED = {"hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_input": {"c": 1}}


@pytest.mark.parametrize(
    ("told", "behavior"), [(TOLD_ALLOWED, "allow"), ({"hook_event_name": "Stop"}, "cancelled")]
)
async def test_an_answer_in_the_terminal_settles_the_card(
    told: dict[str, Any], behavior: str
) -> None:
    bridge, events, _gone, asked, request_id = await a_waiting_hook({"c": 1})
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


@pytest.mark.parametrize(
    ("told", "behavior"),
    [(TOLD_ALLOWED, "allow"), ({"hook_event_name": "UserPromptSubmit"}, "cancelled")],
)
async def test_the_hook_let_go_before_the_terminal_says_how(
    told: dict[str, Any], behavior: str
) -> None:
    """Claude Code kills the waiting hook as soon as its dialog is answered, and tells how
    only later (after the allowed tool ran): the card waits for that, refusing viewers."""
    bridge, events, gone, asked, request_id = await a_waiting_hook({"c": 1})
    gone.set_result(None)
    await asyncio.sleep(0.01)
    assert not asked.done() and len(events) == 1  # not yet told how it was answered
    with pytest.raises(NotFound):  # the hook is gone: a viewer's answer can reach no one
        bridge.decide(decision(request_id))
    bridge.observe(told)
    assert await asked is None
    assert (events[-1]["behavior"], events[-1]["by"]) == (behavior, "terminal")


async def test_a_denial_in_the_terminal_tells_nothing_and_the_card_goes_anyway() -> None:
    """Esc or "No" in the dialog runs no hook at all: after the grace the card is withdrawn."""
    _bridge, events, gone, asked, request_id = await a_waiting_hook({})
    gone.set_result(None)
    assert await asyncio.wait_for(asked, timeout=5) is None
    assert (events[-1]["request_id"], events[-1]["behavior"]) == (request_id, "cancelled")


async def test_a_program_that_ends_withdraws_a_request_its_hook_let_go() -> None:
    bridge, events, gone, asked, _request_id = await a_waiting_hook({})
    gone.set_result(None)
    await asyncio.sleep(0.01)
    bridge.close()
    assert await asked is None
    assert events[-1]["behavior"] == "cancelled"
