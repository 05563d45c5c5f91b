"""The real Claude Code CLI as a tether agent, against a scripted Anthropic API.

One scripted API server serves the whole module (each test scripts its replies);
every test starts its own hub, runner and `claude` process (≈0.5 s each).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.anthropic_api import Reply, ScriptedAnthropicAPI, tool_result_text
from tests.support.claude_env import claude_argv, claude_env, find_claude_binary
from tests.support.claude_hub import SKIP_REASON, TEAM, claude_hub, run_tether
from tests.support.hub import HubHandle, wait_for_event
from tests.support.timing import scaled
from tether.client import RemoteSession
from tether.errors import Conflict, Forbidden, NotFound

pytestmark = [
    pytest.mark.claude,
    pytest.mark.skipif(find_claude_binary() is None, reason=SKIP_REASON),
]


@pytest.fixture(scope="module")
def shared_api() -> Iterator[ScriptedAnthropicAPI]:
    with ScriptedAnthropicAPI() as server:
        yield server


@pytest.fixture
def api(shared_api: ScriptedAnthropicAPI) -> ScriptedAnthropicAPI:
    shared_api.clear_script()
    shared_api.clear_requests()
    return shared_api


def project(tmp_path: Path) -> Path:
    return tmp_path / TEAM


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


async def test_text_turn_and_session_id_known_up_front(
    tmp_path: Path, api: ScriptedAnthropicAPI
) -> None:
    api.script(Reply.text("hi there"))
    async with claude_hub(tmp_path, api) as hub:
        session_id, remote, idle = await started(hub)
        try:
            # Known before the first turn (system/init only comes after it).
            agent_session_id = str(idle["agent_session_id"])
            uuid.UUID(agent_session_id)
            assert idle["permission_mode"] == "default"
            async with hub.client() as client:
                assert (await client.session(session_id))["agent_session_id"] == agent_session_id
            await remote.send_message("say hi")
            message = await wait_for_event(remote, "agent_message")
            finished = await wait_for_event(remote, "turn_finished")
        finally:
            await remote.close()
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
    async with claude_hub(tmp_path, api) as hub:
        _session_id, remote, _idle = await started(hub)
        try:
            await remote.send_message("create never.txt")
            request = await wait_for_event(remote, "permission_request")
            assert request["tool"] == "Bash"
            assert request["input"]["command"] == f"touch {target}"
            await remote.decide_permission(
                str(request["request_id"]), "deny", "not in this repository"
            )
            finished = await wait_for_event(remote, "turn_finished")
        finally:
            await remote.close()
    assert not target.exists()
    assert finished["status"] == "success"
    told = api.main_requests[1].tool_results()[0]
    assert told["is_error"] is True
    assert tool_result_text(told) == "not in this repository"


async def test_interrupt_in_the_middle_of_a_turn(tmp_path: Path, api: ScriptedAnthropicAPI) -> None:
    long_text = " ".join(f"word{i}" for i in range(2000))
    api.script(Reply.text(long_text, chunk_delay=0.1, chunk_size=20), Reply.text("still here"))
    async with claude_hub(tmp_path, api) as hub:
        _session_id, remote, _idle = await started(hub)
        try:
            await remote.send_message("talk a lot")
            await api.async_wait_for_main_requests(1, timeout=scaled(30))
            await remote.interrupt()
            interrupted = await wait_for_event(remote, "turn_finished")
            # The process stays alive and takes the next turn.
            await remote.send_message("are you there?")
            finished = await wait_for_event(remote, "turn_finished")
        finally:
            await remote.close()
    assert interrupted["status"] == "interrupted"
    assert finished["status"] == "success" and finished["result"] == "still here"
    assert api.main_requests[0].completed is False  # the stream was abandoned


async def test_resume_after_the_process_exited(tmp_path: Path, api: ScriptedAnthropicAPI) -> None:
    api.script(Reply.text("noted: 42"), Reply.text("the number was 42"))
    async with claude_hub(tmp_path, api) as hub:
        session_id, remote, idle = await started(hub)
        try:
            await remote.send_message("remember the number 42")
            await wait_for_event(remote, "turn_finished", status="success")
            async with hub.client() as client:
                await client.stop(session_id)
            exited = await wait_for_event(remote, "exited")
            with pytest.raises(Conflict, match="exited"):
                await remote.send_message("hello?")

            code, out, err = await run_tether(
                hub, "resume", session_id, "--prompt", "what was the number?"
            )
            assert code == 0, out + err
            again = await wait_for_event(remote, "status", state="idle")
            finished = await wait_for_event(remote, "turn_finished")
        finally:
            await remote.close()
        events = await events_of(hub, session_id)
        async with hub.client() as client:
            info = await client.session(session_id)
    assert exited["code"] == 0 and exited["reason"] == "stopped"
    assert again["agent_session_id"] == idle["agent_session_id"]
    assert finished["status"] == "success" and finished["result"] == "the number was 42"
    # The history reached the model.
    last = api.main_requests[-1]
    assert last.contains("remember the number 42") and last.contains("noted: 42")
    # One log, no gap: the resumed process's events follow the exit.
    kinds = [e["kind"] for e in events]
    assert kinds.count("exited") == 1
    assert kinds[kinds.index("exited") + 1] == "status"
    assert info["state"] == "idle" and info["exit_code"] is None
    assert info["last_seq"] == len(events)


async def test_killed_from_outside_exits_with_its_code(
    tmp_path: Path, api: ScriptedAnthropicAPI
) -> None:
    api.script(Reply.text("x " * 3000, chunk_delay=0.1, chunk_size=10))
    async with claude_hub(tmp_path, api) as hub:
        session_id, remote, _idle = await started(hub)
        try:
            assert hub.runner is not None
            pid = hub.runner.supervisor.sessions[session_id].adapter.pid  # type: ignore[union-attr]
            os.kill(pid, signal.SIGTERM)
            exited = await wait_for_event(remote, "exited")
            assert exited["code"] == 143
            async with hub.client() as client:
                info = await client.session(session_id)
                assert info["state"] == "exited" and info["exit_code"] == 143
                # Not hung: a message is refused at once, and the session can be resumed.
                with pytest.raises(Conflict):
                    await client.send(session_id, "anyone?")
                await client.resume(session_id)
            await wait_for_event(remote, "status", state="idle")
            # Killed hard in the middle of a turn.
            await remote.send_message("talk")
            await api.async_wait_for_main_requests(1, timeout=scaled(30))
            pid = hub.runner.supervisor.sessions[session_id].adapter.pid  # type: ignore[union-attr]
            os.kill(pid, signal.SIGKILL)
            killed = await wait_for_event(remote, "exited")
        finally:
            await remote.close()
        async with hub.client() as client:
            info = await client.session(session_id)
    assert killed["code"] is None and killed["signal"] == signal.SIGKILL
    assert info["state"] == "exited" and info["pending"] == []


async def test_follower_sees_request_and_late_owner_answers_it(
    tmp_path: Path, api: ScriptedAnthropicAPI
) -> None:
    target = project(tmp_path) / "late.txt"
    api.script(Reply.tool_use("Bash", {"command": f"touch {target}"}), Reply.text("created"))
    async with claude_hub(tmp_path, api) as hub:
        session_id, owner, _idle = await started(hub)
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
    target = project(tmp_path) / "auto.txt"
    api.script(Reply.tool_use("Bash", {"command": f"touch {target}"}), Reply.text("done"))
    async with claude_hub(tmp_path, api) as hub:
        session_id, owner, _idle = await started(hub)
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
            await owner.close()
        events = await events_of(hub, session_id)
    assert finished["status"] == "success"
    assert "permission_request" not in [e["kind"] for e in events]
    assert "bypassPermissions" in str(refused["message"])


async def test_skip_permissions_starts_in_bypass_mode(
    tmp_path: Path, api: ScriptedAnthropicAPI
) -> None:
    target = project(tmp_path) / "bypass.txt"
    api.script(Reply.tool_use("Bash", {"command": f"touch {target}"}), Reply.text("done"))
    async with claude_hub(tmp_path, api, skip_permissions=True) as hub:
        session_id, remote, idle = await started(hub)
        try:
            await remote.send_message("touch bypass.txt")
            finished = await wait_for_event(remote, "turn_finished")
        finally:
            await remote.close()
        events = await events_of(hub, session_id)
    assert idle["permission_mode"] == "bypassPermissions"
    assert finished["status"] == "success" and target.exists()
    assert "permission_request" not in [e["kind"] for e in events]


async def test_adopt_a_session_started_outside_tether(
    tmp_path: Path, api: ScriptedAnthropicAPI
) -> None:
    api.script(Reply.text("the code word is ORCHID"), Reply.text("it was ORCHID"))
    async with claude_hub(tmp_path, api) as hub:
        team = hub.runner.config.teams[TEAM]  # type: ignore[union-attr]
        outside_id = str(uuid.uuid4())
        # Someone ran Claude Code by hand in the project, with the same HOME.
        proc = await asyncio.create_subprocess_exec(
            *claude_argv(team.command[0], extra_args=[f"--session-id={outside_id}"]),  # type: ignore[index]
            cwd=team.path,
            env=claude_env(api.url, Path(team.env["HOME"]), prepare=False, sandbox=False),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        turn = {"type": "user", "message": {"role": "user", "content": "pick a code word"}}
        out, _ = await asyncio.wait_for(
            proc.communicate((json.dumps(turn) + "\n").encode()), scaled(60)
        )
        assert b'"type":"result"' in out.replace(b" ", b"")

        code, stdout, err = await run_tether(hub, "start", TEAM, "--adopt", outside_id)
        assert code == 0, stdout + err
        session_id = stdout.strip()
        async with hub.session(session_id) as remote:
            idle = await wait_for_event(remote, "status", state="idle")
            await remote.send_message("what was the code word?")
            finished = await wait_for_event(remote, "turn_finished")
    assert idle["agent_session_id"] == outside_id
    assert finished["result"] == "it was ORCHID"
    assert api.main_requests[-1].contains("the code word is ORCHID")


async def test_adopting_an_unknown_session_fails_clearly(
    tmp_path: Path, api: ScriptedAnthropicAPI
) -> None:
    async with claude_hub(tmp_path, api) as hub, hub.client() as client:
        unknown = str(uuid.uuid4())
        session = await client.start(TEAM, adopt=unknown)
        async with hub.session(session["id"]) as remote:
            error = await wait_for_event(remote, "error")
            exited = await wait_for_event(remote, "exited")
        info = await client.session(session["id"])
    assert "No conversation found" in str(error["message"])
    assert exited["code"] == 1
    assert info["state"] == "exited"


async def test_interrupt_while_a_prompt_is_pending_cancels_it(
    tmp_path: Path, api: ScriptedAnthropicAPI
) -> None:
    target = project(tmp_path) / "cancelled.txt"
    api.script(Reply.tool_use("Bash", {"command": f"touch {target}"}), Reply.text("next"))
    async with claude_hub(tmp_path, api) as hub:
        session_id, remote, _idle = await started(hub)
        try:
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
        finally:
            await remote.close()
    assert cancelled == {**cancelled, "request_id": request["request_id"], "behavior": "cancelled"}
    assert finished["status"] == "interrupted"
    assert info["state"] == "idle" and info["pending"] == []
    assert not target.exists()
