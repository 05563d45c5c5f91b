"""Sessions through an in-process hub and runner: turns, ownership, permissions, replay."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.hub import running_hub, wait_for_event
from tests.support.timing import scaled
from tether.errors import Forbidden


async def test_turn_round_trip(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        session = await client.start("demo")
        async with hub.session(session["id"]) as remote:
            assert remote.role == "owner"
            await remote.send_message("hello")
            finished = await wait_for_event(remote, "turn_finished")
            assert finished["status"] == "success"
        events = (await client.events(session["id"]))["events"]
        kinds = [e["payload"]["kind"] for e in events]
        assert kinds[:2] == ["status", "status"]
        assert "user_message" in kinds and "agent_message" in kinds
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        texts = [
            e["payload"].get("text", "") for e in events if e["payload"]["kind"] == "agent_message"
        ]
        assert any("You said: hello" in t for t in texts)


async def test_second_viewer_is_follower_and_cannot_write(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        session = await client.start("demo")
        owner = await hub.session(session["id"]).connect()
        follower = await hub.session(session["id"]).connect()
        try:
            assert (owner.role, follower.role) == ("owner", "follower")
            with pytest.raises(Forbidden, match="read-only follower"):
                await follower.send_message("sneaky")
            await owner.send_message("from the owner")
            payload = await wait_for_event(follower, "turn_finished")
            assert payload["status"] == "success"
            # The follower's message never reached the agent.
            events = (await client.events(session["id"]))["events"]
            texts = [
                e["payload"].get("text") for e in events if e["payload"]["kind"] == "user_message"
            ]
            assert texts == ["from the owner"]
        finally:
            await follower.close()
            await owner.close()


async def test_owner_leaving_frees_slot_without_promoting_followers(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        session = await client.start("demo")
        owner = await hub.session(session["id"]).connect()
        follower = await hub.session(session["id"]).connect()
        await owner.close()
        await asyncio.sleep(0.2)
        assert follower.role == "follower"
        newcomer = await hub.session(session["id"]).connect()
        assert newcomer.role == "owner"
        await newcomer.close()
        await follower.close()


async def test_follow_flag_joins_as_follower_even_when_slot_free(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        session = await client.start("demo")
        watcher = await hub.session(session["id"], follow=True).connect()
        assert watcher.role == "follower"
        await watcher.close()


async def test_permission_allowed_by_owner(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        session = await client.start("demo")
        decided: list[str] = []
        async with hub.allowing_session(session["id"], decided) as remote:
            await remote.send_message("run touch file")
            finished = await wait_for_event(remote, "turn_finished")
        assert finished["result"] == "ran touch file"
        assert len(decided) == 1


async def test_pending_permission_seen_by_late_viewer_who_answers(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        session = await client.start("demo")
        first = await hub.session(session["id"]).connect()
        await first.send_message("run rm -rf build")
        request = await wait_for_event(first, "permission_request")
        await first.close()  # the owner walks away with the request unanswered
        await asyncio.sleep(0.2)
        late_requests: list[dict[str, object]] = []
        late = hub.session(
            session["id"],
            after=int(request.get("seq", 0) or 0) + 100,
            on_permission_request=lambda r: late_requests.append(r),
        )
        async with late:
            assert late.role == "owner"
            assert request["request_id"] in late.pending
            await asyncio.sleep(0.1)
            assert [r["request_id"] for r in late_requests] == [request["request_id"]]
            await late.decide_permission(str(request["request_id"]), "deny", "not today")
        info = await client.session(session["id"])
        for _ in range(50):
            info = await client.session(session["id"])
            if info["state"] == "idle":
                break
            await asyncio.sleep(scaled(0.1))
        assert info["state"] == "idle" and info["pending"] == []
        events = (await client.events(session["id"]))["events"]
        decision = [e["payload"] for e in events if e["payload"]["kind"] == "permission_decision"]
        assert decision[0]["behavior"] == "deny" and decision[0]["message"] == "not today"
