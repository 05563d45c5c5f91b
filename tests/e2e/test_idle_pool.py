"""Idle sessions go to sleep after `idle_timeout`; `max_processes` evicts the LRU idle one."""

from __future__ import annotations

from pathlib import Path

from tests.support.hub import demo_team, running_hub, wait_for_event
from tether.config import TetherConfig


async def test_idle_session_sleeps_after_idle_timeout(tmp_path: Path) -> None:
    config = TetherConfig(teams={"demo": demo_team(tmp_path, idle_timeout=0.5)})
    async with running_hub(tmp_path, config) as hub, hub.client() as client:
        session = await client.start("demo")
        async with hub.session(session["id"]) as remote:
            await remote.send_message("hello")
            await wait_for_event(remote, "turn_finished")
            exited = await wait_for_event(remote, "exited", timeout=30)
        assert str(exited["reason"]).startswith("asleep: idle for 0.5 s")


async def test_max_processes_evicts_the_least_recently_used_idle_session(tmp_path: Path) -> None:
    config = TetherConfig(max_processes=2, teams={"demo": demo_team(tmp_path)})
    async with running_hub(tmp_path, config) as hub, hub.client() as client:
        first = await client.start("demo")
        second = await client.start("demo")
        async with hub.session(first["id"]) as one, hub.session(second["id"]) as two:
            await one.send_message("first")
            await wait_for_event(one, "turn_finished")
            await two.send_message("second, more recent")
            await wait_for_event(two, "turn_finished")
            third = await client.start("demo")
            exited = await wait_for_event(one, "exited", timeout=30)
            assert str(exited["reason"]).startswith("evicted: the runner reached max_processes = 2")
            async with hub.session(third["id"]) as three:
                await three.send_message("third")
                assert (await wait_for_event(three, "turn_finished"))["status"] == "success"
            assert (await client.session(second["id"]))["state"] == "idle"


async def test_max_processes_refuses_when_nothing_is_idle(tmp_path: Path) -> None:
    config = TetherConfig(max_processes=1, teams={"demo": demo_team(tmp_path)})
    async with running_hub(tmp_path, config) as hub, hub.client() as client:
        busy = await client.start("demo")
        async with hub.session(busy["id"]) as remote:
            await remote.send_message("run deploy")  # waits on a permission answer: not idle
            await wait_for_event(remote, "permission_request")
            refused = await client.start("demo")
            async with hub.session(refused["id"]) as other:
                error = await wait_for_event(other, "error")
            assert "max_processes = 1" in str(error["message"])
