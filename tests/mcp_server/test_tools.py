"""What the MCP tools do for an agent: busy conversations, permissions, cancel, wake/sleep."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession

from tests.support.hub import running_hub
from tests.support.mcp_clients import mcp_session, text_of
from tests.support.timing import scaled
from tether.client import static_token
from tether.mcp.access import remote_access
from tether.mcp.pool import ConversationPool
from tether.mcp.service import TeamService


async def call(mcp: ClientSession, tool: str, **arguments: Any) -> Any:
    with anyio.fail_after(scaled(60)):
        return await mcp.call_tool(tool, arguments)


async def wait_for_transcript(mcp: ClientSession, session: str, needle: str) -> str:
    """Read session_report until `needle` shows up."""
    with anyio.fail_after(scaled(30)):
        while True:
            text = text_of(await call(mcp, "session_report", session=session))
            if needle in text:
                return text
            await asyncio.sleep(0.1)


async def test_unknown_team_is_a_tool_error_with_a_reason(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, mcp_session("http", hub.url, hub.token) as mcp:
        result = await call(mcp, "send_message", to_team="nope", message="hi")
        assert result.is_error
        assert "no team 'nope'" in text_of(result)
        assert "list_teams" in text_of(result)


async def test_busy_conversation_answers_busy_until_cancelled(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, mcp_session("ws", hub.url, hub.token) as mcp:
        sent = await call(mcp, "quick_message", to_team="demo", message="long 400")
        assert not sent.is_error, text_of(sent)
        session = sent.structured_content["session"]
        assert sent.structured_content["status"] == "sent"

        busy = await call(mcp, "send_message", to_team="demo", message="are you there?")
        assert busy.is_error
        assert "busy" in text_of(busy) and session in text_of(busy)

        # Another sender gets its own conversation (its own session), not "busy".
        other = await call(mcp, "send_message", to_team="demo", message="hi", from_team="ops")
        assert not other.is_error, text_of(other)
        assert other.structured_content["session"] != session

        await wait_for_transcript(mcp, session, "chunk 1/400")
        cancelled = await call(mcp, "session_cancel", session=session)
        assert cancelled.structured_content["cancelled"] is True
        await wait_for_transcript(mcp, session, "turn finished: interrupted")

        again = await call(mcp, "send_message", to_team="demo", message="still there?")
        assert not again.is_error, text_of(again)
        assert again.structured_content["session"] == session
        assert again.content[0].text == "You said: still there?"


async def test_permission_request_answered_by_the_session_owner(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, mcp_session("http", hub.url, hub.token) as mcp:
        asked = await call(mcp, "send_message", to_team="demo", message="run touch x")
        assert not asked.is_error, text_of(asked)
        data = asked.structured_content
        assert data["status"] == "waiting_permission"
        (pending,) = data["pending"]
        assert pending["tool"] == "Bash"

        decided = await call(
            mcp, "permission_decide", request_id=pending["request_id"], decision="allow"
        )
        assert not decided.is_error, text_of(decided)
        transcript = await wait_for_transcript(mcp, data["session"], "turn finished")
        assert f"permission {pending['request_id']}: allow" in transcript


async def test_permission_decide_refuses_a_session_the_caller_did_not_start(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        # A person starts a session from the CLI/API; its agent asks for permission.
        started = await client.start("demo", prompt="run touch y")
        with anyio.fail_after(scaled(30)):
            while not (info := await client.session(started["id"]))["pending"]:
                await asyncio.sleep(0.05)
        request_id = info["pending"][0]["request_id"]
        async with mcp_session("http", hub.url, hub.token) as mcp:
            refused = await call(mcp, "permission_decide", request_id=request_id, decision="allow")
            assert refused.is_error
            assert "did not start" in text_of(refused)
            named = await call(
                mcp,
                "permission_decide",
                request_id=request_id,
                decision="deny",
                session=started["id"],
            )
            assert named.is_error
            missing = await call(mcp, "permission_decide", request_id="perm_nope", decision="deny")
            assert missing.is_error and "no pending permission request" in text_of(missing)
        # Still pending: nobody answered it.
        assert (await client.session(started["id"]))["pending"]


async def test_wake_status_sleep(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, mcp_session("http", hub.url, hub.token) as mcp:
        woke = await call(mcp, "team_wake", team="demo", from_team="qa")
        assert woke.structured_content["state"] == "idle"
        session = woke.structured_content["session"]

        status = await call(mcp, "team_status", team="demo")
        (row,) = status.structured_content["teams"]
        assert row["online"] is True
        assert row["your_conversations"] == [
            {"session": session, "state": "idle", "from_team": "qa"}
        ]

        listed = await call(mcp, "list_sessions", team="demo")
        assert [s["yours"] for s in listed.structured_content["sessions"]] == [True]

        reply = await call(mcp, "send_message", to_team="demo", message="x", from_team="qa")
        assert reply.structured_content["session"] == session

        slept = await call(mcp, "team_sleep", team="demo")
        assert slept.structured_content["stopped"] == [session]
        async with hub.client() as client:
            with anyio.fail_after(scaled(30)):
                while (await client.session(session))["state"] != "exited":
                    await asyncio.sleep(0.05)
        # The next message wakes the same session: its agent resumes with its context.
        woken = await call(mcp, "send_message", to_team="demo", message="y", from_team="qa")
        assert not woken.is_error, text_of(woken)
        assert woken.structured_content["session"] == session
        assert woken.content[0].text == "You said: y"
        async with hub.client() as client:
            kinds = [e["payload"]["kind"] for e in (await client.events(session))["events"]]
        assert kinds.count("exited") == 1 and kinds[-1] == "turn_finished"
        # team_wake on a sleeping conversation resumes it too.
        await call(mcp, "team_sleep", team="demo")
        rewoken = await call(mcp, "team_wake", team="demo", from_team="qa")
        assert rewoken.structured_content == {"team": "demo", "session": session, "state": "idle"}


async def test_idle_conversations_are_put_to_sleep(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub:
        access = remote_access(hub.url, static_token(hub.token))
        service = TeamService(access, ConversationPool(idle_timeout=0.0))
        async with access.caller(None) as caller:
            answer = await service.send_message(caller, "demo", "hello", timeout_s=scaled(30))
            session = answer.data["session"]
            assert await service.sweep_once() == [session]
            assert await service.sweep_once() == []  # asleep already
            with anyio.fail_after(scaled(30)):
                while (await caller.hub.session(session))["state"] != "exited":
                    await asyncio.sleep(0.05)
            # Still pooled: the next message resumes the same session.
            again = await service.send_message(caller, "demo", "again", timeout_s=scaled(30))
            assert again.data["session"] == session
        await access.hub.aclose()


async def test_timeout_returns_the_session_and_the_turn_runs_on(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, mcp_session("http", hub.url, hub.token) as mcp:
        result = await call(mcp, "send_message", to_team="demo", message="long 30", timeout_s=0.2)
        assert not result.is_error, text_of(result)
        data = result.structured_content
        assert data["status"] == "timeout"
        assert f"session_report(session={data['session']!r}" in text_of(result)
        transcript = await wait_for_transcript(mcp, data["session"], "turn finished: success")
        assert "chunk 30/30" in transcript
        # Once that turn has ended, the conversation takes the next one.
        again = await call(mcp, "send_message", to_team="demo", message="done?")
        assert again.content[0].text == "You said: done?"
