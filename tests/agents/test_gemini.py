"""The real Gemini CLI through the hub and runner, against a scripted Gemini API:
`gemini --acp` (a turn, a shell command allowed and denied by the remote owner, an
interrupt with and without a pending request, `session/load` in a new process) and the
headless stream-json mode of `skip_permissions` teams. Gemini takes seconds to start, so
each test keeps to as few processes as it can."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agents.flow import agent_team, next_event, of_kind, run_turn, stop_session, texts
from tests.support.gemini_api import (
    DEFAULT_GEMINI_MODEL,
    ScriptedGeminiServer,
    backdate_gemini_sessions,
    gemini_bin,
    gemini_env,
)
from tests.support.hub import serving_teams, team_session
from tests.support.timing import scaled
from tether.client import RemoteSession
from tether.config import TeamConfig

pytestmark = pytest.mark.skipif(gemini_bin() is None, reason="the gemini CLI is not installed")


@pytest.fixture
def gemini_api() -> Iterator[ScriptedGeminiServer]:
    with ScriptedGeminiServer() as server:
        yield server


def gemini_team(tmp_path: Path, server: ScriptedGeminiServer, **options: Any) -> TeamConfig:
    env, _ = gemini_env(tmp_path / "home", server.base_url, base_env={})
    command = [str(gemini_bin())]
    return agent_team(tmp_path, "gemini", command, env, model=DEFAULT_GEMINI_MODEL, **options)


async def test_acp_turn_approvals_interrupts_and_load(
    tmp_path: Path, gemini_api: ScriptedGeminiServer
) -> None:
    work = tmp_path / "work"
    gemini_api.script(
        gemini_api.text("first answer ALPHA"),
        gemini_api.shell("touch allowed.txt", description="make a file"),
        gemini_api.text("made it"),
        gemini_api.shell("touch denied.txt", description="make a file"),
        gemini_api.text("was refused"),
        gemini_api.hang("thinking"),
        gemini_api.shell("touch never.txt", description="make a file"),
    )
    async with serving_teams(tmp_path / "hub", gemini_team(tmp_path, gemini_api)) as (hub, client):
        session = await client.start("gemini")
        async with hub.session(session["id"]) as remote:
            first = await run_turn(remote, "remember BANANA")
            assert of_kind(first, "turn_finished")[0]["status"] == "success"
            assert "first answer ALPHA" in texts(first)

            allowed = await run_turn(remote, "make a file", answer="allow")
            request = of_kind(allowed, "permission_request")[0]
            assert [o["option_id"] for o in request["options"]] == [
                "proceed_always",
                "proceed_once",
                "cancel",
            ]
            assert (work / "allowed.txt").exists()
            assert "made it" in texts(allowed)

            denied = await run_turn(remote, "make another", answer="deny")
            assert not (work / "denied.txt").exists()
            assert of_kind(denied, "turn_finished")[0]["status"] == "success"
            assert "was refused" in texts(denied)

            await interrupt_twice(remote, gemini_api)
            assert not (work / "never.txt").exists()

            agent_session = await stop_session(client, remote, session["id"])

        backdate_gemini_sessions(tmp_path / "home")  # Gemini 0.61 same-minute load bug
        gemini_api.script(gemini_api.text("after load"))
        resumed = await client.start("gemini", resume=agent_session)
        async with hub.session(resumed["id"]) as remote:
            events = await run_turn(remote, "what did I ask first?")
            assert "after load" in texts(events)
    last = gemini_api.main_requests[-1]
    assert "remember BANANA" in last.user_texts()
    assert "first answer ALPHA" in last.model_texts()


async def interrupt_twice(remote: RemoteSession, gemini_api: ScriptedGeminiServer) -> None:
    """Interrupt a turn that hangs in the model, then one whose permission request the
    owner has not answered yet (tether answers it `cancelled`)."""
    await remote.send_message("think")
    await gemini_api.async_wait_for_requests(6, scaled(60))
    await remote.interrupt()
    assert (await next_event(remote, "turn_finished"))["status"] == "interrupted"
    gemini_api.release()

    await remote.send_message("make a third")
    request = await next_event(remote, "permission_request")
    await remote.interrupt()
    withdrawn = await next_event(remote, "permission_decision")
    assert withdrawn["request_id"] == request["request_id"]
    assert withdrawn["behavior"] == "cancelled"
    assert (await next_event(remote, "turn_finished"))["status"] == "interrupted"


async def test_headless_mode_for_skip_permissions(
    tmp_path: Path, gemini_api: ScriptedGeminiServer
) -> None:
    gemini_api.script(
        gemini_api.shell("touch yolo.txt", description="make a file"),
        gemini_api.text("done without asking"),
    )
    team = gemini_team(tmp_path, gemini_api, skip_permissions=True)
    async with team_session(tmp_path / "hub", team) as session:
        events = await run_turn(session.remote, "make a file")
        assert of_kind(events, "permission_request") == []
        assert of_kind(events, "tool_call")[0]["tool"] == "run_shell_command"
        assert "done without asking" in texts(events)
        assert of_kind(events, "turn_finished")[0]["status"] == "success"
    assert (tmp_path / "work" / "yolo.txt").exists()
