"""How a Claude Code process is launched: its argv (a list, never a shell line) and its
environment.

Facts this relies on (Claude Code 2.1.328, see docs/claude.md):

* `--session-id=<uuid>` fixes the session id of a new session, so tether knows it
  before the first turn (`system/init` only arrives after the first user message).
  Reusing an id that already has a transcript fails ("already in use"): an existing
  session is continued with `--resume=<id>` instead, which keeps the same id.
* As root, `--permission-mode bypassPermissions` makes the CLI exit 1 at startup
  ("cannot be used with root/sudo privileges") unless `IS_SANDBOX=1` is set.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterable

from tether.config import TeamConfig

STREAM_JSON_FLAGS = [
    "-p",
    "--input-format",
    "stream-json",
    "--output-format",
    "stream-json",
    "--verbose",
]
"""A long-lived session speaking stream-json on stdin and stdout."""
PERMISSIONS_ON_STDIO = ["--permission-prompt-tool", "stdio"]
"""Permission prompts as `control_request` `can_use_tool` on stdout, answered on stdin."""

BYPASS_MODE = "bypassPermissions"

# Modes the CLI accepts (its own error message lists them); checked by the CLI itself.
PERMISSION_MODES = ("default", "acceptEdits", "plan", "auto", "dontAsk", BYPASS_MODE)

# An agent session id goes into argv as `--resume=<id>`: a plain token, never an option.
_AGENT_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def new_agent_session_id() -> str:
    """A fresh Claude session id (the CLI wants a UUID)."""
    return str(uuid.uuid4())


def is_valid_agent_session_id(value: str) -> bool:
    """Whether `value` can be handed to `--resume=` (letters, digits, `._:-`; no leading `-`)."""
    return bool(_AGENT_SESSION_ID.match(value))


def claude_argv(
    team: TeamConfig,
    default_command: Iterable[str],
    *,
    agent_session_id: str,
    resume: bool,
) -> list[str]:
    """The full argv of a Claude Code stream-json session."""
    args = [*(team.command or default_command), *STREAM_JSON_FLAGS, *PERMISSIONS_ON_STDIO]
    # The `=` form: an id can never be taken for a flag of its own.
    args.append(f"--resume={agent_session_id}" if resume else f"--session-id={agent_session_id}")
    mode = BYPASS_MODE if team.skip_permissions else team.permission_mode
    if mode:
        args += ["--permission-mode", mode]
    if team.model:
        args += ["--model", team.model]
    return args


def claude_env(team: TeamConfig, *, running_as_root: bool | None = None) -> dict[str, str]:
    """Extra environment for the process: the SDK's entrypoint marker, `IS_SANDBOX` when
    bypass mode is asked for as root, then the team's own `env` (which wins)."""
    env = {"CLAUDE_CODE_ENTRYPOINT": "sdk-py"}
    if running_as_root is None:
        running_as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if team.skip_permissions and running_as_root:
        # Claude Code refuses bypass mode as root unless told it runs in a sandbox
        # (a container or VM). `skip_permissions = true` is the operator saying so.
        env["IS_SANDBOX"] = "1"
    env.update(team.env)
    return env
