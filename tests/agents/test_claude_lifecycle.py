"""The real Claude Code CLI's process lifecycle in tether: resumed after it exited, killed
from outside, and sessions started outside tether adopted (or refused when unknown)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from pathlib import Path

import pytest

from tests.support.anthropic_api import Reply, ScriptedAnthropicAPI
from tests.support.claude_env import claude_argv, claude_env
from tests.support.claude_hub import (
    NEEDS_CLAUDE,
    TEAM,
    claude_hub,
    claude_session,
    events_of,
    run_tether,
)
from tests.support.hub import wait_for_event
from tests.support.timing import scaled
from tether.errors import Conflict

pytestmark = NEEDS_CLAUDE


async def test_resume_after_the_process_exited(tmp_path: Path, api: ScriptedAnthropicAPI) -> None:
    api.script(Reply.text("noted: 42"), Reply.text("the number was 42"))
    async with claude_session(tmp_path, api) as (hub, session_id, remote, idle):
        await remote.send_message("remember the number 42")
        await wait_for_event(remote, "turn_finished", status="success")
        async with hub.client() as client:
            await client.stop(session_id)
        exited = await wait_for_event(remote, "exited")
        async with hub.client() as client:
            # Ended cleanly: a message would wake it (tests/hub); here `tether resume` does.
            assert (await client.session(session_id))["asleep"] is True

        code, out, err = await run_tether(
            hub, "resume", session_id, "--prompt", "what was the number?"
        )
        assert code == 0, out + err
        again = await wait_for_event(remote, "status", state="idle")
        finished = await wait_for_event(remote, "turn_finished")
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
    async with claude_session(tmp_path, api) as (hub, session_id, remote, _idle):
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
        await api.async_wait_for_requests(1, timeout=scaled(30))
        pid = hub.runner.supervisor.sessions[session_id].adapter.pid  # type: ignore[union-attr]
        os.kill(pid, signal.SIGKILL)
        killed = await wait_for_event(remote, "exited")
        async with hub.client() as client:
            info = await client.session(session_id)
    assert killed["code"] is None and killed["signal"] == signal.SIGKILL
    assert info["state"] == "exited" and info["pending"] == []


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
