"""A control for a runner that is reconnecting waits for it instead of answering "not
connected": a message sent in the second after the runner's socket dropped reaches the
agent. A runner that does not come back is still refused, after the wait, with the
reason; one the hub has never seen is refused at once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.support.hub import connected_runner, demo_team, running_hub, wait_for_event
from tests.support.timing import scaled
from tether.config import TetherConfig
from tether.errors import Conflict
from tether.hub import runners
from tether.hub.runners import RunnerDirectory
from tether.protocol.messages import CloseCode
from tether.store.sqlite import SqliteStore


async def test_a_message_sent_while_the_runner_reconnects_reaches_the_agent(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        session = await client.start("demo")
        async with hub.session(session["id"]) as remote:
            await remote.send_message("first")
            await wait_for_event(remote, "turn_finished", timeout=scaled(30))
            directory = hub.broker.directory
            dropped = directory.links["test-runner"]
            await dropped.close(CloseCode.GOING_AWAY, "the hub's side of a network blink")
            while directory.links.get("test-runner") is dropped:
                await asyncio.sleep(0.01)
            assert not directory.is_connected("test-runner")  # sent while it is away
            accepted = await client.send(session["id"], "sent while away")
            assert directory.links["test-runner"] is not dropped  # a new connection took it
            assert accepted
            said = await wait_for_event(remote, "agent_message", timeout=scaled(30))
            while "sent while away" not in str(said.get("text")):
                said = await wait_for_event(remote, "agent_message", timeout=scaled(30))


async def test_a_runner_that_does_not_come_back_is_refused_after_the_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runners, "RECONNECT_WAIT_S", 1.0)
    config = TetherConfig(teams={"demo": demo_team(tmp_path)})
    async with running_hub(tmp_path, with_runner=False) as hub, hub.client() as client:
        token = await hub.runner_token("gone")
        async with connected_runner(hub.url, token, config, tmp_path, runner_id="gone"):
            session = await client.start("demo")
        # The runner stopped for good.
        started = time.monotonic()
        with pytest.raises(Conflict, match="is not connected"):
            await client.send(session["id"], "nobody is there")
        assert time.monotonic() - started < scaled(10)


async def test_a_runner_never_seen_is_refused_at_once(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "tether.db")
    await store.open()
    directory = RunnerDirectory(store)
    await directory.load()  # a hub that has just started knows no runner of that id
    started = time.monotonic()
    assert await directory.connected_soon("r_never") is False
    assert await directory.connected_soon(None) is False
    assert time.monotonic() - started < 0.5
    await store.close()
