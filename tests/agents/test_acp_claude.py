"""An ACP agent (`claude-code-acp`, Claude Code's ACP adapter) as `agent = "acp"` through
the hub and runner, against a scripted Anthropic API: a turn, a shell command allowed and
denied by the remote owner, an interrupt, and `session/load` in a new process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents.flow import next_event, of_kind, run_turn, stop_session, texts
from tests.support.anthropic_api import Reply, ScriptedAnthropicAPI
from tests.support.claude_env import claude_env
from tests.support.hub import running_hub
from tests.support.timing import scaled
from tether.agents.detect import find_agent_binary
from tether.config import TeamConfig, TetherConfig

ACP_BIN = find_agent_binary("claude-code-acp") or (
    "/work/npmtools/node_modules/.bin/claude-code-acp"
    if Path("/work/npmtools/node_modules/.bin/claude-code-acp").exists()
    else None
)
pytestmark = pytest.mark.skipif(ACP_BIN is None, reason="claude-code-acp is not installed")


@pytest.fixture
def api() -> Iterator[ScriptedAnthropicAPI]:
    with ScriptedAnthropicAPI() as server:
        yield server


def acp_config(tmp_path: Path, api: ScriptedAnthropicAPI) -> TetherConfig:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    team = TeamConfig(
        name="acp",
        path=str(work),
        agent="acp",
        command=[str(ACP_BIN)],
        env=claude_env(api.url, tmp_path / "home"),
    )
    return TetherConfig(teams={"acp": team})


async def test_turn_allow_deny_interrupt_and_load(
    tmp_path: Path, api: ScriptedAnthropicAPI
) -> None:
    work = tmp_path / "work"
    api.script(
        Reply.text("remember ALPHA"),
        Reply.tool_use("Bash", {"command": "touch allowed.txt", "description": "make a file"}),
        Reply.text("made it"),
        Reply.tool_use("Bash", {"command": "touch denied.txt", "description": "make a file"}),
        Reply.text("x" * 4000, chunk_delay=0.2, chunk_size=10),
        Reply.text("after load"),
    )
    config = acp_config(tmp_path, api)
    async with running_hub(tmp_path / "hub", config) as hub, hub.client() as client:
        session = await client.start("acp")
        async with hub.session(session["id"]) as remote:
            first = await run_turn(remote, "remember BANANA")
            assert of_kind(first, "turn_finished")[0]["status"] == "success"
            assert "remember ALPHA" in "".join(texts(first))

            allowed = await run_turn(remote, "make a file", answer="allow")
            request = of_kind(allowed, "permission_request")[0]
            assert request["input"]["command"] == "touch allowed.txt" and request["tool"] == "Bash"
            assert {o["kind"] for o in request["options"]} >= {"allow_once", "reject_once"}
            assert (work / "allowed.txt").exists()
            assert of_kind(allowed, "tool_result")[0]["is_error"] is False

            denied = await run_turn(remote, "make another", answer="deny")
            assert of_kind(denied, "permission_decision")[0]["behavior"] == "deny"
            assert not (work / "denied.txt").exists()
            assert of_kind(denied, "tool_result")[0]["is_error"] is True

            await remote.send_message("write a long story")
            await asyncio.to_thread(api.wait_for_requests, 5, scaled(60))
            await remote.interrupt()
            finished = await next_event(remote, "turn_finished")
            assert finished["status"] == "interrupted"

            agent_session = await stop_session(client, remote, session["id"])

        resumed = await client.start("acp", resume=agent_session)
        async with hub.session(resumed["id"]) as remote:
            events = await run_turn(remote, "what did I say first?")
            assert "after load" in "".join(texts(events))
    assert "remember BANANA" in api.main_requests[-1].user_texts()
