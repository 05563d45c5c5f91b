"""A hub + runner serving one `agent = "claude"` team that runs the real Claude Code CLI
against a scripted Anthropic API (see tests/support/anthropic_api.py, claude_env.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.support.anthropic_api import Reply, ScriptedAnthropicAPI
from tests.support.claude_env import claude_env, find_claude_binary
from tests.support.hub import HubHandle, running_hub, wait_for_event
from tests.support.procs import cli_env, tether_argv
from tests.support.timing import scaled
from tether.client import RemoteSession
from tether.config import TeamConfig, TetherConfig

TEAM = "proj"
SKIP_REASON = (
    "the Claude Code CLI is not installed: run `npm ci` (package.json pins"
    " @anthropic-ai/claude-code) or set TETHER_CLAUDE_BIN"
)
NEEDS_CLAUDE = [
    pytest.mark.claude,
    pytest.mark.skipif(find_claude_binary() is None, reason=SKIP_REASON),
]
"""The marks of a test module that runs the real Claude Code CLI."""


def claude_team(tmp_path: Path, api: ScriptedAnthropicAPI, **options: Any) -> TeamConfig:
    """A claude team in `tmp_path/proj` talking to `api`, with an isolated HOME.

    `IS_SANDBOX` is left out of the env on purpose: when a test needs it
    (skip_permissions as root) the adapter must set it itself.
    """
    binary = find_claude_binary()
    assert binary is not None, SKIP_REASON
    project = tmp_path / TEAM
    project.mkdir(exist_ok=True)
    env = claude_env(api.url, tmp_path / "claude-home", sandbox=False)
    return TeamConfig(
        name=TEAM,
        path=str(project),
        agent="claude",
        command=[binary],
        env=env,
        session_init_timeout=scaled(30),
        **options,
    )


@contextlib.asynccontextmanager
async def claude_hub(
    tmp_path: Path, api: ScriptedAnthropicAPI, **options: Any
) -> AsyncIterator[HubHandle]:
    """An in-process hub and runner serving the `proj` claude team."""
    config = TetherConfig(teams={TEAM: claude_team(tmp_path, api, **options)})
    (tmp_path / "hub").mkdir(exist_ok=True)
    async with running_hub(tmp_path / "hub", config) as hub:
        yield hub


async def run_tether(hub: HubHandle, *args: str, timeout: float = 60) -> tuple[int, str, str]:
    """Run `tether ARGS` as a real subprocess against `hub`; return (code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        *tether_argv(*args),
        env=cli_env(hub.data_dir, hub.url, TETHER_TOKEN=hub.token, COLUMNS="120"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), scaled(timeout))
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def project(tmp_path: Path) -> Path:
    return tmp_path / TEAM


def script_touch(api: ScriptedAnthropicAPI, tmp_path: Path, name: str, *, then: str) -> Path:
    """The model runs `touch TARGET` with Bash, then says `then`; TARGET is the file `name`
    in the project (returned)."""
    target = project(tmp_path) / name
    api.script(Reply.tool_use("Bash", {"command": f"touch {target}"}), Reply.text(then))
    return target


async def started(hub: HubHandle) -> tuple[str, RemoteSession, dict[str, Any]]:
    """Start a session; return its id, a connected owner, and the `idle` status event."""
    async with hub.client() as client:
        session = await client.start(TEAM)
    remote = await hub.session(session["id"]).connect()
    idle = await wait_for_event(remote, "status", state="idle")
    return session["id"], remote, idle


class ClaudeSession(NamedTuple):
    """A hub serving the claude team, a session of it, its owner and its first `idle`."""

    hub: HubHandle
    id: str
    owner: RemoteSession
    idle: dict[str, Any]


@contextlib.asynccontextmanager
async def claude_session(
    tmp_path: Path, api: ScriptedAnthropicAPI, **options: Any
) -> AsyncIterator[ClaudeSession]:
    """`claude_hub` and a session `started` in it; the owner is closed on exit."""
    async with claude_hub(tmp_path, api, **options) as hub:
        session_id, owner, idle = await started(hub)
        try:
            yield ClaudeSession(hub, session_id, owner, idle)
        finally:
            await owner.close()


async def events_of(hub: HubHandle, session_id: str) -> list[dict[str, Any]]:
    async with hub.client() as client:
        return [e["payload"] for e in (await client.events(session_id))["events"]]
