"""A hub + runner serving one `agent = "claude"` team that runs the real Claude Code CLI
against a scripted Anthropic API (see tests/support/anthropic_api.py, claude_env.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

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


def script_touch(api: ScriptedAnthropicAPI, target: Path, *, then: str) -> None:
    """The model runs `touch TARGET` with Bash, then says `then`."""
    api.script(Reply.tool_use("Bash", {"command": f"touch {target}"}), Reply.text(then))


async def started(hub: HubHandle) -> tuple[str, RemoteSession, dict[str, Any]]:
    """Start a session; return its id, a connected owner, and the `idle` status event."""
    async with hub.client() as client:
        session = await client.start(TEAM)
    remote = await hub.session(session["id"]).connect()
    idle = await wait_for_event(remote, "status", state="idle")
    return session["id"], remote, idle


async def events_of(hub: HubHandle, session_id: str) -> list[dict[str, Any]]:
    async with hub.client() as client:
        return [e["payload"] for e in (await client.events(session_id))["events"]]
