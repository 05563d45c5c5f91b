"""Installing tether's permission hook into one Claude Code process (never its files).

`tether run -- claude …` (and a `terminal` team whose command is Claude Code) gets
`--settings '{"hooks":{"PermissionRequest":[…]}}'` added right after the program: settings
for that process only, merged over the user's own — nothing in `~/.claude` or the project
is written. If the command already has `--settings`, its value (JSON, or a file that is
read, never written) is merged with ours into the one value passed on.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any, Literal, NotRequired, Required, TypedDict, cast

from tether.errors import ConfigError

HOOK_TIMEOUT_S = 3600
"""How long a remote viewer has to answer before the request is left to the terminal."""

SOCKET_ENV = "TETHER_TERMINAL_SOCKET"
SESSION_ENV = "TETHER_TERMINAL_SESSION"


def is_claude(argv: list[str]) -> bool:
    """Is this command Claude Code (`claude`, or the CLI of the npm package)?"""
    if not argv:
        return False
    program = argv[0]
    if os.path.basename(program) in ("claude", "claude.exe"):
        return True
    resolved = os.path.realpath(program) if os.sep in program else program
    return "@anthropic-ai/claude-code" in resolved.replace(os.sep, "/")


def hook_command(python: str = sys.executable) -> str:
    """The shell command Claude Code runs for the hook (it finds the host through env).

    `exec`, so the hook is the process Claude Code signals when the terminal's own dialog
    answers first (a shell left in between would leave the hook running)."""
    return "exec " + shlex.join([python, "-m", "tether.terminal.hook"])


class HookEvent(TypedDict, total=False):
    """What Claude Code hands a hook on stdin: the fields tether reads (it sends more)."""

    hook_event_name: str
    tool_name: str
    tool_input: Any
    """The tool's own input, as the tool takes it."""
    permission_suggestions: list[Any]


class HookDecision(TypedDict, total=False):
    """A hook's answer to a permission request."""

    behavior: Required[str]
    updatedInput: dict[str, Any]
    message: str


class _PermissionOutput(TypedDict):
    hookEventName: Literal["PermissionRequest"]
    decision: HookDecision


class HookOutput(TypedDict):
    """What a `PermissionRequest` hook prints for Claude Code: its decision."""

    hookSpecificOutput: _PermissionOutput


def hook_event(value: object) -> HookEvent | None:
    """A hook's event as received (a JSON object), or None when it is not one."""
    return cast(HookEvent, value) if isinstance(value, dict) else None


HookCommand = TypedDict(
    "HookCommand",
    {"type": Literal["command"], "command": str, "timeout": int, "async": NotRequired[bool]},
)
"""One hook in Claude Code's settings: the command it runs."""


class HookMatcher(TypedDict, total=False):
    """The hooks Claude Code runs for an event (for the tools `matcher` names)."""

    matcher: str
    hooks: Required[list[HookCommand]]


class HookSettings(TypedDict):
    """The `hooks` part of Claude Code's settings, by event."""

    hooks: dict[str, list[HookMatcher]]


# Events that tell the host the terminal's own dialog answered (see hook_bridge).
TELL_EVENTS = ("PostToolUse", "PostToolUseFailure", "Stop", "UserPromptSubmit")


def hook_settings(command: str) -> HookSettings:
    """Settings adding tether's hooks: PermissionRequest (waits for a viewer), and the
    background ones that report what happened in the terminal."""
    ask: HookCommand = {"type": "command", "command": command, "timeout": HOOK_TIMEOUT_S}
    tell: HookCommand = {"type": "command", "command": command, "timeout": 30, "async": True}
    hooks: dict[str, list[HookMatcher]] = {"PermissionRequest": [{"matcher": "*", "hooks": [ask]}]}
    for event in TELL_EVENTS:
        hooks[event] = (
            [{"matcher": "*", "hooks": [tell]}] if "Tool" in event else [{"hooks": [tell]}]
        )
    return {"hooks": hooks}


def with_permission_hook(argv: list[str], command: str | None = None) -> list[str]:
    """`argv` with tether's hook added to its `--settings` (a new one, or merged)."""
    ours = hook_settings(command or hook_command())
    args = list(argv[1:])
    theirs: dict[str, Any] = {}
    for i, word in enumerate(args):
        if word == "--settings" and i + 1 < len(args):
            theirs = _read_settings(args[i + 1])
            del args[i : i + 2]
            break
        if word.startswith("--settings="):
            theirs = _read_settings(word.split("=", 1)[1])
            del args[i]
            break
        if word == "--":
            break
    merged = _merge(theirs, ours)
    return [argv[0], "--settings", json.dumps(merged, separators=(",", ":")), *args]


def _read_settings(value: str) -> dict[str, Any]:
    text = value
    if not value.lstrip().startswith("{"):
        try:
            text = Path(value).expanduser().read_text()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the --settings file {value!r}: {exc.strerror}"
            ) from None
    try:
        settings = json.loads(text)
    except ValueError:
        raise ConfigError(f"--settings {value!r} is not valid JSON") from None
    if not isinstance(settings, dict):
        raise ConfigError("--settings must be a JSON object")
    return settings


def _merge(theirs: dict[str, Any], ours: HookSettings) -> dict[str, Any]:
    merged = dict(theirs)
    hooks = dict(merged.get("hooks") or {})
    for event, matchers in ours["hooks"].items():
        hooks[event] = [*(hooks.get(event) or []), *matchers]
    merged["hooks"] = hooks
    return merged
