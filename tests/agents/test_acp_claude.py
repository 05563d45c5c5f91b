"""An ACP agent (`claude-code-acp`, Claude Code's ACP adapter) as `agent = "acp"` through
the hub and runner, against a scripted Anthropic API: a turn, a shell command allowed and
denied by the remote owner, an interrupt, and `session/load` in a new process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents.flow import agent_team, next_event, of_kind, run_turn, stop_session, texts
from tests.support.anthropic_api import Reply, ScriptedAnthropicAPI
from tests.support.claude_env import claude_env
from tests.support.hub import serving_teams
from tests.support.timing import scaled
from tether.agents.detect import find_agent_binary
from tether.config import TeamConfig

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


def acp_team(tmp_path: Path, api: ScriptedAnthropicAPI) -> TeamConfig:
    return agent_team(tmp_path, "acp", [str(ACP_BIN)], claude_env(api.url, tmp_path / "home"))


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
    async with serving_teams(tmp_path / "hub", acp_team(tmp_path, api)) as (hub, client):
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
            await api.async_wait_for_requests(5, scaled(60))
            await remote.interrupt()
            finished = await next_event(remote, "turn_finished")
            assert finished["status"] == "interrupted"

            agent_session = await stop_session(client, remote, session["id"])

        resumed = await client.start("acp", resume=agent_session)
        async with hub.session(resumed["id"]) as remote:
            events = await run_turn(remote, "what did I say first?")
            assert "after load" in "".join(texts(events))
    assert "remember BANANA" in api.main_requests[-1].user_texts()
