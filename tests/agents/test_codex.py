"""The real Codex CLI (`codex app-server`) through the hub and runner, against a scripted
OpenAI Responses server: a turn, approvals answered by the remote owner, an interrupt, and
resuming the thread in a new process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents.flow import agent_team, next_event, of_kind, run_turn, stop_session, texts
from tests.support.hub import serving_teams, team_session
from tests.support.openai_responses import ScriptedResponsesServer, codex_bin, write_codex_home
from tests.support.timing import scaled
from tether.config import TeamConfig

pytestmark = pytest.mark.skipif(codex_bin() is None, reason="the codex CLI is not installed")


@pytest.fixture
def responses() -> Iterator[ScriptedResponsesServer]:
    with ScriptedResponsesServer() as server:
        yield server


def codex_team(tmp_path: Path, server: ScriptedResponsesServer) -> TeamConfig:
    env = write_codex_home(tmp_path / "home", server.base_url, base_env={})
    return agent_team(
        tmp_path,
        "codex",
        [str(codex_bin())],
        env,
        approval_policy="untrusted",
        sandbox="workspace-write",
    )


async def test_turn_then_allowed_and_denied_commands(
    tmp_path: Path, responses: ScriptedResponsesServer
) -> None:
    responses.script(
        responses.text("Hello from codex"),
        responses.shell("touch allowed.txt"),
        responses.text("made it"),
        responses.shell("touch denied.txt"),
        responses.text("could not"),
    )
    work = tmp_path / "work"
    async with team_session(tmp_path / "hub", codex_team(tmp_path, responses)) as session:
        remote = session.remote
        ready = await next_event(remote, "status")
        assert ready["state"] in ("starting", "idle")
        first = await run_turn(remote, "say hello")
        assert of_kind(first, "turn_finished")[0]["status"] == "success"
        assert "Hello from codex" in texts(first)

        allowed = await run_turn(remote, "make a file", answer="allow")
        request = of_kind(allowed, "permission_request")[0]
        assert request["tool"] == "shell" and "touch allowed.txt" in request["input"]["command"]
        assert {o["option_id"] for o in request["options"]} >= {"accept", "decline"}
        assert of_kind(allowed, "turn_finished")[0]["status"] == "success"
        assert (work / "allowed.txt").exists()
        assert "made it" in texts(allowed)

        denied = await run_turn(remote, "make another", answer="deny")
        assert of_kind(denied, "permission_decision")[0]["behavior"] == "deny"
        assert not (work / "denied.txt").exists()
        assert of_kind(denied, "tool_result")[0]["is_error"] is True
        # The model was told the command was rejected.
        outputs = responses.main_requests[-1].function_outputs()
        assert "rejected" in outputs[-1]["output"]


async def test_allow_for_this_session(tmp_path: Path, responses: ScriptedResponsesServer) -> None:
    responses.script(responses.shell("touch session.txt"), responses.text("ok"))
    async with team_session(tmp_path / "hub", codex_team(tmp_path, responses)) as session:
        remote = session.remote
        events = await run_turn(remote, "make a file", answer="allow", option_id="acceptForSession")
        decision = of_kind(events, "permission_decision")[0]
        assert decision["option_id"] == "acceptForSession"
    assert (tmp_path / "work" / "session.txt").exists()


async def test_interrupt_and_pending_approval_cancelled(
    tmp_path: Path, responses: ScriptedResponsesServer
) -> None:
    responses.script(responses.hang("thinking hard"), responses.shell("touch never.txt"))
    async with team_session(tmp_path / "hub", codex_team(tmp_path, responses)) as session:
        remote = session.remote
        await remote.send_message("think")
        await responses.async_wait_for_requests(1, scaled(60))
        await remote.interrupt()
        finished = await next_event(remote, "turn_finished")
        assert finished["status"] == "interrupted"

        # An interrupt while an approval is pending withdraws the request.
        await remote.send_message("make a file")
        request = await next_event(remote, "permission_request")
        await remote.interrupt()
        withdrawn = await next_event(remote, "permission_decision")
        assert withdrawn == {
            **withdrawn,
            "request_id": request["request_id"],
            "behavior": "cancelled",
        }
        info = await session.client.session(session.id)
        assert info["pending"] == []
        responses.release()
    assert not (tmp_path / "work" / "never.txt").exists()


async def test_resume_after_the_process_ended(
    tmp_path: Path, responses: ScriptedResponsesServer
) -> None:
    responses.script(responses.text("first answer ALPHA"), responses.text("second answer"))
    async with serving_teams(tmp_path / "hub", codex_team(tmp_path, responses)) as (hub, client):
        first = await client.start("codex")
        async with hub.session(first["id"]) as remote:
            await run_turn(remote, "remember BANANA")
            thread_id = await stop_session(client, remote, first["id"])
        second = await client.start("codex", resume=thread_id)
        async with hub.session(second["id"]) as remote:
            status = await next_event(remote, "status")
            while status["state"] != "idle":
                status = await next_event(remote, "status")
            assert status["agent_session_id"] == thread_id
            events = await run_turn(remote, "what did I ask you to remember?")
            assert "second answer" in texts(events)
    last = responses.main_requests[-1]
    assert "remember BANANA" in last.user_texts()
    assert "first answer ALPHA" in last.assistant_texts()
