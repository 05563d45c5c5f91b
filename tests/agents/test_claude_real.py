"""The real Claude Code CLI as a tether agent, against a scripted Anthropic API: turns,
permission requests answered by the session's owner, interrupts, permission modes.

One scripted API server serves the whole module (tests/agents/conftest.py; each test
scripts its replies); every test starts its own hub, runner and `claude` process.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.anthropic_api import Reply, ScriptedAnthropicAPI, tool_result_text
from tests.support.claude_hub import (
    NEEDS_CLAUDE,
    TEAM,
    claude_hub,
    claude_session,
    events_of,
    project,
    run_tether,
    script_touch,
)
from tests.support.hub import wait_for_event
from tests.support.timing import scaled
from tether.errors import Forbidden, NotFound

pytestmark = NEEDS_CLAUDE


async def test_text_turn_and_session_id_known_up_front(
    tmp_path: Path, api: ScriptedAnthropicAPI
) -> None:
    api.script(Reply.text("hi there"))
    async with claude_session(tmp_path, api) as (hub, session_id, remote, idle):
        # Known before the first turn (system/init only comes after it).
        agent_session_id = str(idle["agent_session_id"])
        uuid.UUID(agent_session_id)
        assert idle["permission_mode"] == "default"
        async with hub.client() as client:
            assert (await client.session(session_id))["agent_session_id"] == agent_session_id
        await remote.send_message("say hi")
        message = await wait_for_event(remote, "agent_message")
        finished = await wait_for_event(remote, "turn_finished")
    assert message["text"] == "hi there"
    assert finished["status"] == "success" and finished["result"] == "hi there"
    assert api.main_requests[0].headers["x-claude-code-session-id"] == agent_session_id
    assert api.main_requests[0].contains("say hi")


async def test_bash_allowed_by_remote_owner_through_tether_attach(
    tmp_path: Path, api: ScriptedAnthropicAPI
) -> None:
    target = project(tmp_path) / "made.txt"
    api.script(
        Reply.tool_use(
            "Bash",
            {"command": f"touch {target}", "description": "create the file"},
            text="Creating the file.",
        ),
        Reply.text("done"),
    )
    async with claude_hub(tmp_path, api) as hub:
        async with hub.client() as client:
            session_id = (await client.start(TEAM))["id"]
        code, out, err = await run_tether(
            hub, "attach", session_id, "--permissions", "allow", "--prompt", "create the file"
        )
        assert code == 0, out + err
        events = await events_of(hub, session_id)
    assert target.exists()
    kinds = [e["kind"] for e in events]
    assert kinds.index("permission_request") < kinds.index("permission_decision")
    decision = next(e for e in events if e["kind"] == "permission_decision")
    assert decision["behavior"] == "allow"
    # The model saw the tool run.
    result = api.main_requests[1].tool_results()[0]
    assert result["is_error"] is False
    assert "permission requested" in out and "Bash" in out and "turn success" in out


async def test_bash_denied_by_owner_agent_is_told(
    tmp_path: Path, api: ScriptedAnthropicAPI
) -> None:
    target = project(tmp_path) / "never.txt"
    api.script(
        Reply.tool_use("Bash", {"command": f"touch {target}"}),
        Reply.text("OK, I will not create it."),
    )
    async with claude_session(tmp_path, api) as (_hub, _session_id, remote, _idle):
        await remote.send_message("create never.txt")
        request = await wait_for_event(remote, "permission_request")
        assert request["tool"] == "Bash"
        assert request["input"]["command"] == f"touch {target}"
        await remote.decide_permission(str(request["request_id"]), "deny", "not in this repository")
        finished = await wait_for_event(remote, "turn_finished")
    assert not target.exists()
    assert finished["status"] == "success"
    told = api.main_requests[1].tool_results()[0]
    assert told["is_error"] is True
    assert tool_result_text(told) == "not in this repository"


async def test_interrupt_in_the_middle_of_a_turn(tmp_path: Path, api: ScriptedAnthropicAPI) -> None:
    long_text = " ".join(f"word{i}" for i in range(2000))
    api.script(Reply.text(long_text, chunk_delay=0.1, chunk_size=20), Reply.text("still here"))
    async with claude_session(tmp_path, api) as (_hub, _session_id, remote, _idle):
        await remote.send_message("talk a lot")
        await api.async_wait_for_requests(1, timeout=scaled(30))
        await remote.interrupt()
        interrupted = await wait_for_event(remote, "turn_finished")
        # The process stays alive and takes the next turn.
        await remote.send_message("are you there?")
        finished = await wait_for_event(remote, "turn_finished")
    assert interrupted["status"] == "interrupted"
    assert finished["status"] == "success" and finished["result"] == "still here"
    assert api.main_requests[0].completed is False  # the stream was abandoned


async def test_follower_sees_request_and_late_owner_answers_it(
    tmp_path: Path, api: ScriptedAnthropicAPI
) -> None:
    target = script_touch(api, tmp_path, "late.txt", then="created")
    async with claude_session(tmp_path, api) as (hub, session_id, owner, _idle):
        announced: list[dict[str, Any]] = []
        follower = await hub.session(
            session_id, follow=True, on_permission_request=announced.append
        ).connect()
        try:
            await owner.send_message("create late.txt")
            request = await wait_for_event(follower, "permission_request")
            request_id = str(request["request_id"])
            assert request["input"] == {"command": f"touch {target}"}
            with pytest.raises(Forbidden, match="read-only"):
                await follower.decide_permission(request_id, "allow")
            await owner.close()  # the owner walks away with the request unanswered

            late_announced: list[dict[str, Any]] = []
            late = await hub.session(
                session_id, on_permission_request=late_announced.append
            ).connect()
            try:
                assert late.role == "owner"
                assert request_id in late.pending  # from `ready`, before any replay
                await late.decide_permission(request_id, "allow")
                finished = await wait_for_event(late, "turn_finished")
            finally:
                await late.close()
            decision = await wait_for_event(follower, "permission_decision")
        finally:
            await follower.close()
    assert [r["request_id"] for r in announced] == [request_id]
    assert [r["request_id"] for r in late_announced] == [request_id]
    assert finished["status"] == "success"
    assert decision["behavior"] == "allow"
    assert target.exists()


async def test_permission_mode_changed_from_a_viewer(
    tmp_path: Path, api: ScriptedAnthropicAPI
) -> None:
    target = script_touch(api, tmp_path, "auto.txt", then="done")
    async with claude_session(tmp_path, api) as (hub, session_id, owner, _idle):
        follower = await hub.session(session_id, follow=True).connect()
        try:
            with pytest.raises(Forbidden, match="read-only"):
                await follower.set_permission_mode("acceptEdits")
            await owner.set_permission_mode("acceptEdits")
            await wait_for_event(owner, "status", permission_mode="acceptEdits")
            await owner.send_message("touch auto.txt")
            finished = await wait_for_event(owner, "turn_finished")
            assert target.exists()  # no prompt in acceptEdits mode

            # Bypass was not allowed at launch: the CLI refuses, and the owner is told.
            async with hub.client() as client:
                await client.set_permission_mode(session_id, "bypassPermissions")
            refused = await wait_for_event(owner, "error")
            code, out, err = await run_tether(hub, "mode", session_id, "default")
            assert code == 0, out + err
            await wait_for_event(owner, "status", permission_mode="default")
        finally:
            await follower.close()
        events = await events_of(hub, session_id)
    assert finished["status"] == "success"
    assert "permission_request" not in [e["kind"] for e in events]
    assert "bypassPermissions" in str(refused["message"])


async def test_skip_permissions_starts_in_bypass_mode(
    tmp_path: Path, api: ScriptedAnthropicAPI
) -> None:
    target = script_touch(api, tmp_path, "bypass.txt", then="done")
    async with claude_session(tmp_path, api, skip_permissions=True) as claude:
        hub, session_id, remote, idle = claude
        await remote.send_message("touch bypass.txt")
        finished = await wait_for_event(remote, "turn_finished")
        events = await events_of(hub, session_id)
    assert idle["permission_mode"] == "bypassPermissions"
    assert finished["status"] == "success" and target.exists()
    assert "permission_request" not in [e["kind"] for e in events]


async def test_interrupt_while_a_prompt_is_pending_cancels_it(
    tmp_path: Path, api: ScriptedAnthropicAPI
) -> None:
    target = script_touch(api, tmp_path, "cancelled.txt", then="next")
    async with claude_session(tmp_path, api) as (hub, session_id, remote, _idle):
        await remote.send_message("create cancelled.txt")
        request = await wait_for_event(remote, "permission_request")
        await remote.interrupt()
        cancelled = await wait_for_event(remote, "permission_decision")
        finished = await wait_for_event(remote, "turn_finished")
        async with hub.client() as client:
            info = await client.session(session_id)
            # The request is gone: answering it now is refused, not lost in the agent.
            with pytest.raises(NotFound):
                await client.decide(session_id, str(request["request_id"]), "allow")
    assert cancelled == {**cancelled, "request_id": request["request_id"], "behavior": "cancelled"}
    assert finished["status"] == "interrupted"
    assert info["state"] == "idle" and info["pending"] == []
    assert not target.exists()
