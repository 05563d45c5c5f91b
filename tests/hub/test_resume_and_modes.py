"""Resuming an exited session, adopting an agent session, and permission modes, through an
in-process hub and runner with the demo agent (the real CLI: tests/agents/test_claude_real.py)."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from tests.support.hub import demo_team, running_hub, wait_for_event
from tether.config import TetherConfig
from tether.errors import Conflict, Forbidden, ProtocolError


async def test_resume_continues_the_same_session_and_log(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        session_id = (await client.start("demo"))["id"]
        async with hub.session(session_id) as remote:
            first = await wait_for_event(remote, "status", state="idle")
            with pytest.raises(Conflict, match="still running"):
                await client.resume(session_id)
            await remote.send_message("hello")
            await wait_for_event(remote, "turn_finished")
            await client.stop(session_id)
            await wait_for_event(remote, "exited")
            info = await client.resume(session_id, prompt="again")
            second = await wait_for_event(remote, "status", state="idle")
            finished = await wait_for_event(remote, "turn_finished")
        events = (await client.events(session_id))["events"]
        final = await client.session(session_id)
    assert info["id"] == session_id
    assert second["agent_session_id"] == first["agent_session_id"]
    assert finished["result"] == "You said: again"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert final["state"] == "idle" and final["exit_code"] is None


async def test_adopt_hands_the_agent_session_id_to_the_agent(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        session_id = (await client.start("demo", adopt="0b4d6a3e-outside"))["id"]
        async with hub.session(session_id) as remote:
            idle = await wait_for_event(remote, "status", state="idle")
        assert idle["agent_session_id"] == "0b4d6a3e-outside"
        with pytest.raises(ProtocolError):
            await client.start("demo", adopt="--dangerously-skip-permissions")


async def test_permission_mode_from_owner_not_follower(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        session_id = (await client.start("demo"))["id"]
        owner = await hub.session(session_id).connect()
        follower = await hub.session(session_id, follow=True).connect()
        try:
            idle = await wait_for_event(owner, "status", state="idle")
            assert idle["permission_mode"] == "default"
            with pytest.raises(Forbidden):
                await follower.set_permission_mode("plan")
            await owner.set_permission_mode("bypassPermissions")
            changed = await wait_for_event(follower, "status", permission_mode="bypassPermissions")
            # The demo now runs commands without asking.
            await owner.send_message("run touch x")
            finished = await wait_for_event(owner, "turn_finished")
        finally:
            await follower.close()
            await owner.close()
        events = (await client.events(session_id))["events"]
    assert changed["state"] == "idle"
    assert finished["result"] == "ran touch x"
    assert "permission_request" not in [e["payload"]["kind"] for e in events]


async def test_permission_mode_over_http_needs_a_mode(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub:
        async with hub.client() as client:
            session_id = (await client.start("demo"))["id"]
        async with httpx.AsyncClient(base_url=hub.url, timeout=10) as http:
            response = await http.post(
                f"/v1/sessions/{session_id}/permission-mode",
                json={"mode": ""},
                headers={"Authorization": f"Bearer {hub.token}"},
            )
            assert response.status_code == 422
            unauthenticated = await http.post(f"/v1/sessions/{session_id}/resume", json={})
            assert unauthenticated.status_code == 401


async def test_a_message_on_the_socket_wakes_a_sleeping_session(tmp_path: Path) -> None:
    """The web UI's path: the owner's `user_message` frame resumes a session that went to
    sleep, in the same session, with the agent's own session id kept."""
    config = TetherConfig(teams={"demo": demo_team(tmp_path, idle_timeout=0.5)})
    async with running_hub(tmp_path, config) as hub, hub.client() as client:
        session_id = (await client.start("demo"))["id"]
        async with hub.session(session_id) as remote:
            first = await wait_for_event(remote, "status", state="idle")
            await wait_for_event(remote, "exited", timeout=30)
            asleep = await client.session(session_id)
            assert asleep["state"] == "exited" and asleep["asleep"] is True
            await remote.send_message("still there?")
            # Events are consumed in order: this `idle` is the woken agent's.
            woken = await wait_for_event(remote, "status", state="idle")
            finished = await wait_for_event(remote, "turn_finished")
        again = await client.session(session_id)
    assert woken["agent_session_id"] == first["agent_session_id"]
    assert finished["result"] == "You said: still there?"
    assert again["id"] == session_id and again["agent_session_id"] == first["agent_session_id"]


async def test_prune_takes_an_old_exited_session_but_not_one_being_woken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        session_id = (await client.start("demo"))["id"]
        async with hub.session(session_id) as remote:
            await remote.send_message("hello")
            await wait_for_event(remote, "turn_finished")
            await client.stop(session_id)
            await wait_for_event(remote, "exited")
        later = time.time() + 60
        assert (await client.prune(later, dry_run=True))["sessions"] == [session_id]
        # The hub asks the runner to resume it; the runner has not answered yet.
        held: list[object] = []

        async def hold(runner_id: str, session: str, control: object) -> None:
            held.append(control)

        monkeypatch.setattr(hub.broker.registry, "controls", SimpleNamespace(send_control=hold))
        await client.resume(session_id, prompt="wake up")
        assert held  # asked, not yet answered: the session is waking
        assert (await client.prune(later))["sessions"] == []
        assert (await client.session(session_id))["id"] == session_id
