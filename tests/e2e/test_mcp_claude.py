"""The real Claude Code CLI as the MCP client: it calls tether's send_message on a demo team.

A scripted Messages API server plays the model: its first answer calls the
tool `mcp__tether__send_message`; the CLI runs it against tether's MCP server
(stdio `python -m tether mcp`, or the hub's streamable-HTTP `/mcp`) and sends
the tool result back to the model in its next request, where we look for the
demo agent's reply.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from tests.support.anthropic_api import Reply, ScriptedAnthropicAPI, tool_result_text
from tests.support.claude_env import claude_env, require_claude_binary
from tests.support.hub import running_hub
from tests.support.timing import scaled

pytestmark = [pytest.mark.e2e, pytest.mark.claude]


def mcp_config(transport: str, hub_url: str, token: str, tether_home: Path) -> str:
    """The `--mcp-config` JSON naming tether's MCP server `tether`."""
    if transport == "http":
        server = {
            "type": "http",
            "url": f"{hub_url}/mcp",
            "headers": {"Authorization": f"Bearer {token}"},
        }
    else:
        # A signed-in machine needs nothing here (`tether mcp` uses its device
        # credentials); the test hub has a static token, handed over as TETHER_TOKEN.
        tether_home.mkdir(parents=True, exist_ok=True)
        server = {
            "type": "stdio",
            "command": sys.executable,
            "args": ["-m", "tether", "mcp", "--hub", hub_url],
            "env": {
                "TETHER_HOME": str(tether_home),
                "TETHER_TOKEN": token,
                "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
            },
        }
    return json.dumps({"mcpServers": {"tether": server}})


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_claude_code_asks_another_team_through_tether(tmp_path: Path, transport: str) -> None:
    claude = require_claude_binary()
    project = tmp_path / "project"
    project.mkdir()
    async with running_hub(tmp_path / "hub") as hub, ScriptedAnthropicAPI() as api:
        api.script(
            Reply.tool_use(
                "mcp__tether__send_message",
                {"to_team": "demo", "message": "what is 6 times 7?", "from_team": "frontend"},
            ),
            Reply.text("The demo team answered."),
        )
        argv = [
            claude,
            "-p",
            "Ask the demo team what 6 times 7 is.",
            "--output-format",
            "stream-json",
            "--verbose",
            "--mcp-config",
            mcp_config(transport, hub.url, hub.token, tmp_path / "home"),
            "--strict-mcp-config",
            "--allowedTools",
            "mcp__tether__send_message",
        ]
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=project,
            env=claude_env(api.url, tmp_path / "claude-home"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            stdout, stderr = await asyncio.wait_for(proc.communicate(), scaled(120))
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        output = stdout.decode() + stderr.decode()
        assert proc.returncode == 0, output[-3000:]

        # The model saw tether's tool, and the CLI sent it the demo agent's reply.
        first, second = api.main_requests[:2]
        # (Claude Code lists MCP tools as deferred tools in its prompt, or in `tools`.)
        assert "mcp__tether__send_message" in json.dumps(first.body)
        results = second.tool_results()
        assert len(results) == 1, output[-3000:]
        assert not results[0].get("is_error"), tool_result_text(results[0])
        assert "You said: what is 6 times 7?" in tool_result_text(results[0])

        # The turn reached the demo team's session on the hub.
        async with hub.client() as client:
            sessions = [s for s in await client.sessions() if s["team"] == "demo"]
            assert len(sessions) == 1
            events = (await client.events(sessions[0]["id"]))["events"]
        texts = [e["payload"].get("text") for e in events if e["payload"]["kind"] == "user_message"]
        assert texts == ["what is 6 times 7?"]
